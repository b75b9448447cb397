import { createHmac } from 'node:crypto'

/**
 * HMAC-SHA-256 of a secret under the gateway's hash key, with a purpose
 * label so that one hash can never stand in for another's (an API key's for a
 * client secret's). For random secrets of 256 bits a fast keyed hash is
 * enough: there is nothing to guess, and a leaked store holds no usable value.
 */
export function keyedHash (key: Buffer, purpose: string, value: string): string {
  return createHmac('sha256', key).update(purpose).update('\0').update(value).digest('base64url')
}
