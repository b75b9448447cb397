import { existsSync } from 'node:fs'
import { CliError, type Command } from '../command.js'

// The config's schema (TypeBox) is loaded only when a file is checked: --help needs none of it.
const DEFAULT_CONFIG_PATH = 'config/gateway.yaml'

export const configCheck: Command = {
  name: 'config check',
  summary: 'validate a config file offline and print every problem',
  usage: '[FILE] [--env]',
  description: `
Validates FILE (default: $GATEWAY_CONFIG, else ${DEFAULT_CONFIG_PATH}, which
the gateway may do without: it then runs on its built-in defaults) as the
gateway would at start-up, and prints every problem at once, one a line, on
stderr; exit code 1 when there is any, 0 when the file is valid. Offline:
nothing is contacted. With --env, the environment is checked too
(WORDPRESS_URL, BRIDGE_SECRET, JWT_SECRET or the key files, REDIS_URL...),
exactly as the server would read it here.`,
  options: { env: { type: 'boolean', description: 'check the environment as well, as the server would' } },
  positionals: [0, 1],
  async run (args) {
    const { checkConfigFile, ConfigError, loadConfig } = await import('../../config/load.js')
    const named = args.positionals[0] ?? process.env.GATEWAY_CONFIG
    const file = named ?? DEFAULT_CONFIG_PATH
    // As the server: without a file named anywhere, a missing default file means the built-in defaults.
    const defaults = named === undefined && !existsSync(file)
    if (defaults) process.stdout.write(`${file} does not exist: the gateway runs on its built-in defaults\n`)
    let problems: string[]
    if (args.values.env === true) {
      try {
        loadConfig({ env: defaults ? process.env : { ...process.env, GATEWAY_CONFIG: file } })
        problems = []
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err
        problems = err.problems
      }
    } else {
      problems = defaults ? [] : checkConfigFile(file)
    }
    if (problems.length === 0) {
      if (!defaults || args.values.env === true) process.stdout.write(`${defaults ? 'the defaults' : file}: valid${args.values.env === true ? ', and so is the environment' : ''}\n`)
      return
    }
    for (const p of problems) process.stderr.write(`wp-auth-gateway: ${p}\n`)
    const where = args.values.env !== true ? file : defaults ? 'the environment' : `${file} and the environment`
    throw new CliError(`${where}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`)
  }
}
