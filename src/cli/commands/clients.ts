import { positiveInteger, required, UsageError, type Command } from '../command.js'
import { gateway } from '../gateway.js'
import { print } from '../output.js'

// OAuth 2.0 clients (README, "OAuth 2.0 clients"), through /_gateway/admin/clients.
// src/oauth/record.ts (TypeBox) is imported only where it is needed: it is
// most of a command's start-up time, and --help or list need none of it.

const PATH = '/_gateway/admin/clients'

async function clientId (command: string, given: string): Promise<string> {
  const { CLIENT_ID } = await import('../../oauth/record.js')
  if (!CLIENT_ID.test(given)) throw new UsageError(`'${given.slice(0, 40)}' is not a client id (wpgc_ and 24 hex digits)`, command)
  return given
}

const create: Command = {
  name: 'clients create',
  summary: 'register an OAuth client bound to a service user (the secret is shown once)',
  usage: '--name NAME --user ID --grant GRANT... [--scope SCOPE]... [options]',
  description: `
Registers an OAuth 2.0 client acting as the WordPress service user ID. The
answer holds client_id and client_secret; the secret is shown once. GRANT is
password, client_credentials or refresh_token (refresh_token needs password).`,
  online: true,
  options: {
    name: { type: 'string', value: 'NAME', description: 'the client\'s name (1-100 characters)' },
    user: { type: 'string', value: 'ID', description: 'the WordPress service user it acts as' },
    grant: { type: 'string', multiple: true, value: 'GRANT', description: 'a grant type it may use (at least one)' },
    scope: { type: 'string', multiple: true, value: 'SCOPE', description: 'a scope it may ask for' }
  },
  async run (args) {
    const { GRANT_TYPES } = await import('../../oauth/record.js')
    const grants = (args.values.grant as string[] | undefined) ?? []
    if (grants.length === 0) throw new UsageError('--grant is required', this.name)
    const unknown = grants.find((g) => !(GRANT_TYPES as readonly string[]).includes(g))
    if (unknown !== undefined) throw new UsageError(`--grant '${unknown}' is not one of ${GRANT_TYPES.join(', ')}`, this.name)
    const body = {
      name: required(this.name, args, 'name'),
      user_id: positiveInteger(this.name, '--user', required(this.name, args, 'user')),
      grant_types: grants,
      scopes: (args.values.scope as string[] | undefined) ?? []
    }
    print(args, await gateway(args).call('POST', PATH, body))
  }
}

const list: Command = {
  name: 'clients list',
  summary: 'list the OAuth clients (never their secrets)',
  usage: '[options]',
  description: 'Lists the OAuth clients: client_id, name, service user, grant types, scopes, creation.',
  online: true,
  async run (args) {
    print(args, await gateway(args).call('GET', PATH))
  }
}

const rotate: Command = {
  name: 'clients rotate',
  summary: 'give a client a new secret (the old one works for a grace period)',
  usage: 'CLIENT_ID [options]',
  description: `
Makes a new client_secret and shows it once. The previous secret keeps
working until previous_secret_expires_at (oauth.secretRotationGraceSeconds,
default one day; 0 ends it at once), so the client can be updated without a
gap.`,
  online: true,
  positionals: [1, 1],
  async run (args) {
    const id = await clientId(this.name, args.positionals[0]!)
    print(args, await gateway(args).call('POST', `${PATH}/${id}/secret`))
  }
}

const remove: Command = {
  name: 'clients delete',
  summary: 'delete a client: every token it was issued stops working at once',
  usage: 'CLIENT_ID [options]',
  description: 'Deletes the OAuth client. Its tokens and refresh tokens stop working at once, on every replica.',
  online: true,
  positionals: [1, 1],
  async run (args) {
    const id = await clientId(this.name, args.positionals[0]!)
    await gateway(args).call('DELETE', `${PATH}/${id}`)
    print(args, { deleted: id })
  }
}

export const clientCommands = [create, list, rotate, remove]
