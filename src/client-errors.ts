import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import { restErrorBody } from './errors.js'

// Requests Node's HTTP parser refuses before Fastify sees them (oversized
// headers, malformed request lines, timeouts) still get an answer in the
// WordPress error shape with a stable code (Fastify's defaultClientErrorHandler
// answers in its own shape).

const ANSWERS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'GW_ERR_HEADERS_TOO_LARGE', 'The request headers are too large.'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'GW_ERR_REQUEST_TIMEOUT', 'The request took too long to arrive.']
}
const MALFORMED: [number, string, string] = [400, 'GW_ERR_BAD_REQUEST', 'The request is not valid HTTP.']

export function clientErrorHandler (err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const [status, code, message] = ANSWERS[err.code ?? ''] ?? MALFORMED
  const body = JSON.stringify(restErrorBody(code, message, status))
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy(err)
}
