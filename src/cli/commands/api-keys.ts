import { positiveInteger, required, UsageError, type Command } from '../command.js'
import { gateway } from '../gateway.js'
import { print } from '../output.js'

// API keys (README, "API keys"), through /_gateway/admin/api-keys.

const PATH = '/_gateway/admin/api-keys'

const create: Command = {
  name: 'api-keys create',
  summary: 'make a universal API key for a WordPress user (the key is shown once)',
  usage: '--user ID --name NAME [--scope SCOPE]... [--expires-in SECONDS] [options]',
  description: `
Makes a universal API key acting as the WordPress user ID. The answer holds
the key (wpgk_<id>_<secret>) once; the gateway keeps only a keyed hash of it.
Callers send it as Authorization: Bearer wpgk_...; the gateway accepts it when
apikey is in auth.methods. With scopes, the key reaches only routes whose rule
names them.`,
  online: true,
  options: {
    user: { type: 'string', value: 'ID', description: 'the WordPress user the key acts as' },
    name: { type: 'string', value: 'NAME', description: 'what the key is for (1-100 printable characters)' },
    scope: { type: 'string', multiple: true, value: 'SCOPE', description: 'narrow the key to routes naming this scope' },
    'expires-in': { type: 'string', value: 'SECONDS', description: 'lifetime in seconds (default: auth.apiKeys.maxLifetimeSeconds, or none)' }
  },
  async run (args) {
    const body: Record<string, unknown> = {
      user_id: positiveInteger(this.name, '--user', required(this.name, args, 'user')),
      name: required(this.name, args, 'name')
    }
    const scopes = args.values.scope as string[] | undefined
    if (scopes !== undefined) body.scopes = scopes
    const expires = args.values['expires-in'] as string | undefined
    if (expires !== undefined) body.expires_in = positiveInteger(this.name, '--expires-in', expires)
    print(args, await gateway(args).call('POST', PATH, body))
  }
}

const list: Command = {
  name: 'api-keys list',
  summary: 'list API keys, of one user or of everyone',
  usage: '[--user ID] [options]',
  description: `
Lists API keys (never the keys themselves): id, name, user, kind (universal
or personal), scopes, expiry, creation and last use.`,
  online: true,
  options: { user: { type: 'string', value: 'ID', description: 'only this WordPress user\'s keys' } },
  async run (args) {
    const user = args.values.user as string | undefined
    const query = user === undefined ? '' : `?user_id=${positiveInteger(this.name, '--user', user)}`
    print(args, await gateway(args).call('GET', PATH + query))
  }
}

const revoke: Command = {
  name: 'api-keys revoke',
  summary: 'delete an API key: it stops working at once, on every replica',
  usage: 'ID|KEY [options]',
  description: `
Deletes the API key with this id (as listed), or the key given whole
(wpgk_<id>_<secret>: only its id is sent). Unknown ids fail with
GW_ERR_API_KEY_NOT_FOUND.`,
  online: true,
  positionals: [1, 1],
  async run (args) {
    const given = args.positionals[0]!
    const id = /^wpgk_([0-9a-f]{24})_/.exec(given)?.[1] ?? given
    if (!/^[0-9a-f]{24}$/.test(id)) throw new UsageError(`'${given.slice(0, 40)}' is neither a key id (24 hex digits) nor a key`, this.name)
    await gateway(args).call('DELETE', `${PATH}/${id}`)
    print(args, { revoked: id })
  }
}

export const apiKeyCommands = [create, list, revoke]
