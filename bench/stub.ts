import { createServer } from 'node:http'

// The fast upstream every proxy row forwards to: a fixed ~1 KB JSON answer.
const body = JSON.stringify({
  id: 1,
  title: { rendered: 'Benchmark post' },
  content: { rendered: 'x'.repeat(900) },
  status: 'publish'
})
const port = Number(process.env.PORT)
createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  })
}).listen(port, '127.0.0.1', () => { process.stdout.write(`listening ${port}\n`) })
