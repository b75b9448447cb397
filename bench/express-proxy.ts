import { Agent } from 'node:http'
import express from 'express'
import { expressjwt } from 'express-jwt'
import { createProxyMiddleware } from 'http-proxy-middleware'

// What people build by hand: Express, express-jwt and http-proxy-middleware,
// verifying the same HS256 tokens and forwarding to the same upstream.
const app = express()
app.use(expressjwt({ secret: process.env.JWT_SECRET!, algorithms: ['HS256'], audience: 'wordpress', issuer: 'wp-auth-gateway' }))
app.use((err: Error & { status?: number }, _req: express.Request, res: express.Response, next: express.NextFunction) => {
  if (err.name === 'UnauthorizedError') res.status(401).json({ code: 'unauthorized' })
  else next(err)
})
// Kept-alive upstream connections, as the gateway has: a fair comparison.
app.use(createProxyMiddleware({ target: process.env.UPSTREAM!, changeOrigin: false, agent: new Agent({ keepAlive: true, maxSockets: 64 }) }))
app.listen(Number(process.env.PORT), '127.0.0.1', () => { process.stdout.write(`listening ${process.env.PORT}\n`) })
