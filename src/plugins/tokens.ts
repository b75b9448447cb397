import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { loadKeyring, type Keyring } from '../tokens/keys.js'
import { AccessTokens } from '../tokens/access-token.js'
import { Revocations } from '../tokens/revocation.js'
import { Sessions } from '../tokens/sessions.js'
import { UserChanges } from '../tokens/user-changes.js'

declare module 'fastify' {
  interface FastifyInstance {
    keyring: Keyring
    accessTokens: AccessTokens
    revocations: Revocations
    sessions: Sessions
    userChanges: UserChanges
  }
}

/** Signing keys, access tokens, sessions with their refresh tokens, and revocation. */
async function tokensPlugin (app: FastifyInstance): Promise<void> {
  const { tokens } = app.config
  const keyring = await loadKeyring(app.config)
  const revocations = new Revocations(app.store, app.log)
  await revocations.start()
  app.decorate('keyring', keyring)
  app.decorate('accessTokens', new AccessTokens(keyring, {
    issuer: tokens.issuer,
    audience: tokens.audience,
    ttlSeconds: tokens.accessTokenTtlSeconds,
    clockToleranceSeconds: tokens.clockToleranceSeconds
  }))
  app.decorate('revocations', revocations)
  const sessions = new Sessions(app.store, revocations, {
    refreshTtlSeconds: tokens.refreshTokenTtlSeconds,
    accessTtlSeconds: tokens.accessTokenTtlSeconds,
    clockToleranceSeconds: tokens.clockToleranceSeconds
  }, app.log)
  app.decorate('sessions', sessions)
  app.decorate('userChanges', new UserChanges(sessions, app.log))
  app.addHook('onClose', async () => { await revocations.stop() })
}

export default fp(tokensPlugin, { name: 'tokens', dependencies: ['store'] })
