#!/usr/bin/env node
import { CliError, help, parse, PROGRAM, type Command } from './command.js'
import { adminToken } from './commands/admin-token.js'
import { apiKeyCommands } from './commands/api-keys.js'
import { auditTail } from './commands/audit.js'
import { clientCommands } from './commands/clients.js'
import { configCheck } from './commands/config.js'
import { keyCommands } from './commands/keys.js'
import { revokeUser, sessionCommands } from './commands/sessions.js'

// `npx wp-auth-gateway <command>` (package.json "bin"): finds the command by
// its one or two words, and turns every failure into one line and an exit code.

const COMMANDS: Command[] = [adminToken, ...keyCommands, ...apiKeyCommands, ...clientCommands, ...sessionCommands, revokeUser, auditTail, configCheck]

function overview (commands: Command[], title: string): string {
  const width = Math.max(...commands.map((c) => c.name.length))
  return `${title}\n\nCommands:\n${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}\n`
}

const PROGRAM_HELP = overview(COMMANDS, `Usage: ${PROGRAM} <command> [options]

The admin command line of wp-auth-gateway. Online commands talk to a running
gateway's admin API: --url (or WPAG_URL, default http://127.0.0.1:8080) and
--token (or WPAG_ADMIN_TOKEN: the admin API token, or an administrator's
access token). They print the gateway's JSON answer, or a table with --table.
Offline commands (admin-token, keys, config check) contact nothing.
Errors are one line on stderr; the exit code is 1, or 2 for a wrong command line.
Run ${PROGRAM} <command> --help for a command's options.`) + '\nThe gateway itself: node dist/server.js (node dist/server.js --help).\n'

async function main (argv: string[]): Promise<void> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(PROGRAM_HELP)
    if (argv.length === 0) process.exitCode = 2
    return
  }
  const command = COMMANDS.find((c) => c.name === argv.slice(0, 2).join(' ')) ?? COMMANDS.find((c) => c.name === argv[0])
  if (command === undefined) {
    const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `))
    if (group.length === 0) throw new CliError(`unknown command '${argv[0]}' (see ${PROGRAM} --help)`, 2)
    const title = `Usage: ${PROGRAM} ${argv[0]} <${group.map((c) => c.name.split(' ')[1]).join('|')}> [options]`
    const asked = argv[1] === undefined || argv[1] === '--help' || argv[1] === '-h'
    if (!asked) throw new CliError(`unknown command '${argv[0]} ${argv[1]}' (see ${PROGRAM} ${argv[0]} --help)`, 2)
    process.stdout.write(overview(group, title))
    if (argv[1] === undefined) process.exitCode = 2
    return
  }
  const args = parse(command, argv.slice(command.name.split(' ').length))
  if (args.help) {
    process.stdout.write(help(command))
    return
  }
  await command.run(args)
}

try {
  await main(process.argv.slice(2))
} catch (err) {
  if (!(err instanceof CliError)) throw err
  process.stderr.write(`${PROGRAM}: ${err.message}\n`)
  process.exitCode = err.exitCode
}
