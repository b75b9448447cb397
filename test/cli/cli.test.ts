import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, login, password, session, testEnv, USERS } from '../helper.js'
import { loadConfig } from '../../src/config/load.js'

// The admin command line as an operator runs it: a child process talking to
// a real gateway listening on a port, in front of the test WordPress.

// Some sixty processes of the CLI, each loading TypeScript through tsx.
t.setTimeout(240_000)

interface Run { code: number | null, stdout: string, stderr: string }

function cli (args: string[], env: Record<string, string> = {}): Promise<Run> {
  // Only PATH from this process: no WPAG_* or GATEWAY_CONFIG of the person running the tests leaks in.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c) => { stdout += c })
  child.stderr.on('data', (c) => { stderr += c })
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })))
}

const lines = (s: string) => s.split('\n').filter((l) => l !== '')

async function listening (t: Parameters<typeof buildTestApp>[0], file: object = {}): Promise<{ app: FastifyInstance, url: string }> {
  const app = await buildTestApp(t, { auth: { methods: ['jwt', 'apikey'] }, ...file })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }
}

const COMMANDS = ['admin-token', 'keys generate', 'keys rotate', 'api-keys create', 'api-keys list', 'api-keys revoke', 'clients create', 'clients list',
  'clients rotate', 'clients delete', 'sessions list', 'sessions revoke', 'revoke-user', 'audit tail', 'config check']

t.test('--help on the program and on every command', async (t) => {
  const top = await cli(['--help'])
  t.equal(top.code, 0)
  for (const c of COMMANDS) t.match(top.stdout, `\n  ${c} `, `the program's help lists ${c}`)
  for (const c of COMMANDS) {
    const r = await cli([...c.split(' '), '--help'])
    t.equal(r.code, 0, `${c} --help`)
    t.match(r.stdout, new RegExp(`^Usage: wp-auth-gateway ${c} `), `${c} --help starts with its usage`)
    t.match(r.stdout, /--help +show this help/)
    t.equal(r.stderr, '')
  }
  t.match((await cli(['api-keys', 'list', '--help'])).stdout, /--token TOKEN .*WPAG_ADMIN_TOKEN/, 'online commands document --url and --token')
  const group = await cli(['clients', '--help'])
  t.equal(group.code, 0)
  t.match(group.stdout, /^Usage: wp-auth-gateway clients <create\|list\|rotate\|delete>/)
  const none = await cli([])
  t.equal(none.code, 2, 'no command: the help, and a failing exit code')
  t.match(none.stdout, /^Usage: /)
})

t.test('admin-token makes a token the gateway takes, and api-keys create, list and revoke a key used against WordPress', async (t) => {
  const made = await cli(['admin-token'])
  t.equal(made.code, 0)
  const token = /^ {2}(wpag_admin_\S+)$/m.exec(made.stdout)?.[1]
  const hash = /apiTokenHash: "(\$argon2id\$[^"]+)"/.exec(made.stdout)?.[1]
  t.ok(token !== undefined && hash !== undefined, 'a token and its hash')
  t.match((await cli(['admin-token', '--metrics'])).stdout, /tokenHash: "\$argon2id\$/, '--metrics makes a metrics token')
  const legacy = spawn(process.execPath, ['--import', 'tsx', 'src/cli/admin-token.ts', '--metrics'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let legacyOut = ''
  legacy.stdout.on('data', (c) => { legacyOut += c })
  await new Promise((resolve) => legacy.on('close', resolve))
  t.match(legacyOut, /^metrics token .*\n {2}wpag_metrics_/, 'npm run admin-token\'s script still works, --metrics included')

  const { url } = await listening(t, { admin: { apiTokenHash: hash } })
  const env = { WPAG_URL: url, WPAG_ADMIN_TOKEN: token! }

  const create = await cli(['api-keys', 'create', '--user', String(USERS.editor.id), '--name', 'cli test', '--expires-in', '3600'], env)
  t.equal(create.code, 0, create.stderr)
  const key = JSON.parse(create.stdout) as { id: string, key: string, user_id: number, expires_at: string }
  t.match(key, { user_id: USERS.editor.id, key: /^wpgk_[0-9a-f]{24}_/, expires_at: /^\d{4}-/ })

  const me = await fetch(`${url}/wp-json/wp/v2/users/me`, { headers: { authorization: `Bearer ${key.key}` } })
  t.equal(me.status, 200)
  t.equal(((await me.json()) as { id: number }).id, USERS.editor.id, 'WordPress answers as the key\'s user')

  const list = await cli(['api-keys', 'list', '--user', String(USERS.editor.id)], env)
  t.equal(list.code, 0)
  t.ok((JSON.parse(list.stdout).api_keys as Array<{ id: string }>).some((k) => k.id === key.id), 'listed')
  t.notMatch(list.stdout, key.key, 'never the key itself')
  const table = await cli(['api-keys', 'list', '--table', '--url', url, '--token', token!])
  t.match(lines(table.stdout)[0], /^id +name +user_id +kind +scopes/, '--table: a header row')
  t.match(table.stdout, new RegExp(`\n${key.id} +cli test +${USERS.editor.id} +universal`), '--table: the key as a row')

  const revoke = await cli(['api-keys', 'revoke', key.key], env)
  t.equal(revoke.code, 0, revoke.stderr)
  t.same(JSON.parse(revoke.stdout), { revoked: key.id }, 'a whole key is revoked by its id')
  const after = await fetch(`${url}/wp-json/wp/v2/users/me`, { headers: { authorization: `Bearer ${key.key}` } })
  t.equal(after.status, 401, 'the key no longer works')
  const again = await cli(['api-keys', 'revoke', key.id], env)
  t.equal(again.code, 1)
  t.same(lines(again.stderr), [`wp-auth-gateway: DELETE /_gateway/admin/api-keys/${key.id}: 404 GW_ERR_API_KEY_NOT_FOUND: ${JSON.parse(await (await fetch(`${url}/_gateway/admin/api-keys/${key.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).text()).message}`])
})

t.test('clients create, list, rotate and delete, with an administrator\'s access token', async (t) => {
  const { app, url } = await listening(t)
  const env = { WPAG_URL: url, WPAG_ADMIN_TOKEN: await login(app, 'admin') }
  const grant = (id: string, secret: string) => fetch(`${url}/wp-json/api/v1/oauth/token`, {
    method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials'
  })

  const create = await cli(['clients', 'create', '--name', 'CLI reporting', '--user', String(USERS.author.id), '--grant', 'client_credentials', '--grant', 'password'], env)
  t.equal(create.code, 0, create.stderr)
  const client = JSON.parse(create.stdout) as { client_id: string, client_secret: string, grant_types: string[] }
  t.same(client.grant_types, ['client_credentials', 'password'])
  const first = await grant(client.client_id, client.client_secret)
  t.equal(first.status, 200, 'the client gets tokens')
  const access = ((await first.json()) as { access_token: string }).access_token

  const rotate = await cli(['clients', 'rotate', client.client_id], env)
  t.equal(rotate.code, 0, rotate.stderr)
  const rotated = JSON.parse(rotate.stdout) as { client_secret: string, previous_secret_expires_at: string }
  t.not(rotated.client_secret, client.client_secret)
  t.equal((await grant(client.client_id, rotated.client_secret)).status, 200, 'the new secret works')
  const list = await cli(['clients', 'list'], env)
  const listed = (JSON.parse(list.stdout).clients as Array<{ client_id: string, previous_secret_expires_at?: string }>).find((c) => c.client_id === client.client_id)
  t.match(listed, { previous_secret_expires_at: /^\d{4}-/ }, 'listed, in its grace period')
  t.notMatch(list.stdout, rotated.client_secret, 'never a secret')

  const del = await cli(['clients', 'delete', client.client_id], env)
  t.equal(del.code, 0, del.stderr)
  t.same(JSON.parse(del.stdout), { deleted: client.client_id })
  t.equal((await fetch(`${url}/wp-json/wp/v2/users/me`, { headers: { authorization: `Bearer ${access}` } })).status, 401, 'its tokens stop working')
  t.equal((await grant(client.client_id, rotated.client_secret)).status, 401, 'it gets no more tokens')
  const gone = await cli(['clients', 'delete', client.client_id], env)
  t.equal(gone.code, 1)
  t.match(lines(gone.stderr), [/^wp-auth-gateway: DELETE \/_gateway\/admin\/clients\/wpgc_\w+: 404 GW_ERR_CLIENT_NOT_FOUND/])
  const bad = await cli(['clients', 'create', '--name', 'x', '--user', '2', '--grant', 'implicit'], env)
  t.equal(bad.code, 2)
  t.same(lines(bad.stderr), ['wp-auth-gateway: --grant \'implicit\' is not one of password, client_credentials, refresh_token (see wp-auth-gateway clients create --help)'])
})

t.test('sessions list and revoke, and revoke-user', async (t) => {
  const { app, url } = await listening(t)
  const env = { WPAG_URL: url, WPAG_ADMIN_TOKEN: await login(app, 'admin') }
  const uid = String(USERS.subscriber.id)
  const phone = await session(app, 'subscriber', password('subscriber'), { 'user-agent': 'CliPhone/1.0' })
  const laptop = await session(app, 'subscriber', password('subscriber'), { 'user-agent': 'CliLaptop/1.0' })
  const works = async (access: string) => (await fetch(`${url}/wp-json/wp/v2/users/me`, { headers: { authorization: `Bearer ${access}` } })).status

  const list = await cli(['sessions', 'list', '--user', uid], env)
  t.equal(list.code, 0, list.stderr)
  const sessions = JSON.parse(list.stdout).sessions as Array<{ id: string, user_agent: string }>
  const phoneSession = sessions.find((s) => s.user_agent === 'CliPhone/1.0')
  t.ok(phoneSession, 'the phone\'s session is listed')
  t.match((await cli(['sessions', 'list', '--user', uid, '--table'], env)).stdout, /CliLaptop\/1\.0/, 'and in a table')

  // After --: a session id may begin with '-' (one in 64 do).
  const revoke = await cli(['sessions', 'revoke', '--user', uid, '--', phoneSession!.id], env)
  t.equal(revoke.code, 0, revoke.stderr)
  t.equal(await works(phone.access_token), 401, 'the revoked session\'s token is refused')
  t.equal(await works(laptop.access_token), 200, 'the other session goes on')

  const all = await cli(['revoke-user', uid], env)
  t.equal(all.code, 0, all.stderr)
  t.match(JSON.parse(all.stdout), { revoked_sessions: Number })
  t.equal(await works(laptop.access_token), 401, 'logged out everywhere')
  t.same(JSON.parse((await cli(['sessions', 'list', '--user', uid], env)).stdout), { sessions: [] })
})

t.test('failures are one line and a non-zero exit code', async (t) => {
  const { app, url } = await listening(t)
  const closed = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as AddressInfo).port
      probe.close(() => resolve(p))
    })
  })
  const down = await cli(['clients', 'list', '--url', `http://127.0.0.1:${closed}`, '--token', 'x'])
  t.equal(down.code, 1)
  t.same(lines(down.stderr), [`wp-auth-gateway: cannot reach the gateway at http://127.0.0.1:${closed} (connect ECONNREFUSED 127.0.0.1:${closed}); is it running? set --url or WPAG_URL`])
  t.equal(down.stdout, '')

  const wrong = await cli(['clients', 'list', '--url', url, '--token', 'not-a-token'])
  t.equal(wrong.code, 1)
  t.match(lines(wrong.stderr), [/^wp-auth-gateway: the gateway refused the token \(401 GW_ERR_\w+: .*\); pass the admin API token or an administrator's access token with --token or WPAG_ADMIN_TOKEN$/])

  const editor = await cli(['sessions', 'list', '--user', '2'], { WPAG_URL: url, WPAG_ADMIN_TOKEN: await login(app, 'editor') })
  t.equal(editor.code, 1)
  t.match(lines(editor.stderr), [/^wp-auth-gateway: the token is not allowed to use the admin API \(403 GW_ERR_FORBIDDEN/])

  const noToken = await cli(['clients', 'list', '--url', url])
  t.equal(noToken.code, 2)
  t.match(lines(noToken.stderr), [/^wp-auth-gateway: no token: pass --token or set WPAG_ADMIN_TOKEN/])

  for (const [args, message] of [
    [['sessions', 'list', '--user', 'abc'], '--user must be a positive whole number (got \'abc\') (see wp-auth-gateway sessions list --help)'],
    [['api-keys', 'create', '--user', '2'], '--name is required (see wp-auth-gateway api-keys create --help)'],
    [['api-keys', 'list', '--verbose'], 'Unknown option \'--verbose\' (see wp-auth-gateway api-keys list --help)'],
    [['revoke-user'], 'missing argument: USER_ID [options] (see wp-auth-gateway revoke-user --help)'],
    [['clients', 'frobnicate'], 'unknown command \'clients frobnicate\' (see wp-auth-gateway clients --help)'],
    [['nope'], 'unknown command \'nope\' (see wp-auth-gateway --help)']
  ] as const) {
    const r = await cli([...args], { WPAG_URL: url, WPAG_ADMIN_TOKEN: 'x' })
    t.equal(r.code, 2, args.join(' '))
    t.same(lines(r.stderr), [`wp-auth-gateway: ${message}`])
  }
})

t.test('audit tail prints the newest entries, filtered, and follows new ones', async (t) => {
  const made = await cli(['admin-token'])
  const token = /^ {2}(wpag_admin_\S+)$/m.exec(made.stdout)![1]!
  const hash = /apiTokenHash: "(\$argon2id\$[^"]+)"/.exec(made.stdout)![1]!
  const { app, url } = await listening(t, { admin: { apiTokenHash: hash }, audit: { stream: { flushMs: 100 } } })
  const env = { WPAG_URL: url, WPAG_ADMIN_TOKEN: token }
  const started = Date.now()
  const editor = await login(app, 'editor')
  await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { authorization: `Bearer ${editor}` } })
  await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users' })
  await app.audit.flush()

  const tail = await cli(['audit', 'tail', '--lines', '2', '--since', String(started)], env)
  t.equal(tail.code, 0, tail.stderr)
  const entries = lines(tail.stdout).map((l) => JSON.parse(l))
  t.match(entries, [{ route: '/wp/v2/users/me', result: 'allowed', via: 'jwt', user: USERS.editor.id }, { route: '/wp/v2/users', result: 'refused', code: 'GW_ERR_TOKEN_MISSING' }], 'the newest two, oldest first, one JSON object a line')
  const refused = await cli(['audit', 'tail', '--result', 'refused', '--since', '5m', '--table'], env)
  t.equal(refused.code, 0, refused.stderr)
  t.match(lines(refused.stdout).pop(), /^\d{4}-\d\d-\d\dT\S+ {2}request {2}GET \/wp\/v2\/users {2}via anonymous {2}- {2}refused 401 GW_ERR_TOKEN_MISSING$/, '--table: a line each; filters')
  t.notOk(refused.stdout.includes('/wp/v2/users/me'), 'the filter holds')
  t.equal((await cli(['audit', 'tail', '--since', 'yesterday'], env)).code, 2, 'a --since it cannot read is a usage error')

  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'audit', 'tail', '--follow', '--lines', '0', '--interval', '1', '--route', '/wp/v2/posts'], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { child.kill() })
  let out = ''
  child.stdout.on('data', (c) => { out += c })
  // However long the command takes to start, requests keep coming until it has printed three.
  let sent = 0
  for (let i = 0; i < 300 && lines(out).length < 3; i++) {
    if (i % 5 === 0) await app.inject({ method: 'GET', url: `/wp-json/wp/v2/posts/${900000 + sent++}`, headers: { authorization: `Bearer ${editor}` } })
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const routes = lines(out).map((l) => JSON.parse(l).route as string)
  t.ok(routes.length >= 3, `--follow prints what comes (${routes.length} lines)`)
  const first = Number(routes[0]?.split('/').pop())
  t.same(routes, routes.map((_, i) => `/wp/v2/posts/${first + i}`), 'in order, once each, none missed')
})

t.test('config check: a good file passes, a bad one gets every problem, one a line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wpag-cli-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const good = join(dir, 'good.yaml')
  writeFileSync(good, 'auth:\n  methods: [jwt, apikey]\npolicy:\n  default: authenticated\n')
  const ok = await cli(['config', 'check', good])
  t.equal(ok.code, 0, ok.stderr)
  t.equal(ok.stdout, `${good}: valid\n`)

  const bad = join(dir, 'bad.yaml')
  writeFileSync(bad, 'tokens:\n  algorithm: XS999\npolicy:\n  default: maybe\n  rules:\n    - route: /wp/v2/posts\n      access: public\n      roles: [editor]\nbogus: 1\n')
  const r = await cli(['config', 'check', bad])
  t.equal(r.code, 1)
  const out = lines(r.stderr)
  for (const problem of [
    /^wp-auth-gateway: config tokens\.algorithm: must be one of HS256, RS256$/,
    /^wp-auth-gateway: config policy\.default: must be one of public, authenticated, deny$/,
    /^wp-auth-gateway: config bogus: Unexpected property \(known keys: /,
    /^wp-auth-gateway: config policy\.rules\.0 \(\/wp\/v2\/posts\): roles only apply to access: authenticated$/
  ]) t.ok(out.some((l) => problem.test(l)), `printed: ${problem}`)
  t.equal(out.length, 5, 'four problems and a summary')
  t.equal(out.at(-1), `wp-auth-gateway: ${bad}: 4 problems`)

  const broken = join(dir, 'broken.yaml')
  writeFileSync(broken, 'policy: [\n')
  const y = await cli(['config', 'check', broken])
  t.equal(y.code, 1)
  t.match(lines(y.stderr)[0], new RegExp(`^wp-auth-gateway: ${broken}: not valid YAML at line \\d+`))

  const fromEnv = await cli(['config', 'check'], { GATEWAY_CONFIG: good })
  t.equal(fromEnv.stdout, `${good}: valid\n`, 'the file defaults to $GATEWAY_CONFIG')
  const withEnv = await cli(['config', 'check', good, '--env'])
  t.equal(withEnv.code, 1, '--env: the environment is checked too')
  t.match(withEnv.stderr, /WORDPRESS_URL: not set/)
  t.match(withEnv.stderr, /BRIDGE_SECRET: not set/)
  const envOk = await cli(['config', 'check', good, '--env'], testEnv() as Record<string, string>)
  t.equal(envOk.code, 0, envOk.stderr)
})

t.test('keys generate makes a pair the gateway loads; keys rotate keeps the old one verifying', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wpag-keys-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const first = await cli(['keys', 'generate', join(dir, 'one')])
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, `JWT_PRIVATE_KEY_FILE=${join(dir, 'one', 'jwt-private.pem')}`)
  t.equal(statSync(join(dir, 'one', 'jwt-private.pem')).mode & 0o777, 0o600, 'the private key is mode 600')
  const rs256 = { tokens: { algorithm: 'RS256' } }
  const loaded = loadConfig({ file: rs256, env: testEnv({ JWT_SECRET: undefined, JWT_PRIVATE_KEY_FILE: join(dir, 'one', 'jwt-private.pem'), JWT_PUBLIC_KEY_FILE: join(dir, 'one', 'jwt-public.pem') }) })
  t.ok(loaded.env.jwtPrivateKeyPem, 'the gateway loads the pair')

  const again = await cli(['keys', 'generate', join(dir, 'one')])
  t.equal(again.code, 1)
  t.match(lines(again.stderr), [/already exists; not overwriting it/])

  const rotated = await cli(['keys', 'rotate', join(dir, 'two'), '--previous', join(dir, 'one', 'jwt-public.pem')])
  t.equal(rotated.code, 0, rotated.stderr)
  t.match(rotated.stdout, `JWT_PREVIOUS_PUBLIC_KEY_FILES=${join(dir, 'one', 'jwt-public.pem')}`)
  const both = loadConfig({
    file: rs256,
    env: testEnv({ JWT_SECRET: undefined, JWT_PRIVATE_KEY_FILE: join(dir, 'two', 'jwt-private.pem'), JWT_PUBLIC_KEY_FILE: join(dir, 'two', 'jwt-public.pem'), JWT_PREVIOUS_PUBLIC_KEY_FILES: join(dir, 'one', 'jwt-public.pem') })
  })
  t.equal(both.env.previousPublicKeyPems.length, 1, 'the settings it prints are ones the gateway accepts')
  const noPrevious = await cli(['keys', 'rotate', join(dir, 'three'), '--previous', join(dir, 'missing.pem')])
  t.equal(noPrevious.code, 1)
  t.match(lines(noPrevious.stderr), [/the current public key .*missing\.pem is not usable \(ENOENT\); name it with --previous/])
  const hs = await cli(['keys', 'rotate', '--hs256'])
  t.equal(hs.code, 0)
  t.match(hs.stdout, /JWT_SECRET=\S{64}\n {2}JWT_PREVIOUS_SECRETS=<the current JWT_SECRET>/)
})
