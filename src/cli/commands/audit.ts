import { CliError, type Command } from '../command.js'

// Issue 13 §1 (the audit stream in Redis and GET /_gateway/admin/audit) is
// not built yet: the command exists so its name is fixed, and says so.

export const auditTail: Command = {
  name: 'audit tail',
  summary: 'follow the audit stream (not available yet)',
  usage: '[options]',
  description: `
Would follow the gateway's audit stream (GET /_gateway/admin/audit). That
stream is not built yet: this gateway writes admin actions and decisions to
its JSON log lines only (lines with an "audit" object). Until it exists, this
command fails with exit code 1; read the gateway's log instead.`,
  online: true,
  async run () {
    throw new CliError('audit tail is not available: this gateway has no audit stream yet (GET /_gateway/admin/audit, issue 13 §1, is not built); read the "audit" lines of the gateway\'s JSON log instead')
  }
}
