import type { Readable } from 'node:stream'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { BadRequest, BatchForbidden, BodyTooLarge } from '../errors.js'
import type { Identity } from './authenticate/identity.js'
import { authorize } from './authorize.js'
import type { Policy } from './policy.js'
import { canonicalRoute } from './resolve.js'

// The batch route (/batch/v1, class-wp-rest-server.php serve_batch_request_v1)
// runs many requests in one, inside WordPress: each is judged here as if it
// had come alone, and one refusal refuses the whole batch.

export const BATCH_ROUTE = '/batch/v1'

const BatchBody = Type.Object({
  requests: Type.Array(Type.Object({
    // WordPress allows only these for sub-requests, POST by default.
    method: Type.Optional(Type.Union(['POST', 'PUT', 'PATCH', 'DELETE'].map((m) => Type.Literal(m)))),
    path: Type.String({ minLength: 1, maxLength: 2048 })
  }), { minItems: 1, maxItems: 25 })
})
type BatchBody = Static<typeof BatchBody>

export async function readAll (stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream) {
    size += (chunk as Buffer).length
    if (size > limit) throw new BodyTooLarge()
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

export function judgeBatch (body: Buffer, policy: Policy, identity: Identity | null): void {
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    throw new BadRequest('The batch body is not JSON.')
  }
  if (!Value.Check(BatchBody, parsed)) throw new BadRequest('The batch body must be {"requests": [{"method", "path"}]} with 1 to 25 requests.')
  ;(parsed as BatchBody).requests.forEach((sub, i) => {
    // WordPress takes the route from wp_parse_url(path)['path'], undecoded.
    const q = sub.path.indexOf('?')
    const route = canonicalRoute(q === -1 ? sub.path : sub.path.slice(0, q))
    if (/^\/(api\/v1|gateway-bridge|batch\/v1)(\/|$)/.test(route)) throw new BatchForbidden(i, `${route} cannot be batched`)
    try {
      authorize(policy.decide(route, sub.method ?? 'POST'), identity)
    } catch (err) {
      throw new BatchForbidden(i, (err as Error).message)
    }
  })
}
