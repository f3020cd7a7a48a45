// The bench upstream: ~100-byte JSON answers, plus 1 GiB streaming endpoints for the RSS test.
// Run as its own process so its CPU is not counted against the proxies. argv: port.
import { createServer } from 'node:http'
import { pumpBytes } from '../lib/pump.mjs'

const BODY = Buffer.from(JSON.stringify({ ok: true, service: 'bench-upstream', pad: 'x'.repeat(54) }))
const CHUNK = Buffer.alloc(64 * 1024, 97)

function sendBytes (res, total) {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) })
  pumpBytes(res, total, CHUNK)
}

const server = createServer((req, res) => {
  const bytes = /^\/api\/bytes\/(\d+)/.exec(req.url)?.[1]
  if (bytes !== undefined) return sendBytes(res, Number(bytes))
  let received = 0
  req.on('data', (chunk) => { received += chunk.length })
  req.on('end', () => {
    if (req.url.startsWith('/api/upload')) {
      res.writeHead(200, { 'content-type': 'application/json' })
      return res.end(JSON.stringify({ received }))
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(BODY.length) })
    res.end(BODY)
  })
})
server.keepAliveTimeout = 60_000
server.listen(Number(process.argv[2]), '127.0.0.1')
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)) })
