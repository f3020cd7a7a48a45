import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { connect } from 'node:net'
import { createServer } from 'node:http'
import { Readable, Writable } from 'node:stream'
import { promisify } from 'node:util'
import { request } from 'undici'
import { KeyStore } from '../src/auth/keys.js'
import { createPolicy } from '../src/auth/policy.js'
import { createTokenVerifier } from '../src/auth/verify.js'
import { parseRoutes } from '../src/config/routes.js'
import { DEFAULT_LIMITS, deriveLimits } from '../src/http/limits.js'
import { createLogger } from '../src/observe/log.js'
import { buildServer } from '../src/gate/server.js'
import { build } from './helpers/build.js'
import { scrape, valueOf } from './helpers/metrics.js'
import { close, listen, startEchoUpstream } from './helpers/servers.js'
import { TEST_ISSUER } from './helpers/tokens.js'

const run = promisify(execFile)

/** A gate on a public route with tight limits, so a test can outlast them without waiting long. */
async function buildTight (t: Test, upstream: string) {
  const keys = new KeyStore({ jwksUri: 'http://127.0.0.1:1/jwks', algorithms: ['RS256'], timeoutMs: 1_000, cooldownMs: 30_000, maxAgeMs: 600_000, staleMaxMs: 86_400_000 })
  const table = parseRoutes('routes:\n  - path: /\n    public: true\n', 'routes.yaml')
  const app = await buildServer({
    upstream,
    upstreamTimeoutMs: 5_000,
    forwardToken: false,
    routes: () => table,
    verify: createTokenVerifier(createPolicy({ issuer: TEST_ISSUER, algorithms: ['RS256'], clockToleranceSec: 5, maxTokenLifetimeSec: 680 }), keys.getKey),
    logger: createLogger('silent', new Writable({ write (_c, _e, done) { done() } })),
    limits: { headersTimeoutMs: 300, checkIntervalMs: 50 }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await app.close() })
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
}

/** Write `text` on a raw socket to `base` and return all it answers until it closes. */
async function sendRaw (base: string, text: string): Promise<string> {
  const url = new URL(base)
  const socket = connect(Number(url.port), url.hostname)
  socket.write(text)
  let answer = ''
  socket.on('data', (chunk: Buffer) => { answer += chunk.toString() })
  await new Promise((resolve) => socket.on('close', resolve))
  return answer
}

t.test('the listener limits are the documented ones', async (t) => {
  const h = await build(t)
  const server = h.gateway.app.server
  t.equal(server.requestTimeout, 0, 'no whole-request deadline')
  t.equal(server.headersTimeout, DEFAULT_LIMITS.headersTimeoutMs)
  t.equal(server.keepAliveTimeout, 75_000, 'outlives the ingress keep-alive (60 s)')
  t.equal(server.timeout, 60_000, 'a silent socket outlives the upstream timeout')
  t.equal(server.maxConnections, 1024, 'open connections are capped (PORTVAKT_MAX_CONNECTIONS)')
  t.equal(deriveLimits(120_000).idleSocketTimeoutMs, 130_000)
})

t.test('request headers over 16 KiB are answered 431 with our error code (curl)', async (t) => {
  const h = await build(t)
  const { stdout } = await run('curl', ['-s', '-w', '\n%{http_code}', '-H', `x-big: ${'a'.repeat(20_000)}`, `${h.url}/public`])
  const [body, status] = stdout.split('\n')
  t.equal(status, '431')
  t.equal((JSON.parse(body ?? '{}') as { code: string }).code, 'PORTVAKT_ERR_HEADERS_TOO_LARGE')
  t.equal(h.upstream.seen.length, 0, 'nothing was forwarded')
})

t.test('a request of more than 1000 header fields is answered 431, not forwarded with the fields past the 1000th dropped', async (t) => {
  // Node's parser refuses a head of more than 1000 fields (HPE_HEADER_OVERFLOW). Keeping the first
  // 1000 and dropping the rest, as older Nodes did, would forward a request other than the one
  // checked: here the Content-Length would be gone from the headers the upstream gets.
  const h = await build(t)
  const fields = Array.from({ length: 1000 }, (_, i) => `X-F${i}: v`)
  const answer = await sendRaw(h.url, ['POST /public HTTP/1.1', 'Host: x', ...fields, 'Content-Length: 5', 'Connection: close'].join('\r\n') + '\r\n\r\nhello')
  t.match(answer, /^HTTP\/1\.1 431 /)
  t.match(answer, /"code":"PORTVAKT_ERR_HEADERS_TOO_LARGE"/)
  t.equal(h.upstream.seen.length, 0, 'nothing was forwarded')
})

t.test('headers that trickle in slower than the headers timeout get 408', async (t) => {
  const upstream = await startEchoUpstream()
  t.teardown(async () => { await close(upstream.server) })
  const answer = await sendRaw(await buildTight(t, upstream.url), 'GET /x HTTP/1.1\r\nHost: x\r\n')
  t.match(answer, /^HTTP\/1\.1 408 /)
  t.match(answer, /"code":"PORTVAKT_ERR_REQUEST_TIMEOUT"/)
  t.equal(upstream.seen.length, 0)
})

t.test('an unparsable request is answered 400 with our error code, no Bearer challenge, and never forwarded', async (t) => {
  const h = await build(t)
  const answer = await sendRaw(h.url, 'NOT A REQUEST\r\n\r\n')
  t.match(answer, /^HTTP\/1\.1 400 /)
  t.match(answer, /"code":"PORTVAKT_ERR_MALFORMED_REQUEST"/)
  t.notMatch(answer, /www-authenticate/i, 'not a credential problem (RFC 6750)')
  t.equal(h.upstream.seen.length, 0)
  const line = h.logs().find((l) => l.msg === 'access' && l.code === 'PORTVAKT_ERR_MALFORMED_REQUEST')
  t.match(line, { status: 400, outcome: 'bad_request' }, 'it has an access line, as every refusal does')
  t.equal(line?.path, undefined, 'with no path: the parser never read one')
  t.equal(line?.ms, undefined, 'and no duration: when the request began is not known')
  const metrics = await scrape(h.adminUrl)
  t.equal(valueOf(metrics, 'portvakt_requests_total', { route: 'none', method: 'OTHER', status_class: '4xx', outcome: 'bad_request' }), 1, 'and is counted')
})

t.test('a slow streamed upload that outlasts the headers timeout arrives whole', async (t) => {
  const upstream = await startEchoUpstream()
  t.teardown(async () => { await close(upstream.server) })
  const url = await buildTight(t, upstream.url)
  const chunks = 12
  async function * trickle (): AsyncGenerator<Buffer> {
    for (let i = 0; i < chunks; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      yield Buffer.alloc(8192, i)
    }
  }
  const res = await request(`${url}/upload`, { method: 'POST', body: Readable.from(trickle()), headers: { 'content-type': 'application/octet-stream' } })
  t.equal(res.statusCode, 200)
  const seen = await res.body.json() as { bodyBytes: number }
  t.equal(seen.bodyBytes, chunks * 8192)
})

t.test('a slow streamed download that outlasts the headers timeout arrives whole', async (t) => {
  const size = 16 * 1024
  const chunks = 12
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    let sent = 0
    const timer = setInterval(() => {
      res.write(Buffer.alloc(size, sent))
      if (++sent === chunks) { clearInterval(timer); res.end() }
    }, 100)
  })
  const upstream = await listen(server)
  t.teardown(async () => { await close(server) })
  const url = await buildTight(t, upstream)
  const res = await request(`${url}/download`)
  t.equal(res.statusCode, 200)
  t.equal((await res.body.arrayBuffer()).byteLength, size * chunks)
})
