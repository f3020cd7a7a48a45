// Egress overhead: a plain target answering 200 "ok", called directly and through portvakt's egress
// listener (token from a local token endpoint, served from the cache after the first request).
// Usage: npm run build && node bench/egress.mjs  (then wrk against the two printed URLs; see README)
import { createServer } from 'node:http'
import { parseRoutes } from '../dist/config/routes.js'
import { startEgress } from '../dist/egress/start.js'
import { createLogger } from '../dist/observe/log.js'

async function listen (server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${server.address().port}`
}

let tokenHits = 0
const endpoint = createServer((req, res) => {
  tokenHits++
  req.resume()
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({ access_token: 'eyJhbGciOiJub25lIn0.eyJzY29wZSI6ImJlbmNoOmEifQ.', expires_in: 3600, token_type: 'Bearer' }))
})
const target = createServer((req, res) => { req.resume(); res.end('ok') })
const endpointUrl = await listen(endpoint)
const targetUrl = await listen(target)
const table = parseRoutes(`egress:\n  - { name: bench, url: "${targetUrl}/v1", scopes: [bench:a] }\n`, 'bench.yaml')
const egress = await startEgress({
  settings: { tokenEndpoint: `${endpointUrl}/token`, port: 0, timeoutMs: 30_000, refreshIntervalMs: 10_000 },
  proxy: { httpProxy: '', httpsProxy: '', noProxy: '' },
  routes: () => table,
  logger: createLogger('warn')
})
process.stdout.write(`direct ${targetUrl}/v1/x\negress http://127.0.0.1:${egress.port}/bench/x\n`)
process.on('SIGINT', async () => {
  process.stdout.write(`token endpoint hits: ${tokenHits}; ${JSON.stringify(egress.stats())}\n`)
  await egress.close(); endpoint.close(); target.close(); process.exit(0)
})
