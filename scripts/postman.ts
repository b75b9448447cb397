// `npm run postman`: the Postman collection in docs/postman/, generated from
// the gateway's OpenAPI document (README, "OpenAPI and Postman"), with the
// token flow scripted. test/routes/postman.test.ts fails when the committed
// file differs from a fresh generation.
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { convertV2 } from 'openapi-to-postmanv2'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config/load.js'
import { OPENAPI_PATH } from '../src/routes/openapi.js'

export const COLLECTION_PATH = fileURLToPath(new URL('../docs/postman/wp-auth-gateway.postman_collection.json', import.meta.url))

/**
 * The document of a gateway with every credential method on, so that every
 * route and security scheme is in it. Built in-process: the in-memory store,
 * and a WordPress address never called. The secrets only satisfy the config
 * check; the document holds none.
 */
export async function openapiDocument (): Promise<Record<string, unknown>> {
  const config = loadConfig({
    env: {
      WORDPRESS_URL: 'http://wordpress.invalid',
      BRIDGE_SECRET: 'postman-bridge-secret-7Fq2Lw9Xc4Vb8Nm1Zr6Ty3Ud5Hk0Pj',
      JWT_SECRET: 'postman-jwt-secret-Qw8Er4Ty1Ui7Op3As6Df0Gh2Jk9Lz5Xc'
    },
    file: { auth: { methods: ['jwt', 'apikey', 'basic', 'cookie'] } }
  })
  const app = await buildApp(config, { logger: false })
  try {
    const res = await app.inject({ method: 'GET', url: OPENAPI_PATH })
    if (res.statusCode !== 200) throw new Error(`${OPENAPI_PATH} answered ${res.statusCode}: ${res.body}`)
    return res.json()
  } finally {
    await app.close()
  }
}

interface Item { id?: string, name: string, item?: Item[], request?: Request, response?: Item[], event?: unknown[], [k: string]: unknown }
interface Request { method: string, url: { path?: string[], raw?: string, [k: string]: unknown }, auth?: unknown, [k: string]: unknown }
export interface Collection { info: Record<string, unknown>, item: Item[], variable?: unknown[], auth?: unknown, event?: unknown[], [k: string]: unknown }

// The converter fakes example values with json-schema-faker, which draws from
// Math.random and from a `random` option it took from Math.random when loaded.
// Both draw from one seeded generator while it runs: the same output each time.
const faker = createRequire(import.meta.url)(join(dirname(createRequire(import.meta.url).resolve('openapi-to-postmanv2/package.json')), 'assets', 'json-schema-faker.js')) as { option: (o: object) => void }

async function withSeededRandom<T> (fn: () => Promise<T>): Promise<T> {
  const random = Math.random
  let seed = 0x2545f491
  const seeded = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
  Math.random = seeded
  faker.option({ random: seeded })
  // Its date-times count from the clock: a fixed one while it runs (a schema without an example would differ run to run).
  const RealDate = Date
  const fixed = RealDate.UTC(2026, 10, 25, 17)
  globalThis.Date = class extends RealDate {
    constructor (...args: unknown[]) {
      if (args.length === 0) super(fixed)
      else super(...(args as [string]))
    }

    static override now (): number { return fixed }
  } as DateConstructor
  try {
    return await fn()
  } finally {
    Math.random = random
    faker.option({ random })
    globalThis.Date = RealDate
  }
}

async function convert (doc: object): Promise<Collection> {
  return await withSeededRandom(() => new Promise((resolve, reject) => {
    convertV2({ type: 'json', data: doc as never }, {
      folderStrategy: 'Tags',
      requestNameSource: 'Fallback',
      parametersResolution: 'Example',
      includeAuthInfoInExample: false,
      enableOptionalParameters: false
    }, (err, result) => {
      if (err !== null && err !== undefined) reject(err)
      else if (result?.result !== true) reject(new Error(`openapi-to-postmanv2: ${String(result?.reason)}`))
      else resolve(result.output![0]!.data as unknown as Collection)
    })
  }))
}

/** A version-4-shaped id made from names, so that a regeneration gives the same ids. */
export function stableId (...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\0')).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
}

const test = (...lines: string[]) => [{ listen: 'test', script: { type: 'text/javascript', exec: lines } }]
const url = (...path: string[]) => ({ raw: `{{baseUrl}}/${path.join('/')}`, host: ['{{baseUrl}}'], path })
const form = (fields: Record<string, string>) => ({ mode: 'urlencoded', urlencoded: Object.entries(fields).map(([key, value]) => ({ key, value, type: 'text' })) })
const bearer = { type: 'bearer', bearer: [{ key: 'token', value: '{{access_token}}', type: 'string' }] }
const storeTokens = [
  'const body = pm.response.json()',
  'pm.collectionVariables.set(\'access_token\', body.access_token)',
  'pm.collectionVariables.set(\'refresh_token\', body.refresh_token)'
]

/** Log in, call WordPress with the token, refresh, log out: run in order (the collection runner does). */
const TOKEN_FLOW: Item = {
  name: 'Token flow',
  description: 'Set the collection variables username and password, then run these in order. "Log in" stores access_token and refresh_token in the collection variables; every other request of the collection sends access_token as its Bearer token.',
  item: [
    {
      name: 'Log in',
      event: test('pm.test(\'logged in\', () => pm.response.to.have.status(200))', ...storeTokens),
      request: { method: 'POST', auth: { type: 'noauth' }, header: [], body: form({ username: '{{username}}', password: '{{password}}' }), url: url('wp-json', 'api', 'v1', 'token') }
    },
    {
      name: 'Call a protected route',
      description: 'WordPress\'s own /wp/v2/users/me, through the gateway, as the logged-in user.',
      event: test('pm.test(\'answered as the logged-in user\', () => pm.response.to.have.status(200))'),
      request: { method: 'GET', auth: bearer, header: [], url: url('wp-json', 'wp', 'v2', 'users', 'me') }
    },
    {
      name: 'Refresh',
      description: 'A new pair; the refresh token sent stops working.',
      event: test('pm.test(\'refreshed\', () => pm.response.to.have.status(200))', ...storeTokens),
      request: { method: 'POST', auth: { type: 'noauth' }, header: [], body: form({ refresh_token: '{{refresh_token}}' }), url: url('wp-json', 'api', 'v1', 'token', 'refresh') }
    },
    {
      name: 'Log out',
      event: test('pm.test(\'logged out\', () => pm.response.to.have.status(200))'),
      request: { method: 'POST', auth: bearer, header: [], url: url('wp-json', 'api', 'v1', 'token', 'revoke') }
    }
  ]
}

/** Every request of the generated folders: inherit the collection's Bearer token, or an OAuth client's Basic; credentials in bodies become variables. */
function adjust (item: Item): void {
  item.item?.forEach(adjust)
  const request = item.request
  if (request === undefined) return
  const auth = request.auth as { type?: string } | null | undefined
  if (auth === null || auth === undefined) request.auth = { type: 'noauth' }
  else if (auth.type === 'bearer') delete request.auth
  else if (auth.type === 'basic') request.auth = { type: 'basic', basic: [{ key: 'username', value: '{{client_id}}', type: 'string' }, { key: 'password', value: '{{client_secret}}', type: 'string' }] }
  const body = request.body as { mode?: string, raw?: string } | undefined
  if (body?.mode === 'raw' && body.raw !== undefined && body.raw !== '') {
    const fields = JSON.parse(body.raw) as Record<string, unknown>
    for (const name of ['username', 'password', 'refresh_token']) if (name in fields) fields[name] = `{{${name}}}`
    body.raw = JSON.stringify(fields, null, 2)
  }
}

/** Ids from each item's place and name, in place of the converter's random ones. */
function stabilise (node: unknown, path: string[]): void {
  if (Array.isArray(node)) {
    node.forEach((v, i) => stabilise(v, [...path, String(i)]))
    return
  }
  if (node === null || typeof node !== 'object') return
  const o = node as Record<string, unknown>
  if (typeof o.id === 'string') o.id = stableId(...path, String(o.name ?? ''))
  for (const [k, v] of Object.entries(o)) stabilise(v, [...path, k])
}

export async function generateCollection (): Promise<Collection> {
  const generated = await convert(await openapiDocument())
  generated.item.forEach(adjust)
  const collection: Collection = {
    info: { ...generated.info, _postman_id: stableId('wp-auth-gateway') },
    auth: bearer,
    variable: [
      { key: 'baseUrl', value: 'http://localhost:8080' },
      { key: 'username', value: '' },
      { key: 'password', value: '' },
      { key: 'access_token', value: '' },
      { key: 'refresh_token', value: '' },
      { key: 'client_id', value: '' },
      { key: 'client_secret', value: '' }
    ],
    item: [TOKEN_FLOW, ...generated.item]
  }
  stabilise(collection.item, ['item'])
  return collection
}

/** The file as written: two-space JSON and a final newline. */
export const serialize = (collection: Collection): string => JSON.stringify(collection, null, 2) + '\n'

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const collection = await generateCollection()
  mkdirSync(dirname(COLLECTION_PATH), { recursive: true })
  writeFileSync(COLLECTION_PATH, serialize(collection))
  console.log(`wrote ${COLLECTION_PATH}`)
}
