import { createServer, request } from 'node:http'

// The fast upstream every proxy row forwards to: a fixed ~1 KB JSON answer.
// With BRIDGE_UPSTREAM set, the bridge's routes (/wp-json/gateway-bridge/…)
// go on to that real WordPress instead, so the rows that need WordPress to
// check a password (Basic) or read a user (API keys) get its real answers
// while every other request costs the upstream next to nothing.
const body = JSON.stringify({
  id: 1,
  title: { rendered: 'Benchmark post' },
  content: { rendered: 'x'.repeat(900) },
  status: 'publish'
})
const port = Number(process.env.PORT)
const bridge = process.env.BRIDGE_UPSTREAM === undefined ? null : new URL(process.env.BRIDGE_UPSTREAM)
createServer((req, res) => {
  if (bridge !== null && req.url?.includes('/gateway-bridge/') === true) {
    const out = request({ host: bridge.hostname, port: bridge.port, method: req.method, path: req.url, headers: { ...req.headers, host: bridge.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    out.on('error', () => { res.writeHead(502).end() })
    req.pipe(out)
    return
  }
  req.resume()
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  })
}).listen(port, '127.0.0.1', () => { process.stdout.write(`listening ${port}\n`) })
