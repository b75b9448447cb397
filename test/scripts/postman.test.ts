import t from 'tap'
import { readFileSync } from 'node:fs'
import { COLLECTION_PATH, generateCollection, serialize } from '../../scripts/postman.js'

// The committed Postman collection is what `npm run postman` makes of the
// current routes: a route or schema changed without regenerating fails here.

t.test('the committed Postman collection is a fresh generation', async (t) => {
  const fresh = serialize(await generateCollection())
  const committed = readFileSync(COLLECTION_PATH, 'utf8')
  t.ok(fresh === committed, `${COLLECTION_PATH} is what npm run postman makes now (if not: run npm run postman and commit the result)`)
})

t.test('the token flow logs in, stores the tokens and calls a protected route with them', async (t) => {
  const collection = await generateCollection()
  t.same(collection.variable?.map((v) => (v as { key: string }).key), ['baseUrl', 'username', 'password', 'access_token', 'refresh_token', 'client_id', 'client_secret'])
  t.match(collection.variable?.[0], { value: 'http://localhost:8080' })
  t.match(collection.auth, { type: 'bearer', bearer: [{ value: '{{access_token}}' }] }, 'every request sends the stored token unless it says otherwise')
  const flow = collection.item[0]!
  t.equal(flow.name, 'Token flow')
  const [login, call, refresh] = flow.item!
  t.match(login, { name: 'Log in', request: { method: 'POST', url: { raw: '{{baseUrl}}/wp-json/api/v1/token' }, body: { urlencoded: [{ key: 'username', value: '{{username}}' }, { key: 'password', value: '{{password}}' }] } } })
  const script = JSON.stringify(login!.event)
  t.match(script, /collectionVariables\.set\('access_token', body\.access_token\)/)
  t.match(script, /collectionVariables\.set\('refresh_token', body\.refresh_token\)/)
  t.match(call, { name: 'Call a protected route', request: { method: 'GET', auth: { type: 'bearer', bearer: [{ value: '{{access_token}}' }] } } })
  t.match(refresh, { name: 'Refresh', request: { url: { raw: '{{baseUrl}}/wp-json/api/v1/token/refresh' } } })
  t.match(JSON.stringify(refresh!.event), /collectionVariables\.set\('refresh_token'/)
})
