import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { verify as argon2Verify } from '@node-rs/argon2'
import { Forbidden, TokenMissing } from '../errors.js'
import { readCredentials } from '../pipeline/authenticate/credentials.js'

export const ADMIN_TOKEN_PREFIX = 'wpag_admin_'

declare module 'fastify' {
  interface FastifyRequest {
    adminActor: string | null
  }
}

/**
 * Who may use /_gateway/admin/: a WordPress administrator with a gateway
 * token, or the holder of the admin API token whose argon2id hash is in the
 * config (the token itself is never stored).
 */
export function adminGuard (app: FastifyInstance) {
  const hash = app.config.admin.apiTokenHash
  // argon2 is slow on purpose; a token once verified is remembered by its SHA-256.
  const verified = new Set<string>()

  return async function guard (request: FastifyRequest): Promise<void> {
    const header = app.authentication.header
    const credentials = readCredentials(request.raw, header, header !== 'authorization')
    if (credentials?.scheme === 'bearer' && credentials.value.startsWith(ADMIN_TOKEN_PREFIX)) {
      const digest = createHash('sha256').update(credentials.value).digest('base64url')
      if (hash === undefined) throw new Forbidden()
      if (!verified.has(digest)) {
        if (!await argon2Verify(hash, credentials.value).catch(() => false)) throw new Forbidden()
        verified.add(digest)
      }
      request.adminActor = 'admin-api-token'
      return
    }
    const identity = await app.authentication.authenticate(request)
    if (identity === null) throw new TokenMissing()
    if (!identity.roles.includes('administrator')) throw new Forbidden()
    request.adminActor = `user:${identity.userId}`
  }
}
