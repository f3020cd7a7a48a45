import t, { type Test } from 'tap'
import { createServer } from 'node:http'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { startChild } from './helpers/child.js'
import { makeKey } from './helpers/keys.js'
import { eventually, scrape, valueOf } from './helpers/metrics.js'
import { close, listen, startJwksServer } from './helpers/servers.js'
import { TEST_ISSUER, tokenFactory } from './helpers/tokens.js'

const ROUTES = `
routes:
  - path: /download
    scopes: [nav:arbeid:arbeidsforhold.read]
  - path: /public
    public: true
`
const CHUNKS = 20
const CHUNK = 'x'.repeat(16 * 1024)

/** An upstream that streams CHUNKS chunks, one every `everyMs`, once it is told to start. */
async function startStreamingUpstream (t: Test, everyMs: number) {
  const server = createServer((req, res) => {
    if (req.url !== '/download') { res.end('ok'); return }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(CHUNKS * CHUNK.length) })
    let sent = 0
    const timer = setInterval(() => {
      res.write(CHUNK)
      if (++sent === CHUNKS) { clearInterval(timer); res.end() }
    }, everyMs)
    req.on('close', () => { clearInterval(timer) })
  })
  const url = await listen(server)
  t.teardown(async () => { await close(server) })
  return url
}

async function setUp (t: Test, env: Record<string, string>, everyMs = 100) {
  const key = await makeKey()
  const jwks = await startJwksServer([key.jwk])
  t.teardown(async () => { await close(jwks.server) })
  const upstream = await startStreamingUpstream(t, everyMs)
  const dir = t.testdir({ 'routes.yaml': ROUTES })
  const gate = await startChild(t, {
    MASKINPORTEN_ISSUER: TEST_ISSUER,
    MASKINPORTEN_JWKS_URI: `${jwks.url}/jwks`,
    PORTVAKT_ROUTES: join(dir, 'routes.yaml'),
    PORTVAKT_UPSTREAM: upstream,
    ...env
  })
  t.ok(await eventually(async () => (await fetch(`${gate.adminUrl}/isready`)).status === 200), 'ready')
  return { gate, token: await tokenFactory(key)(), routesFile: join(dir, 'routes.yaml') }
}

t.test('SIGTERM: not ready at once, the download in flight completes with its full body, exit 0', async (t) => {
  const { gate, token } = await setUp(t, { PORTVAKT_SHUTDOWN_DELAY: '300ms', PORTVAKT_SHUTDOWN_TIMEOUT: '60s' })
  const response = await request(`${gate.url}/download`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(response.statusCode, 200)
  let bytes = 0
  let signalled = false
  let readyDuringShutdown = 0
  for await (const chunk of response.body) {
    bytes += (chunk as Buffer).length
    if (!signalled) {
      signalled = true
      gate.child.kill('SIGTERM')
      // The signal arrives asynchronously; the first probe after it is handled answers 503.
      if (await eventually(async () => await fetch(`${gate.adminUrl}/isready`).then((r) => r.status === 503, () => false))) readyDuringShutdown = 503
    }
  }
  t.equal(readyDuringShutdown, 503, 'isready answers 503 once shutdown starts')
  t.equal(bytes, CHUNKS * CHUNK.length, 'the whole body arrived')
  t.equal(await gate.exited, 0, 'exit code 0')
  t.ok(gate.logs.some((l) => l.msg === 'shutdown: all requests finished'))
  await t.rejects(fetch(`${gate.url}/public`), 'no longer accepting connections')
})

t.test('SIGTERM: a request still in flight after PORTVAKT_SHUTDOWN_TIMEOUT is cut, and the exit is still 0', async (t) => {
  const { gate, token } = await setUp(t, { PORTVAKT_SHUTDOWN_DELAY: '0s', PORTVAKT_SHUTDOWN_TIMEOUT: '200ms' }, 1_000)
  const response = await request(`${gate.url}/download`, { headers: { authorization: `Bearer ${token}` } })
  gate.child.kill('SIGTERM')
  await t.rejects((async () => { for await (const chunk of response.body) void chunk })(), 'the body is cut short')
  t.equal(await gate.exited, 0)
  t.ok(gate.logs.some((l) => l.msg === 'shutdown: requests still in flight after PORTVAKT_SHUTDOWN_TIMEOUT were cut'))
})

t.test('SIGHUP reloads the route table', async (t) => {
  const { gate, token, routesFile } = await setUp(t, { PORTVAKT_SHUTDOWN_DELAY: '0s' })
  t.equal((await fetch(`${gate.url}/ny`, { headers: { authorization: `Bearer ${token}` } })).status, 404)
  writeFileSync(routesFile, ROUTES + '  - path: /ny\n    public: true\n')
  gate.child.kill('SIGHUP')
  t.ok(await eventually(async () => (valueOf(await scrape(gate.adminUrl), 'portvakt_config_reloads_total', { result: 'ok', trigger: 'SIGHUP' }) ?? 0) >= 1), 'a SIGHUP reload is counted')
  const res = await fetch(`${gate.url}/ny`)
  t.equal(res.status, 200, 'the new public route is forwarded')
  t.equal(await res.text(), 'ok')
  gate.child.kill('SIGINT')
  t.equal(await gate.exited, 0)
})
