// The dashboard (README, "Dashboard"): one module, no framework. Every value
// from the gateway is put on the page with textContent, never parsed as HTML;
// the page's Content-Security-Policy allows no inline script or style at all.
/* global document, window, Node */
import UPlot from './uPlot.esm.js'

const ADMIN = '/_gateway/admin'
const DASH = '/_gateway/dashboard'
const $ = (id) => document.getElementById(id)
let csrf = null
let auditTimer = null
let auditCursor = null

/** An element with text children only. */
function el (tag, text, attrs = {}) {
  const node = document.createElement(tag)
  if (text !== undefined && text !== null) node.textContent = String(text)
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'className') node.className = v
    else node.setAttribute(k, v)
  }
  return node
}

function button (text, onClick, className = 'small') {
  const b = el('button', text, { type: 'button', className })
  b.addEventListener('click', onClick)
  return b
}

function row (cells) {
  const tr = document.createElement('tr')
  for (const c of cells) {
    const td = document.createElement('td')
    if (c instanceof Node) td.append(c)
    else if (Array.isArray(c)) td.append(...c)
    else td.textContent = c === undefined || c === null ? '' : String(c)
    tr.append(td)
  }
  return tr
}

function fill (tableId, rows) {
  const body = $(tableId).querySelector('tbody')
  body.replaceChildren(...rows)
}

const time = (iso) => iso ? new Date(iso).toLocaleString() : ''

class ApiError extends Error {
  constructor (status, body) {
    super(body?.message ?? `HTTP ${status}`)
    this.status = status
    this.code = body?.code
  }
}

/** The admin API with the session cookie; changes carry the CSRF token. */
async function api (method, path, body) {
  const headers = { accept: 'application/json' }
  if (method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = csrf ?? ''
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' })
  const text = await res.text()
  const data = text === '' ? null : JSON.parse(text)
  // No session any more (ended, or its cookie expired): back to the login.
  if (res.status === 401) showLogin('Your session has ended; log in again.')
  if (!res.ok) throw new ApiError(res.status, data)
  return data
}

function report (id, err) {
  $(id).textContent = err === null ? '' : `${err.code ?? 'error'}: ${err.message}`
}

async function guarded (id, fn) {
  try {
    report(id, null)
    await fn()
  } catch (err) {
    report(id, err)
  }
}

// --- login ----------------------------------------------------------------

function showLogin (message = '') {
  csrf = null
  clearInterval(auditTimer)
  $('app').hidden = true
  $('logout').hidden = true
  $('who').textContent = ''
  $('login').hidden = false
  $('login-error').textContent = message
}

function start (session) {
  csrf = session.csrf_token
  $('login').hidden = true
  $('app').hidden = false
  $('logout').hidden = false
  $('who').textContent = session.user === null ? 'admin API token' : `${session.user.login} (user ${session.user.id})`
  void loadAnalytics()
  void loadAudit(true)
  void loadApiKeys()
  void loadClients()
  void loadRules()
  auditTimer = setInterval(() => {
    if ($('audit-form').elements.live.checked) void loadAudit(true)
    void loadAnalytics()
  }, 5000)
}

async function login (body) {
  try {
    const res = await fetch(`${DASH}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), credentials: 'same-origin' })
    const data = await res.json()
    if (!res.ok) throw new ApiError(res.status, data)
    start(data)
  } catch (err) {
    $('login-error').textContent = err.status === 403 ? 'Only WordPress administrators may use the dashboard.' : `${err.code ?? 'error'}: ${err.message}`
  }
}

$('login-password').addEventListener('submit', (e) => {
  e.preventDefault()
  const f = e.target.elements
  void login({ username: f.username.value, password: f.password.value })
  f.password.value = ''
})
$('login-token').addEventListener('submit', (e) => {
  e.preventDefault()
  const f = e.target.elements
  void login({ admin_token: f.admin_token.value })
  f.admin_token.value = ''
})
$('logout').addEventListener('click', async () => {
  await api('POST', `${DASH}/logout`).catch(() => {})
  showLogin()
})

// --- analytics --------------------------------------------------------------

const charts = new Map()
const PALETTE = ['#2271b1', '#00a32a', '#b32d2e', '#dba617', '#8c5fc7', '#3582c4', '#e65054', '#1ba39c', '#c9356e', '#646970']

function chart (id, times, series) {
  const target = $(id)
  const width = Math.max(320, target.clientWidth || 420)
  const opts = {
    width,
    height: 200,
    series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: s.color ?? PALETTE[i % PALETTE.length], width: 2, points: { show: times.length < 60 } }))],
    axes: [{}, { size: 50 }],
    scales: { x: { time: true } }
  }
  const data = [times, ...series.map((s) => s.values)]
  charts.get(id)?.destroy()
  target.replaceChildren()
  charts.set(id, new UPlot(opts, data, target))
}

async function loadAnalytics () {
  await guarded('analytics-error', async () => {
    const range = Number($('analytics-form').elements.range.value)
    // About 60 points whatever the range.
    const bucket = Math.max(5, Math.round(range / 60))
    const to = Date.now()
    const a = await api('GET', `${ADMIN}/analytics?from=${to - range * 1000}&to=${to}&bucket=${bucket}`)
    const times = a.series.map((p) => Date.parse(p.t) / 1000)
    $('analytics-totals').textContent = `${a.totals.requests} requests, ${a.totals.allowed} allowed, ${a.totals.refused} refused${a.truncated ? ' (sampled: more entries than scanned)' : ''}`
    $('analytics').dataset.requests = String(a.totals.requests)
    chart('chart-requests', times, [
      { label: 'requests', values: a.series.map((p) => p.requests), color: '#2271b1' },
      { label: 'allowed', values: a.series.map((p) => p.allowed), color: '#00a32a' },
      { label: 'refused', values: a.series.map((p) => p.refused), color: '#b32d2e' }
    ])
    const codes = [...new Set(a.series.flatMap((p) => Object.keys(p.by_code ?? {})))].sort()
    chart('chart-codes', times, codes.map((c) => ({ label: c, values: a.series.map((p) => p.by_code?.[c] ?? 0) })))
    const vias = [...new Set(a.series.flatMap((p) => Object.keys(p.by_via ?? {})))].sort()
    chart('chart-via', times, vias.map((v) => ({ label: v, values: a.series.map((p) => p.by_via?.[v] ?? 0) })))
    fill('by-method', a.by_http_method.map((m) => row([m.method, m.count])))
    fill('top-refused', a.top_refused_routes.map((r) => row([r.route, r.count])))
  })
}
$('analytics-form').addEventListener('submit', (e) => { e.preventDefault(); void loadAnalytics() })

// --- audit ----------------------------------------------------------------

function auditQuery () {
  const f = $('audit-form').elements
  const q = new URLSearchParams({ limit: '100' })
  for (const name of ['user', 'route', 'result', 'method', 'via', 'kind']) {
    const v = f[name].value.trim()
    if (v !== '') q.set(name, v)
  }
  return q
}

function auditRow (e) {
  const tr = row([
    time(e.time), e.kind, e.result ?? '', e.status ?? '', e.http_method ?? '',
    e.route ?? e.action ?? '', e.rule ?? '', e.via ?? e.actor ?? '', e.user ?? '', e.code ?? '', e.ms ?? '', e.ip ?? ''
  ])
  if (e.result !== undefined) tr.children[2].className = e.result
  return tr
}

async function loadAudit (fresh) {
  await guarded('audit-error', async () => {
    const q = auditQuery()
    if (!fresh && auditCursor !== null) q.set('cursor', auditCursor)
    const page = await api('GET', `${ADMIN}/audit?${q}`)
    const rows = page.entries.map(auditRow)
    const body = $('audit-list').querySelector('tbody')
    if (fresh) body.replaceChildren(...rows)
    else body.append(...rows)
    auditCursor = page.next_cursor
    $('audit-more').hidden = auditCursor === null
  })
}
$('audit-form').addEventListener('submit', (e) => { e.preventDefault(); void loadAudit(true) })
$('audit-more').addEventListener('click', () => { void loadAudit(false) })

// --- sessions -------------------------------------------------------------

async function loadSessions () {
  const user = $('sessions-form').elements.user.value.trim()
  await guarded('sessions-error', async () => {
    const { sessions } = await api('GET', `${ADMIN}/users/${encodeURIComponent(user)}/sessions`)
    $('logout-everywhere').disabled = false
    $('sessions-note').textContent = `${sessions.length} live session${sessions.length === 1 ? '' : 's'} of user ${user}`
    fill('sessions-list', sessions.map((s) => row([
      s.id, time(s.created_at), time(s.last_used_at), time(s.expires_at), s.client_id ?? '', s.ip, s.user_agent,
      button('Revoke', () => guarded('sessions-error', async () => {
        await api('DELETE', `${ADMIN}/users/${encodeURIComponent(user)}/sessions/${encodeURIComponent(s.id)}`)
        await loadSessions()
      }), 'small danger')
    ])))
  })
}
$('sessions-form').addEventListener('submit', (e) => { e.preventDefault(); void loadSessions() })
$('logout-everywhere').addEventListener('click', () => guarded('sessions-error', async () => {
  const user = $('sessions-form').elements.user.value.trim()
  if (!window.confirm(`End every session, token and API key of user ${user}?`)) return
  const res = await api('POST', `${ADMIN}/users/${encodeURIComponent(user)}/revoke`)
  await loadSessions()
  $('sessions-note').textContent = `Logged out everywhere: ${res.revoked_sessions} session(s) ended.`
}))

// --- API keys ---------------------------------------------------------------

const words = (v) => v.split(/[\s,]+/).filter((w) => w !== '')

function showSecret (boxId, valueId, secret) {
  $(valueId).textContent = secret
  $(boxId).hidden = false
}

async function loadApiKeys () {
  await guarded('apikeys-error', async () => {
    const { api_keys: keys } = await api('GET', `${ADMIN}/api-keys`)
    fill('apikeys-list', keys.map((k) => row([
      k.id, k.name, k.user_id, k.kind, k.scopes.join(' '), time(k.created_at), time(k.expires_at), k.last_used_at === null ? 'never' : `${time(k.last_used_at)} (${k.last_used_ip})`,
      [
        button('Rotate', () => guarded('apikeys-error', async () => {
          if (!window.confirm(`Replace key ${k.name} with a new one? The old key stops working at once.`)) return
          const made = await api('POST', `${ADMIN}/api-keys/${encodeURIComponent(k.id)}/rotate`)
          showSecret('apikey-secret', 'apikey-value', made.key)
          await loadApiKeys()
        })),
        button('Revoke', () => guarded('apikeys-error', async () => {
          if (!window.confirm(`Revoke key ${k.name}? It stops working at once.`)) return
          await api('DELETE', `${ADMIN}/api-keys/${encodeURIComponent(k.id)}`)
          await loadApiKeys()
        }), 'small danger')
      ]
    ])))
  })
}

$('apikey-form').addEventListener('submit', (e) => {
  e.preventDefault()
  const f = e.target.elements
  void guarded('apikeys-error', async () => {
    const body = { user_id: Number(f.user_id.value), name: f.name.value }
    if (f.scopes.value.trim() !== '') body.scopes = words(f.scopes.value)
    if (f.expires_in.value.trim() !== '') body.expires_in = Number(f.expires_in.value)
    const made = await api('POST', `${ADMIN}/api-keys`, body)
    showSecret('apikey-secret', 'apikey-value', made.key)
    await loadApiKeys()
  })
})
$('apikey-dismiss').addEventListener('click', () => { $('apikey-value').textContent = ''; $('apikey-secret').hidden = true })

// --- OAuth clients ------------------------------------------------------------

async function loadClients () {
  await guarded('clients-error', async () => {
    const { clients } = await api('GET', `${ADMIN}/clients`)
    fill('clients-list', clients.map((c) => row([
      c.client_id, c.name, c.user_id, c.grant_types.join(' '), c.scopes.join(' '), time(c.created_at),
      [
        button('Rotate secret', () => guarded('clients-error', async () => {
          const rotated = await api('POST', `${ADMIN}/clients/${encodeURIComponent(c.client_id)}/secret`)
          showSecret('client-secret', 'client-secret-value', `${c.client_id}\n${rotated.client_secret}`)
        })),
        button('Delete', () => guarded('clients-error', async () => {
          if (!window.confirm(`Delete client ${c.name}? Every token it was issued stops working.`)) return
          await api('DELETE', `${ADMIN}/clients/${encodeURIComponent(c.client_id)}`)
          await loadClients()
        }), 'small danger')
      ]
    ])))
  })
}

$('client-form').addEventListener('submit', (e) => {
  e.preventDefault()
  const f = e.target.elements
  void guarded('clients-error', async () => {
    const grants = [...e.target.querySelectorAll('input[name=grant]:checked')].map((i) => i.value)
    const made = await api('POST', `${ADMIN}/clients`, { name: f.name.value, user_id: Number(f.user_id.value), grant_types: grants, scopes: words(f.scopes.value) })
    showSecret('client-secret', 'client-secret-value', `${made.client_id}\n${made.client_secret}`)
    await loadClients()
  })
})
$('client-dismiss').addEventListener('click', () => { $('client-secret-value').textContent = ''; $('client-secret').hidden = true })

// --- rules ------------------------------------------------------------------

async function loadRules () {
  await guarded('rules-error', async () => {
    const r = await api('GET', `${ADMIN}/rules`)
    $('rules-mode').textContent = `Mode: ${r.mode}.`
    const list = (v) => v === undefined ? '' : v.join(' ')
    const rows = r.rules.map(({ index, source, rule }) => row([
      index, rule.route, list(rule.methods) || 'any', rule.access, list(rule.roles), list(rule.notRoles), list(rule.scopes), list(rule.authenticators),
      rule.rateLimit === undefined ? '' : `${rule.rateLimit.max} / ${rule.rateLimit.windowSeconds}s by ${rule.rateLimit.by}`, source === 'config' ? 'policy.rules' : 'policy.mode'
    ]))
    rows.push(row(['', 'everything else', 'any', r.default, '', '', '', '', '', 'default']))
    fill('rules-list', rows)
  })
}

// --- test panel ---------------------------------------------------------------

let testAuthorization = null
const credentialForm = $('test-credentials')

function showKind () {
  const kind = credentialForm.elements.kind.value
  for (const l of credentialForm.querySelectorAll('.for-login')) l.hidden = kind !== 'password' && kind !== 'basic'
  for (const l of credentialForm.querySelectorAll('.for-key')) l.hidden = kind !== 'apikey'
}
credentialForm.elements.kind.addEventListener('change', showKind)

/** Base64 of UTF-8 text, as Basic credentials are (RFC 7617 §2.1). */
const base64 = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(text)))

/** Asks the gateway, without the dashboard's cookie: exactly what any client would send. */
async function asClient (method, path, authorization, body) {
  const headers = {}
  if (authorization !== null) headers.authorization = authorization
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(path, { method, headers, body, credentials: 'omit', cache: 'no-store', redirect: 'manual' })
  return { status: res.status, text: method === 'HEAD' ? '' : await res.text() }
}

credentialForm.addEventListener('submit', async (e) => {
  e.preventDefault()
  const f = credentialForm.elements
  const out = $('test-credential-result')
  out.textContent = '…'
  testAuthorization = null
  try {
    switch (f.kind.value) {
      case 'password': {
        const res = await asClient('POST', '/wp-json/api/v1/token', null, JSON.stringify({ username: f.username.value, password: f.password.value }))
        const data = JSON.parse(res.text)
        if (res.status !== 200) { out.textContent = `${res.status} ${data.code}: ${data.message}`; return }
        testAuthorization = `Bearer ${data.access_token}`
        out.textContent = `${res.status}: token for ${data.user.login} (${data.user.roles.join(', ')}), expires in ${data.expires_in}s\n${data.access_token}`
        return
      }
      case 'apikey': testAuthorization = `Bearer ${f.key.value.trim()}`; break
      case 'basic': testAuthorization = `Basic ${base64(`${f.username.value}:${f.password.value}`)}`; break
      default: out.textContent = 'No credentials: the call is anonymous.'; return
    }
    // API keys and Basic have no token to show: the gateway says whose they are, or why not.
    const res = await asClient('GET', '/wp-json/api/v1/token-validate', testAuthorization)
    const data = JSON.parse(res.text)
    out.textContent = res.status === 200 ? `${res.status}: valid for ${data.user.login} (${data.user.roles.join(', ')})` : `${res.status} ${data.code}: ${data.message}`
  } catch (err) {
    out.textContent = `error: ${err.message}`
  } finally {
    f.password.value = ''
  }
})

$('test-call').addEventListener('submit', async (e) => {
  e.preventDefault()
  const f = e.target.elements
  const method = f.method.value
  const path = f.path.value.trim()
  const body = f.body.value.trim() === '' || method === 'GET' || method === 'HEAD' ? undefined : f.body.value
  for (const id of ['test-status', 'test-code', 'test-decision', 'test-rule', 'test-identity', 'test-body']) $(id).textContent = ''
  try {
    const [call, explained] = await Promise.all([
      asClient(method, path, testAuthorization, body),
      api('POST', `${ADMIN}/explain`, { method, path, ...(testAuthorization === null ? {} : { authorization: testAuthorization }) })
    ])
    $('test-status').textContent = String(call.status)
    let parsed = null
    try { parsed = JSON.parse(call.text) } catch {}
    if (parsed?.code !== undefined) $('test-code').textContent = parsed.code
    $('test-body').textContent = call.text.slice(0, 4000)
    $('test-decision').textContent = explained.result === 'allowed'
      ? 'allowed: forwarded to WordPress'
      : explained.result === 'gateway' ? explained.message : `refused: ${explained.code} (${explained.status}) ${explained.message}`
    const rule = explained.rule
    $('test-rule').textContent = rule === null
      ? `none (${explained.kind ?? 'unresolved'} request)`
      : rule.source === 'default' ? `the default (${rule.access}) for ${explained.effective_method} ${explained.route}` : `#${rule.index} ${rule.route} → ${rule.access} (${rule.source === 'config' ? 'policy.rules' : 'policy.mode'}) for ${explained.effective_method} ${explained.route}`
    const id = explained.identity
    $('test-identity').textContent = id === null ? 'anonymous' : `${id.login} (user ${id.user_id}, ${id.roles.join(', ')}) via ${id.via}${id.scopes ? `, scopes ${id.scopes.join(' ')}` : ''}`
  } catch (err) {
    $('test-decision').textContent = `${err.code ?? 'error'}: ${err.message}`
  }
})

// --- start ------------------------------------------------------------------

showKind()
fetch(`${DASH}/session`, { credentials: 'same-origin', cache: 'no-store' })
  .then(async (res) => res.ok ? start(await res.json()) : showLogin())
  .catch(() => showLogin())
