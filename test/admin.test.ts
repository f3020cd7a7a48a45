import t from 'tap'
import { sendRaw } from './helpers/attack.js'
import { build } from './helpers/build.js'
import { eventually } from './helpers/poll.js'
import { startTrickle } from './helpers/trickle.js'

t.test('isalive answers 200 on the admin port, apart from the proxied path space', async (t) => {
  const h = await build(t)
  const res = await fetch(`${h.adminUrl}/isalive`)
  t.equal(res.status, 200)
  t.equal(res.headers.get('cache-control'), 'no-store')
  // The main port forwards by the route table; /isalive is not a route there.
  const main = await fetch(`${h.url}/isalive`)
  t.equal(main.status, 404)
})

t.test('isready answers 200 once the route table and the keys are in hand', async (t) => {
  const h = await build(t)
  const res = await fetch(`${h.adminUrl}/isready`)
  t.equal(res.status, 200)
  t.same(await res.json(), { status: 'ready' })
})

t.test('with the JWKS down at start: not ready and 503, then ready and 200 once it is up', async (t) => {
  const h = await build(t, { jwksDown: true })
  const token = await h.mint()
  const notReady = await fetch(`${h.adminUrl}/isready`)
  t.equal(notReady.status, 503)
  const body = await notReady.json() as { status: string, reasons: string[] }
  t.equal(body.status, 'not_ready')
  t.match(body.reasons[0], /signing keys have not been fetched yet/)
  const refused = await fetch(`${h.url}/api/v1/arbeidsforhold`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(refused.status, 503)
  t.equal((await refused.json() as { code: string }).code, 'PORTVAKT_ERR_KEYS_UNAVAILABLE')
  // A public route needs no keys and keeps working.
  t.equal((await fetch(`${h.url}/public`)).status, 200)

  h.jwks.down = false
  // The key store retries with back-off (1 s, 2 s, ...); wait for its next attempt.
  t.ok(await eventually(async () => (await fetch(`${h.adminUrl}/isready`)).status === 200), 'ready after the JWKS comes up')
  const allowed = await fetch(`${h.url}/api/v1/arbeidsforhold`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(allowed.status, 200)
  t.ok(h.logs().some((l) => l.msg === 'signing keys could not be fetched' && l.level === 50), 'the failure is logged as an error')
})

t.test('with PORTVAKT_UPSTREAM_READY_PATH, readiness follows the upstream\'s own readiness', async (t) => {
  const down = await build(t, { env: { PORTVAKT_UPSTREAM_READY_PATH: '/status/503' } })
  const res = await fetch(`${down.adminUrl}/isready`)
  t.equal(res.status, 503)
  t.match((await res.json() as { reasons: string[] }).reasons, [/upstream's readiness path answered 503/])
  t.equal(down.upstream.seen.at(-1)?.url, '/status/503', 'the upstream was asked')

  const up = await build(t, { env: { PORTVAKT_UPSTREAM_READY_PATH: '/status/204' } })
  t.equal((await fetch(`${up.adminUrl}/isready`)).status, 200)
})

t.test('readiness fails when the upstream readiness path cannot be reached', async (t) => {
  const h = await build(t, { env: { PORTVAKT_UPSTREAM_READY_PATH: '/ready' } })
  await new Promise<void>((resolve) => { h.upstream.server.closeAllConnections(); h.upstream.server.close(() => { resolve() }) })
  const res = await fetch(`${h.adminUrl}/isready`)
  t.equal(res.status, 503)
  t.match((await res.json() as { reasons: string[] }).reasons, [/^the upstream's readiness path \(PORTVAKT_UPSTREAM_READY_PATH\) could not be reached: 127\.0\.0\.1:\d+ refused the connection \(ECONNREFUSED\): nothing listens there$/], 'the cause by its code, not "fetch failed"')
})

t.test('isready answers 503 from the moment shutdown starts while the main port keeps serving', async (t) => {
  const h = await build(t, { env: { PORTVAKT_SHUTDOWN_DELAY: '60s' } })
  const token = await h.mint()
  const draining = h.gateway.shutdown()
  const res = await fetch(`${h.adminUrl}/isready`)
  t.equal(res.status, 503)
  t.match((await res.json() as { reasons: string[] }).reasons, ['shutting down'])
  const served = await fetch(`${h.url}/api/v1/arbeidsforhold`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(served.status, 200, 'still serving during the shutdown delay')
  t.equal(served.headers.get('connection'), 'close', 'and moving keep-alive clients off this pod')
  t.equal((await fetch(`${h.adminUrl}/isalive`)).status, 200, 'still alive')
  void draining
})

t.test('the admin listener has the gate\'s listener limits: headers timeout, idle timeouts, the connection cap', async (t) => {
  const h = await build(t)
  const admin = h.gateway.admin.server
  const gate = h.gateway.app.server
  t.equal(admin.headersTimeout, gate.headersTimeout, `headers timeout ${admin.headersTimeout} ms`)
  t.equal(admin.keepAliveTimeout, gate.keepAliveTimeout)
  t.equal(admin.timeout, 60_000, 'a silent socket is closed after 60 s')
  t.equal(admin.maxConnections, gate.maxConnections, `capped at ${admin.maxConnections}`)
})

t.test('the admin listener refuses a request body with 413 in our format and closes the connection while it trickles, never drained', async (t) => {
  const h = await build(t)
  for (const head of [
    'POST /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000000\r\n\r\n',
    'POST /isready HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000000\r\n\r\n',
    'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000000\r\n\r\n',
    'GET /isalive HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n'
  ]) {
    const client = startTrickle(h.adminUrl, head, { everyMs: 200, maxBytes: 150, chunked: head.includes('chunked') })
    t.teardown(client.stop)
    const end = await client.ended
    t.equal(end.answer.status, 413, head.split('\r\n')[0] ?? head)
    t.equal(JSON.parse(end.answer.body).code, 'PORTVAKT_ERR_BODY_NOT_ACCEPTED')
    t.equal(end.answer.headers.connection, 'close')
    // The linger (2 s) with slack; the trickle would go on for 30 s.
    t.ok(end.byServer && end.ms < 10_000, `closed by us within the bound (${Math.round(end.ms)} ms)`)
  }
})

t.test('the admin listener answers an unknown path 404 and an unknown Expect 417, in our format', async (t) => {
  const h = await build(t)
  const unknown = await sendRaw(h.adminUrl, 'GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
  t.equal(unknown.status, 404)
  t.equal(JSON.parse(unknown.body).code, 'PORTVAKT_ERR_NOT_FOUND')
  const expect = await sendRaw(h.adminUrl, 'GET /isalive HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: foo\r\nConnection: close\r\n\r\n')
  t.equal(expect.status, 417)
  t.equal(JSON.parse(expect.body).code, 'PORTVAKT_ERR_EXPECTATION_FAILED')
  t.equal((await fetch(`${h.adminUrl}/isalive`)).status, 200, 'probes still answer')
})
