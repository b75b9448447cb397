import t from 'tap'
import { copyFileSync, mkdirSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { chromium, type Page } from 'playwright-core'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, password, USERS } from '../helper.js'

// The dashboard in a real browser (Debian's Chromium, driven by
// playwright-core), through the real gateway listening on loopback, in front
// of the test WordPress: log in, see the requests just made in the charts and
// the audit list, revoke a session and see its token refused, make an API key
// and use it, run the test panel. Screenshots go to test-artefacts/dashboard/;
// with DASHBOARD_SCREENSHOT=1 the overview also replaces docs/dashboard.png.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARTEFACTS = 'test-artefacts/dashboard'
rmSync(ARTEFACTS, { recursive: true, force: true })
mkdirSync(ARTEFACTS, { recursive: true })

async function shot (page: Page, name: string, fullPage = false): Promise<string> {
  const path = `${ARTEFACTS}/${name}.png`
  await page.screenshot({ path, fullPage })
  return path
}

// The little of the page's DOM the functions below use, which run in the page
// (not in Node, whose types these are): functions, not strings, because the
// page's CSP forbids evaluating strings as code.
declare const document: {
  querySelector: (selector: string) => { textContent: string | null, scrollIntoView: () => void, dataset: Record<string, string | undefined> } | null
  cookie: string
}

/** Until the element's text matches (or, with `not`, stops matching). */
async function waitText (page: Page, selector: string, pattern: RegExp, not = false): Promise<void> {
  await page.waitForFunction(([selector, source, not]) => new RegExp(source).test(document.querySelector(selector)?.textContent ?? '') !== not, [selector, pattern.source, not] as const)
}

/** Brings a section to the top of the window, for its screenshot. */
async function scrollTo (page: Page, id: string): Promise<void> {
  await page.evaluate((id) => { document.querySelector(`#${id}`)!.scrollIntoView() }, id)
}

/** The audit stream is written in batches (within a second); tests make it write now. */
async function flushAudit (app: FastifyInstance): Promise<void> {
  await app.audit.flush()
}

t.test('the dashboard in Chromium', async (t) => {
  const app = await buildTestApp(t, {
    auth: { methods: ['jwt', 'apikey', 'basic', 'cookie'], basic: { requireTls: false } },
    policy: { rules: [{ route: '/wp/v2/posts*', methods: ['GET'], access: 'public' }, { route: '/wp/v2/settings*', access: 'deny' }] }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const call = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(base + path, init)
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  }

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => browser.close())
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } })
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  const problems: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()) })
  page.on('pageerror', (err) => { problems.push(err.message) })
  page.on('dialog', (d) => { void d.accept() })

  // Log in as the WordPress administrator.
  await page.goto(`${base}/_gateway/dashboard`)
  await page.waitForSelector('#login:not([hidden])')
  await page.fill('#login-password [name=username]', 'subscriber')
  await page.fill('#login-password [name=password]', password('subscriber'))
  await page.click('#login-password button')
  await waitText(page, '#login-error', /./)
  t.match(await page.textContent('#login-error'), /Only WordPress administrators/, 'a subscriber is turned away')
  await page.fill('#login-password [name=username]', 'admin')
  await page.fill('#login-password [name=password]', password('admin'))
  await shot(page, '01-login')
  await page.click('#login-password button')
  await page.waitForSelector('#app:not([hidden])')
  t.match(await page.textContent('#who'), /admin \(user 1\)/)
  const cookies = await context.cookies()
  t.match(cookies, [{ name: 'wpag_dash', path: '/_gateway/', httpOnly: true, sameSite: 'Strict' }], 'the session cookie, out of the page\'s reach')
  t.equal(await page.evaluate(() => document.cookie), '', 'document.cookie does not show it')

  // Requests the charts and the audit list must then show.
  const editor = await call('/wp-json/api/v1/token', { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'DashboardTest/1.0' }, body: JSON.stringify({ username: 'editor', password: password('editor') }) })
  t.equal(editor.status, 200)
  const editorToken = editor.body.access_token as string
  // In three waves five seconds apart, so that the charts (5 s buckets) show more than a point.
  for (let wave = 0; wave < 3; wave++) {
    if (wave > 0) await new Promise((resolve) => setTimeout(resolve, 5000))
    for (let i = 0; i <= wave; i++) t.equal((await call('/wp-json/wp/v2/users/me', { headers: { authorization: `Bearer ${editorToken}` } })).status, 200)
    t.equal((await call('/wp-json/wp/v2/posts?per_page=1')).status, 200)
    t.equal((await call('/wp-json/wp/v2/settings')).status, 403)
    t.equal((await call('/wp-json/wp/v2/users')).status, 401)
  }
  await flushAudit(app)
  await page.selectOption('#analytics-form [name=range]', '300')
  await page.click('#analytics-form button')
  await page.waitForFunction(() => Number(document.querySelector('#analytics')!.dataset.requests ?? 0) >= 15)
  t.ok(await page.$('#chart-requests canvas'), 'the requests chart is drawn')
  t.ok(await page.$('#chart-codes canvas'), 'and refusals by code')
  t.match(await page.textContent('#analytics-totals'), /\d+ requests, \d+ allowed, [1-9]\d* refused/)
  await page.click('#audit-form button')
  await waitText(page, '#audit-list tbody', /\/wp\/v2\/users\/me/)
  const auditText = await page.textContent('#audit-list tbody')
  t.match(auditText, /GW_ERR_ROUTE_DISABLED/, 'the refusal is listed with its code')
  await page.selectOption('#audit-form [name=result]', 'refused')
  await page.click('#audit-form button')
  await waitText(page, '#audit-list tbody', /\/wp\/v2\/users\/me/, true)
  t.notMatch(await page.textContent('#audit-list tbody'), /allowed/, 'filtered: refusals only')
  await page.selectOption('#audit-form [name=result]', '')
  await page.click('#audit-form button')
  await waitText(page, '#audit-list tbody', /\/wp\/v2\/users\/me/)
  const overview = await shot(page, '02-overview')
  if (process.env.DASHBOARD_SCREENSHOT === '1') copyFileSync(overview, 'docs/dashboard.png')

  // Sessions: revoke the editor's, and see the token refused.
  await page.fill('#sessions-form [name=user]', String(USERS.editor.id))
  await page.click('#sessions-form button[type=submit]')
  const sessionRow = page.locator('#sessions-list tbody tr', { hasText: 'DashboardTest/1.0' })
  await sessionRow.waitFor()
  await scrollTo(page, 'sessions')
  await shot(page, '03-sessions')
  await sessionRow.locator('button', { hasText: 'Revoke' }).click()
  await sessionRow.waitFor({ state: 'detached' })
  const refused = await call('/wp-json/wp/v2/users/me', { headers: { authorization: `Bearer ${editorToken}` } })
  t.equal(refused.status, 401)
  t.equal(refused.body.code, 'GW_ERR_TOKEN_REVOKED', 'the revoked session\'s token is refused by the gateway')

  // Log the editor out everywhere: every session's token is refused.
  const tokens: string[] = []
  for (let i = 0; i < 2; i++) tokens.push((await call('/wp-json/api/v1/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'editor', password: password('editor') }) })).body.access_token as string)
  await page.click('#sessions-form button[type=submit]')
  await waitText(page, '#sessions-note', /^2 live sessions/)
  await page.click('#logout-everywhere')
  await waitText(page, '#sessions-note', /Logged out everywhere: 2 session/)
  for (const token of tokens) t.equal((await call('/wp-json/wp/v2/users/me', { headers: { authorization: `Bearer ${token}` } })).body.code, 'GW_ERR_TOKEN_REVOKED', 'logged out everywhere')
  // The cut-off counts in whole seconds (src/tokens/revocation.ts): the next login is in the next one.
  await new Promise((resolve) => setTimeout(resolve, 1100))

  // An API key: made in the page, read once, used by a client.
  await page.fill('#apikey-form [name=user_id]', String(USERS.editor.id))
  await page.fill('#apikey-form [name=name]', 'made in the browser')
  await page.click('#apikey-form button')
  await page.waitForSelector('#apikey-secret:not([hidden])')
  const key = (await page.textContent('#apikey-value'))!
  t.match(key, /^wpgk_[0-9a-f]{24}_/)
  await scrollTo(page, 'apikeys')
  await page.locator('#apikeys-list tbody tr', { hasText: 'made in the browser' }).waitFor()
  await shot(page, '04-api-key')
  const withKey = await call('/wp-json/wp/v2/users/me', { headers: { authorization: `Bearer ${key}` } })
  t.equal(withKey.status, 200)
  t.equal(withKey.body.id, USERS.editor.id, 'the key acts as its user')
  await page.click('#apikey-dismiss')
  t.equal(await page.textContent('#apikey-value'), '', 'dismissed: the key is gone from the page')
  t.notMatch(await page.textContent('#apikeys-list'), new RegExp(key.split('_')[2]!), 'the listing never shows the secret')

  // Rotate it: a new key, shown once; the old one stops working.
  await page.locator('#apikeys-list tbody tr', { hasText: 'made in the browser' }).locator('button', { hasText: 'Rotate' }).click()
  await waitText(page, '#apikey-value', /^wpgk_/)
  const rotated = (await page.textContent('#apikey-value'))!
  t.not(rotated, key)
  t.equal((await call('/wp-json/wp/v2/users/me', { headers: { authorization: `Bearer ${rotated}` } })).status, 200, 'the rotated key works')
  t.equal((await call('/wp-json/wp/v2/users/me', { headers: { authorization: `Bearer ${key}` } })).body.code, 'GW_ERR_API_KEY_INVALID', 'the old one does not')
  await page.click('#apikey-dismiss')

  // An OAuth client: made, its secret shown once and used, rotated, deleted.
  await scrollTo(page, 'clients')
  await page.fill('#client-form [name=name]', 'browser client')
  await page.fill('#client-form [name=user_id]', String(USERS.editor.id))
  await page.click('#client-form button[type=submit]')
  await waitText(page, '#client-secret-value', /^wpgc_/)
  const [clientId, secret] = (await page.textContent('#client-secret-value'))!.split('\n') as [string, string]
  const grant = async (s: string) => await call('/wp-json/api/v1/oauth/token', { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(s)}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' })
  t.equal((await grant(secret)).status, 200, 'the client gets a token with the secret shown')
  const clientRow = page.locator('#clients-list tbody tr', { hasText: 'browser client' })
  await clientRow.locator('button', { hasText: 'Rotate secret' }).click()
  await waitText(page, '#client-secret-value', new RegExp(secret), true)
  const newSecret = (await page.textContent('#client-secret-value'))!.split('\n')[1]!
  t.equal((await grant(newSecret)).status, 200, 'and with the rotated one')
  await shot(page, '05-clients')
  await page.click('#client-dismiss')
  await clientRow.locator('button', { hasText: 'Delete' }).click()
  await clientRow.waitFor({ state: 'detached' })
  t.equal((await grant(newSecret)).status, 401, 'deleted: refused')

  // The rules as the policy applies them.
  t.match(await page.textContent('#rules-list tbody'), /\/wp\/v2\/posts\*[\s\S]*public[\s\S]*\/wp\/v2\/settings\*[\s\S]*deny[\s\S]*everything else[\s\S]*authenticated/)

  // The test panel: a login, a call, the decision and the rule that made it.
  await scrollTo(page, 'test')
  await page.selectOption('#test-credentials [name=kind]', 'password')
  await page.fill('#test-credentials [name=username]', 'editor')
  await page.fill('#test-credentials [name=password]', password('editor'))
  await page.click('#test-credentials button')
  await waitText(page, '#test-credential-result', /token for editor/)
  await page.fill('#test-call [name=path]', '/wp-json/wp/v2/users/me')
  await page.click('#test-call button')
  await waitText(page, '#test-decision', /./)
  t.equal(await page.textContent('#test-status'), '200')
  t.match(await page.textContent('#test-decision'), /^allowed/)
  t.match(await page.textContent('#test-rule'), /default \(authenticated\) for GET \/wp\/v2\/users\/me/)
  t.match(await page.textContent('#test-identity'), /editor \(user 2, editor\) via jwt/)
  await page.selectOption('#test-credentials [name=kind]', 'none')
  await page.click('#test-credentials button')
  await page.fill('#test-call [name=path]', '/wp-json/wp/v2/settings')
  await page.click('#test-call button')
  await waitText(page, '#test-status', /^403$/)
  t.match(await page.textContent('#test-decision'), /refused: GW_ERR_ROUTE_DISABLED \(403\)/)
  t.match(await page.textContent('#test-rule'), /#1 \/wp\/v2\/settings\* → deny \(policy\.rules\)/)
  await page.selectOption('#test-credentials [name=kind]', 'apikey')
  await page.fill('#test-credentials [name=key]', rotated)
  await page.click('#test-credentials button')
  await waitText(page, '#test-credential-result', /valid for editor/)
  await page.fill('#test-call [name=path]', '/wp-json/wp/v2/users/me')
  await page.click('#test-call button')
  await waitText(page, '#test-identity', /via apikey/)
  await shot(page, '06-test-panel')

  // Log out: the cookie opens nothing any more.
  const [session] = await context.cookies()
  await page.click('#logout')
  await page.waitForSelector('#login:not([hidden])')
  const after = await call('/_gateway/admin/rules', { headers: { cookie: `${session!.name}=${session!.value}` } })
  t.equal(after.body.code, 'GW_ERR_DASHBOARD_SESSION_ENDED')
  await shot(page, '07-full-page', true)
  t.same(problems.filter((p) => /Content Security Policy|Refused to/i.test(p)), [], 'no CSP violation')
  t.same(problems.filter((p) => !/status of 40[13]/.test(p)), [], 'no script error')
})
