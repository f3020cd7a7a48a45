// The floor for a Node proxy: node:http + the same undici pool dispatch portvakt forwards with, and
// nothing else (no framework, no auth, no access line, no header hygiene beyond hop-by-hop). No Node
// proxy of this design can cost less per request, so it says which of the aims are within
// Node's reach on this machine and which are not. Not a usable proxy. argv: port, upstream URL.
import { createServer } from 'node:http'
import { Pool } from 'undici'

const upstream = new URL(process.argv[3])
const pool = new Pool(upstream.origin, { connections: 128, pipelining: 1, keepAliveTimeout: 4_000 })

const server = createServer((req, res) => {
  const headers = {}
  for (const name in req.headers) if (name !== 'connection' && name !== 'keep-alive') headers[name] = req.headers[name]
  headers.host = upstream.host
  pool.dispatch({ method: req.method, path: req.url, headers, body: null }, {
    onRequestStart () {},
    onResponseStart (_controller, status, upstreamHeaders) {
      delete upstreamHeaders.connection
      delete upstreamHeaders['keep-alive']
      res.writeHead(status, upstreamHeaders)
    },
    onResponseData (_controller, chunk) { res.write(chunk) },
    onResponseEnd () { res.end() },
    onResponseError () {
      if (!res.headersSent) res.statusCode = 502
      res.end()
    }
  })
})
server.keepAliveTimeout = 60_000
server.listen(Number(process.argv[2]), '127.0.0.1')
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => { pool.close().then(() => process.exit(0)) }) })
