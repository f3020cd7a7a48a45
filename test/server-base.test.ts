/**
 * The server shape both listeners build on (http/server-base.ts), asserted on both: the gate and the
 * egress listener, each on a real socket on port 0, with tight listener limits so a slow head does
 * not take long to outlast. Every answer here is the shared code's, so each case runs against both,
 * with its status, error code, access line and record (metrics on the gate, counters on egress).
 */
import { connect } from 'node:net'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { Agent } from 'undici'
import { KeyStore } from '../src/auth/keys.js'
import { createPolicy } from '../src/auth/policy.js'
import { createTokenVerifier } from '../src/auth/verify.js'
import { parseRoutes } from '../src/config/routes.js'
import { buildEgressServer } from '../src/egress/server.js'
import { TokenClient } from '../src/egress/token-client.js'
import { buildServer } from '../src/gate/server.js'
import { DEFAULT_LIMITS } from '../src/http/limits.js'
import type { RequestRecord } from '../src/observe/metrics.js'
import { createLogger } from '../src/observe/log.js'
import { sendRaw } from './helpers/attack.js'
import { eventually } from './helpers/poll.js'
import { startTrickle } from './helpers/trickle.js'
import { close, startEchoUpstream } from './helpers/servers.js'
import { TEST_ISSUER } from './helpers/tokens.js'

// Tight limits, so a test outlasts them quickly: the head's 408, the linger after a refusal, and a
// rate window that wants 72 bytes every 300 ms.
const TIGHT = { headersTimeoutMs: 300, checkIntervalMs: 50, lingerMs: 300, bodyRateWindowMs: 300, bodyMinBytesPerSecond: 240 }
// "Within a bound": the linger (300 ms) with slack for a loaded two-core machine, and far below the
// 20 s a trickle goes on for, which is how long the connection would stay open without the bound.
const CLOSED_WITHIN_MS = 5_000

/** One listener under test: where it is, what it logged, what it counted, and whether anything went out. */
interface Listener {
  name: 'gate' | 'egress'
  url: string
  app: FastifyInstance
  /** the access line's message: 'access' on the gate, 'egress' on the egress side */
  accessMessage: string
  lines: () => Array<Record<string, unknown>>
  /** how many answers its own bookkeeping has counted with this status */
  counted: (status: number) => number
  /** requests that reached what lies behind it (the upstream, or anything called out) */
  forwarded: () => number
  /** a request line it refuses before reading any body, with the status and code it answers */
  refused: { line: string, status: number, code: string }
  /** a request line whose body it reads */
  allowed: string
}

function memoryLogger (): { logger: ReturnType<typeof createLogger>, lines: () => Array<Record<string, unknown>> } {
  let text = ''
  const logger = createLogger('info', new Writable({ write (chunk: Buffer, _enc, done) { text += chunk.toString(); done() } }))
  return { logger, lines: () => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) }
}

async function listen (t: Test, app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await app.close() })
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
}

/** The gate on a public route in front of a real echo upstream. */
async function startGate (t: Test): Promise<Listener> {
  const upstream = await startEchoUpstream()
  t.teardown(async () => { await close(upstream.server) })
  const { logger, lines } = memoryLogger()
  const records: RequestRecord[] = []
  const keys = new KeyStore({ jwksUri: 'http://127.0.0.1:1/jwks', algorithms: ['RS256'], timeoutMs: 1_000, cooldownMs: 30_000, maxAgeMs: 600_000, staleMaxMs: 86_400_000 })
  const table = parseRoutes('routes:\n  - path: /\n    methods: [GET, POST]\n    public: true\n', 'routes.yaml')
  const app = await buildServer({
    upstream: upstream.url,
    upstreamTimeoutMs: 5_000,
    forwardToken: false,
    routes: () => table,
    verify: createTokenVerifier(createPolicy({ issuer: TEST_ISSUER, algorithms: ['RS256'], clockToleranceSec: 5, maxTokenLifetimeSec: 680 }), keys.getKey),
    logger,
    onRequestDone: (record) => { records.push(record) },
    limits: TIGHT
  })
  return {
    name: 'gate',
    url: await listen(t, app),
    app,
    accessMessage: 'access',
    lines,
    counted: (status) => records.filter((r) => r.status === status).length,
    forwarded: () => upstream.seen.length,
    refused: { line: 'PUT /x HTTP/1.1', status: 405, code: 'PORTVAKT_ERR_METHOD_NOT_ALLOWED' },
    allowed: 'POST /x HTTP/1.1'
  }
}

/** The egress listener with one target; its token endpoint is never reached in these cases. */
async function startEgressListener (t: Test): Promise<Listener> {
  const { logger, lines } = memoryLogger()
  let calls = 0
  const dispatcher = new Agent()
  t.teardown(async () => { await dispatcher.close() })
  const table = parseRoutes('egress:\n  - { name: skatt, url: "https://api.skatteetaten.no", scopes: [skatt:a] }\n', 'routes.yaml')
  const tokens = new TokenClient({ endpoint: 'http://127.0.0.1:1/token', fetch: async () => { calls++; throw new Error('no token endpoint here') }, timeoutMs: 1_000 })
  const server = await buildEgressServer({ targets: () => table.egressByName, tokens, dispatcher, timeoutMs: 5_000, logger, limits: TIGHT })
  return {
    name: 'egress',
    url: await listen(t, server.app),
    app: server.app,
    accessMessage: 'egress',
    lines,
    counted: (status) => server.stats().requests['-']?.[status] ?? 0,
    forwarded: () => calls,
    refused: { line: 'POST /nosuch/x HTTP/1.1', status: 404, code: 'PORTVAKT_ERR_NOT_FOUND' },
    allowed: 'POST /skatt/x HTTP/1.1'
  }
}

for (const start of [startGate, startEgressListener]) {
  t.test(`${start === startGate ? 'gate' : 'egress'}: the shared server shape`, async (t) => {
    const listener = await start(t)
    const { url } = listener
    const accessLines = (code: string): Array<Record<string, unknown>> => listener.lines().filter((l) => l.msg === listener.accessMessage && l.code === code)

    t.test('has the listener limits, the egress side too', async (t) => {
      const server = listener.app.server
      t.equal(server.headersTimeout, TIGHT.headersTimeoutMs)
      t.equal(server.requestTimeout, 0, 'no whole-request deadline')
      t.equal(server.keepAliveTimeout, DEFAULT_LIMITS.keepAliveTimeoutMs)
      t.equal(server.timeout, 60_000, 'a silent socket outlives the upstream or egress timeout')
    })

    t.test('answers a request head over 16 KiB with 431 in our format, logged and counted', async (t) => {
      const answer = await sendRaw(url, `GET /skatt/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
      t.equal(answer.status, 431)
      t.equal(JSON.parse(answer.body).code, 'PORTVAKT_ERR_HEADERS_TOO_LARGE')
      t.equal(answer.headers['content-type'], 'application/json; charset=utf-8')
      t.equal(answer.headers['www-authenticate'], undefined)
      t.match(accessLines('PORTVAKT_ERR_HEADERS_TOO_LARGE'), [{ status: 431 }], 'one access line')
      t.equal(listener.counted(431), 1, 'and counted')
      t.equal(listener.forwarded(), 0, 'nothing went further')
    })

    t.test('answers a head that trickles in slower than the headers timeout (slowloris) with 408', async (t) => {
      const answer = await sendRaw(url, 'GET /skatt/x HTTP/1.1\r\nHost: 127.0.0.1\r\n')
      t.equal(answer.status, 408)
      t.equal(JSON.parse(answer.body).code, 'PORTVAKT_ERR_REQUEST_TIMEOUT')
      t.equal(answer.headers.connection, 'close')
      t.match(accessLines('PORTVAKT_ERR_REQUEST_TIMEOUT'), [{ status: 408 }])
      t.equal(listener.counted(408), 1)
      t.equal(listener.forwarded(), 0)
    })

    t.test('answers what Node\'s parser refuses, and a CONNECT, with 400 in our format', async (t) => {
      const garbled = await sendRaw(url, 'NOT A REQUEST\r\n\r\n')
      t.equal(garbled.status, 400)
      t.equal(JSON.parse(garbled.body).code, 'PORTVAKT_ERR_MALFORMED_REQUEST')
      t.match(accessLines('PORTVAKT_ERR_MALFORMED_REQUEST'), [{ status: 400, method: undefined, path: undefined }], 'logged with no method or path: the parser read none')
      const connect = await sendRaw(url, 'CONNECT user:pw@evil.com:443 HTTP/1.1\r\nHost: evil.com:443\r\n\r\n')
      t.equal(connect.status, 400)
      t.equal(JSON.parse(connect.body).code, 'PORTVAKT_ERR_BAD_PATH')
      t.match(accessLines('PORTVAKT_ERR_BAD_PATH'), [{ method: 'CONNECT', path: 'evil.com:443', status: 400 }], 'the target as host and port only')
      t.equal(listener.counted(400), 2)
      t.equal(listener.forwarded(), 0)
    })

    t.test('answers a malformed percent-encoding the router refuses with 400 PORTVAKT_ERR_BAD_PATH', async (t) => {
      const answer = await sendRaw(url, 'GET /skatt/%zz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
      t.equal(answer.status, 400)
      t.match(JSON.parse(answer.body), { code: 'PORTVAKT_ERR_BAD_PATH', message: /malformed percent-encoding/ })
      t.equal(listener.forwarded(), 0)
    })

    t.test('refuses a missing, repeated or invalid Host with 400 in our format before its road, logged and counted', async (t) => {
      const heads = ['', 'Host: 127.0.0.1\r\nhost: evil.example\r\n', 'Host: user@127.0.0.1\r\n', 'Host: 127.0.0.1:\r\n', 'Host: 127.1\r\n']
      const counted = listener.counted(400)
      for (const head of heads) {
        const answer = await sendRaw(url, `GET /skatt/x HTTP/1.1\r\n${head}Connection: keep-alive\r\n\r\n`)
        t.equal(answer.status, 400, JSON.stringify(head))
        t.match(JSON.parse(answer.body), { code: 'PORTVAKT_ERR_MALFORMED_REQUEST', message: /Host/ })
        t.equal(answer.headers.connection, 'close', 'the connection is closed, whatever the client asked')
        t.equal(answer.headers['www-authenticate'], undefined)
      }
      const lines = listener.lines().filter((l) => l.msg === listener.accessMessage && l.path === '/skatt/x' && l.status === 400)
      t.equal(lines.length, heads.length, 'an access line each')
      t.equal(listener.counted(400) - counted, heads.length, 'and counted')
      t.equal(listener.forwarded(), 0, 'nothing went further')
    })

    t.test('answers a method it never forwards with 405 in our format', async (t) => {
      const answer = await sendRaw(url, 'TRACE /skatt/x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
      t.equal(answer.status, 405)
      t.equal(JSON.parse(answer.body).code, 'PORTVAKT_ERR_METHOD_NOT_ALLOWED')
      t.match(listener.lines().filter((l) => l.msg === listener.accessMessage && l.method === 'TRACE'), [{ status: 405 }], 'one access line')
      t.equal(listener.counted(405), 1)
      t.equal(listener.forwarded(), 0)
    })

    t.test('passes a body through unparsed: a JSON body that is no JSON is not Fastify\'s 400', async (t) => {
      const body = '{not json'
      const answer = await sendRaw(url, `POST /skatt/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
      t.not(answer.status, 400, `${answer.status}: the road decided, not a body parser`)
      t.notMatch(answer.body, /FST_ERR_CTP/)
    })

    t.test('closes a refused request\'s connection while its body still trickles, after the whole refusal, within a bound', async (t) => {
      const before = listener.forwarded()
      const head = `${listener.refused.line}\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n`
      const client = startTrickle(url, head, { everyMs: 100, maxBytes: 200, chunked: true })
      t.teardown(client.stop)
      const end = await client.ended
      t.equal(end.answer.status, listener.refused.status)
      t.equal(JSON.parse(end.answer.body).code, listener.refused.code, 'the whole refusal arrived')
      t.equal(end.answer.headers.connection, 'close', 'and said the connection ends')
      t.ok(end.byServer, 'we closed it')
      t.ok(end.ms < CLOSED_WITHIN_MS, `within the bound (${Math.round(end.ms)} ms), while the client still had ${200 - end.sent} bytes to trickle`)
      t.equal(listener.forwarded() - before, 0, 'nothing went further')
    })

    t.test('keeps the connection of a refused request whose small declared body came with it', async (t) => {
      const before = listener.forwarded()
      const one = `${listener.refused.line}\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello`
      const answer = await sendRaw(url, `${one}${one.replace('Content-Length: 5', 'Connection: close\r\nContent-Length: 5')}`)
      t.equal(answer.raw.split(`HTTP/1.1 ${listener.refused.status} `).length - 1, 2, 'both requests answered on one connection')
      t.equal(listener.forwarded() - before, 0)
    })

    t.test('cuts a refused request whose small declared body never comes, after the linger', async (t) => {
      const before = listener.forwarded()
      const client = startTrickle(url, `${listener.refused.line}\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nab`, { everyMs: 1_000, maxBytes: 0 })
      t.teardown(client.stop)
      const end = await client.ended
      t.equal(end.answer.status, listener.refused.status)
      t.equal(JSON.parse(end.answer.body).code, listener.refused.code)
      t.ok(end.byServer && end.ms < CLOSED_WITHIN_MS, `closed by us within the bound (${Math.round(end.ms)} ms)`)
    })

    t.test('answers a body slower than the minimum rate with 408 and closes the connection; nothing goes further', async (t) => {
      const before = listener.forwarded()
      const client = startTrickle(url, `${listener.allowed}\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n`, { everyMs: 100, maxBytes: 200 })
      t.teardown(client.stop)
      const end = await client.ended
      t.equal(end.answer.status, 408)
      t.match(JSON.parse(end.answer.body), { code: 'PORTVAKT_ERR_REQUEST_TIMEOUT', message: /PORTVAKT_BODY_MIN_RATE/ })
      t.equal(end.answer.headers.connection, 'close')
      t.ok(end.byServer && end.ms < CLOSED_WITHIN_MS, `closed by us within the bound (${Math.round(end.ms)} ms)`)
      t.equal(listener.forwarded() - before, 0, 'a body that never filled the buffer never went further')
      t.match(listener.lines().filter((l) => l.msg === listener.accessMessage && l.status === 408), [{ status: 408 }], 'one access line')
    })

    t.test('answers an Expect other than 100-continue with our 417, logged and counted, and closes the connection while the body trickles', async (t) => {
      const before = listener.forwarded()
      const counted = listener.counted(417)
      const heads = [
        `${listener.allowed}\r\nHost: 127.0.0.1\r\nExpect: foo\r\nContent-Length: 1000000000\r\n\r\n`,
        `${listener.allowed}\r\nHost: 127.0.0.1\r\nExpect: 100-continue, x\r\nTransfer-Encoding: chunked\r\n\r\n`,
        `${listener.refused.line}\r\nHost: 127.0.0.1\r\nExpect: 200-ok\r\nContent-Length: 5\r\n\r\n`
      ]
      for (const head of heads) {
        const client = startTrickle(url, head, { everyMs: 100, maxBytes: 200, chunked: head.includes('chunked') })
        t.teardown(client.stop)
        const end = await client.ended
        t.equal(end.answer.status, 417, head)
        t.equal(JSON.parse(end.answer.body).code, 'PORTVAKT_ERR_EXPECTATION_FAILED', 'in our format, not Node\'s bare 417')
        t.equal(end.answer.headers.connection, 'close')
        t.ok(end.byServer && end.ms < CLOSED_WITHIN_MS, `closed by us within the bound (${Math.round(end.ms)} ms)`)
      }
      t.equal(listener.lines().filter((l) => l.msg === listener.accessMessage && l.status === 417).length, heads.length, 'an access line each')
      t.equal(listener.counted(417) - counted, heads.length, 'and counted')
      t.equal(listener.forwarded() - before, 0, 'nothing went further')
    })

    t.test('does not cut a body above the floor rate whose first bytes come late in the first window', async (t) => {
      const before = listener.forwarded()
      const { hostname, port } = new URL(url)
      const socket = connect(Number(port), hostname)
      t.teardown(() => { socket.destroy() })
      let received = ''
      socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1') })
      socket.on('error', () => {})
      // 72 bytes are due per 300 ms window; this sends 40 every 100 ms (400 B/s), from 250 ms on.
      socket.write(`${listener.allowed}\r\nHost: 127.0.0.1\r\nContent-Length: 480\r\n\r\n`)
      await new Promise((resolve) => setTimeout(resolve, 250))
      for (let i = 0; i < 12; i++) {
        socket.write('x'.repeat(40))
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      t.ok(await eventually(() => /^HTTP\/1\.1 \d{3} /.test(received), 5_000, 10), 'answered')
      t.notMatch(received, /^HTTP\/1\.1 408 /, `not a 408: ${received.split('\r\n')[0] ?? ''}`)
      t.equal(listener.forwarded() - before, 1, 'the whole body went further')
    })

    t.test('sends 100 Continue only once the body is wanted: a refused request is answered without it', async (t) => {
      const before = listener.forwarded()
      const client = startTrickle(url, `${listener.refused.line}\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n`, { everyMs: 1_000, maxBytes: 0 })
      t.teardown(client.stop)
      const end = await client.ended
      t.match(end.answer.raw, new RegExp(`^HTTP/1\\.1 ${listener.refused.status} `), 'the refusal is the first thing sent: no 100 Continue')
      t.equal(end.answer.headers.connection, 'close', 'the body that was never asked for will not come: the connection ends')
      t.ok(end.byServer && end.ms < CLOSED_WITHIN_MS, `closed by us within the bound (${Math.round(end.ms)} ms)`)
      const allowed = startTrickle(url, `${listener.allowed}\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n`, { everyMs: 1_000, maxBytes: 0 })
      t.teardown(allowed.stop)
      t.ok(await eventually(() => allowed.received().startsWith('HTTP/1.1 100 Continue\r\n\r\n'), 5_000, 10), 'a request let through is asked for its body')
      allowed.stop()
    })
  })
}
