import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { BodyTooLarge } from '../errors.js'

/**
 * Forwarded bodies stream through untouched, so Fastify's bodyLimit (which
 * guards its own parsers) does not see them. A declared Content-Length over
 * the limit is refused before anything is sent; a chunked body is counted as
 * it streams and cut off the moment it passes the limit.
 */
export function checkDeclaredLength (contentLength: string | undefined, limit: number): void {
  if (contentLength !== undefined && Number(contentLength) > limit) throw new BodyTooLarge()
}

export function limitStream (body: Readable, limit: number): Readable {
  let seen = 0
  const counter = new Transform({
    transform (chunk: Buffer, _encoding, callback: TransformCallback) {
      seen += chunk.length
      if (seen > limit) callback(new BodyTooLarge())
      else callback(null, chunk)
    }
  })
  body.on('error', (err) => counter.destroy(err))
  return body.pipe(counter)
}
