import { adminTokenText } from './commands/admin-token.js'

// `npm run admin-token [-- --metrics]`, kept for the README and compose
// commands that name this file; `wp-auth-gateway admin-token` does the same.
process.stdout.write(await adminTokenText(process.argv.includes('--metrics')))
