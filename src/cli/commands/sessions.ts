import { positiveInteger, required, type Command } from '../command.js'
import { gateway } from '../gateway.js'
import { print } from '../output.js'

// A user's sessions (README, "Admin routes"): one per login, i.e. per refresh-token family.

const list: Command = {
  name: 'sessions list',
  summary: 'list a user\'s sessions',
  usage: '--user ID [options]',
  description: 'Lists the sessions of the WordPress user ID: id, creation, last use, expiry, user agent and address.',
  online: true,
  options: { user: { type: 'string', value: 'ID', description: 'the WordPress user' } },
  async run (args) {
    const user = positiveInteger(this.name, '--user', required(this.name, args, 'user'))
    print(args, await gateway(args).call('GET', `/_gateway/admin/users/${user}/sessions`))
  }
}

const revoke: Command = {
  name: 'sessions revoke',
  summary: 'end one session of a user (its tokens stop working at once)',
  usage: '--user ID [options] -- SESSION_ID',
  description: `
Ends the session SESSION_ID (as listed) of the WordPress user ID: its access
and refresh tokens are refused from now on. The user's other sessions go on;
revoke-user ends them all. A session id may begin with "-": put it after --,
which ends the options.`,
  online: true,
  options: { user: { type: 'string', value: 'ID', description: 'the WordPress user' } },
  positionals: [1, 1],
  async run (args) {
    const user = positiveInteger(this.name, '--user', required(this.name, args, 'user'))
    const sid = args.positionals[0]!
    await gateway(args).call('DELETE', `/_gateway/admin/users/${user}/sessions/${encodeURIComponent(sid)}`)
    print(args, { revoked: sid, user_id: user })
  }
}

export const sessionCommands = [list, revoke]

export const revokeUser: Command = {
  name: 'revoke-user',
  summary: 'log a user out everywhere: every session, token and API key ends now',
  usage: 'USER_ID [options]',
  description: `
Ends every session of the WordPress user USER_ID at once, on every replica:
their access and refresh tokens are refused, and their API keys are deleted
(README, "API keys"). They can log in again.`,
  online: true,
  positionals: [1, 1],
  async run (args) {
    const user = positiveInteger(this.name, 'USER_ID', args.positionals[0]!)
    print(args, await gateway(args).call('POST', `/_gateway/admin/users/${user}/revoke`))
  }
}
