// Keyspace soak (npm run soak): two gateway replicas on one Redis under a
// steady mix of logins, refreshes, reuses, revocations and logouts for a
// while (SOAK_SECONDS, default 600), with refresh tokens living 300 s; Redis's
// key count is sampled every 30 s. Under steady load it must flatten once
// the first sessions expire, never grow without bound.
//
// Run through scripts/soak.sh, which makes the WordPress and Redis it needs.

import { Redis } from 'ioredis'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config/load.js'

const seconds = Number(process.env.SOAK_SECONDS ?? 600)
const env = { ...process.env, PORT: '0', HOST: '127.0.0.1', JWT_SECRET: 'soak-jwt-secret-0123456789abcdefghijklmnopq' }
const config = loadConfig({ env, file: { server: { logLevel: 'warn' }, tokens: { refreshTokenTtlSeconds: 300, accessTokenTtlSeconds: 60 } } })
const apps = [await buildApp(config, { logger: false }), await buildApp(config, { logger: false })]
const redis = new Redis(process.env.REDIS_URL!)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const users = ['admin', 'editor', 'author', 'contributor', 'subscriber']

const started = Date.now()
const samples: Array<{ at: number, keys: number, list: number, ops: number }> = []
let ops = 0
const sample = async () => samples.push({ at: Math.round((Date.now() - started) / 1000), keys: await redis.dbsize(), list: await redis.hlen('wpag:{rev}:list'), ops })

async function worker (n: number): Promise<void> {
  while (Date.now() - started < seconds * 1000) {
    const app = apps[n % 2]!
    const user = users[(ops + n) % users.length]!
    const login = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username: user, password: `${user}-password-123` } })
    ops++
    if (login.statusCode !== 200) throw new Error(`login failed: ${login.statusCode} ${login.body}`)
    let pair = login.json()
    for (let i = 0; i < 3; i++) {
      const next = await apps[(n + i) % 2]!.inject({ method: 'POST', url: '/wp-json/api/v1/token/refresh', payload: { refresh_token: pair.refresh_token } })
      ops++
      if (next.statusCode === 200) pair = next.json()
    }
    switch (ops % 4) {
      case 0: await app.inject({ method: 'POST', url: '/wp-json/api/v1/token/revoke', payload: { token: pair.access_token } }); break
      case 1: await app.inject({ method: 'POST', url: '/wp-json/api/v1/token/refresh', payload: { refresh_token: login.json().refresh_token } }); break // reuse
      case 2: await app.inject({ method: 'POST', url: '/wp-json/api/v1/token/revoke', headers: { authorization: `Bearer ${pair.access_token}` } }); break
      default: break // left to expire
    }
    ops++
    await sleep(200)
  }
}

await sample()
const timer = setInterval(() => { void sample() }, 30_000)
await Promise.all([worker(0), worker(1), worker(2), worker(3)])
clearInterval(timer)
await sample()
process.stdout.write(`| seconds | keys in Redis | revocation entries | operations so far |\n| ---: | ---: | ---: | ---: |\n${samples.map((s) => `| ${s.at} | ${s.keys} | ${s.list} | ${s.ops} |`).join('\n')}\n`)
redis.disconnect()
for (const app of apps) await app.close()
