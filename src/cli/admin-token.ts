import { randomBytes } from 'node:crypto'
import { hash } from '@node-rs/argon2'
import { ADMIN_TOKEN_PREFIX } from '../admin/guard.js'

// Makes an admin API token and the argon2id hash the config keeps of it
// (admin.apiTokenHash). The token is shown once and stored nowhere.
const token = ADMIN_TOKEN_PREFIX + randomBytes(32).toString('base64url')
const digest = await hash(token) // argon2id is the library's default
process.stdout.write(`admin API token (give it to the operator; it is not stored anywhere):\n  ${token}\n\nconfig/gateway.yaml:\n  admin:\n    apiTokenHash: "${digest}"\n`)
