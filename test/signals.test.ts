import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { createServer } from 'node:http'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { freePort, launchPortvakt, ROOT, startServe } from './helpers/cli.js'
import { startDevTokenIssuer, startTarget } from './helpers/egress.js'
import { makeKey } from './helpers/keys.js'
import { scrape, valueOf } from './helpers/metrics.js'
import { eventually } from './helpers/poll.js'
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
  const gate = await startServe(t, {
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
  t.ok(gate.logs().some((l) => l.message === 'shutdown: all requests finished'))
  await t.rejects(fetch(`${gate.url}/public`), 'no longer accepting connections')
})

t.test('SIGTERM: a request still in flight after PORTVAKT_SHUTDOWN_TIMEOUT is cut, and the exit is still 0', async (t) => {
  const { gate, token } = await setUp(t, { PORTVAKT_SHUTDOWN_DELAY: '0s', PORTVAKT_SHUTDOWN_TIMEOUT: '200ms' }, 1_000)
  const response = await request(`${gate.url}/download`, { headers: { authorization: `Bearer ${token}` } })
  gate.child.kill('SIGTERM')
  await t.rejects((async () => { for await (const chunk of response.body) void chunk })(), 'the body is cut short')
  t.equal(await gate.exited, 0)
  t.ok(gate.logs().some((l) => l.message === 'shutdown: requests still in flight after PORTVAKT_SHUTDOWN_TIMEOUT were cut'))
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

// An app that, on SIGTERM, finishes its work by calling an API through portvakt's egress listener.
const APP_CALLING_OUT_ON_TERM = `
const server = require('node:http').createServer((req, res) => { res.end('ok') })
server.listen(Number(process.env.PORT), '127.0.0.1')
process.on('SIGTERM', async () => {
  let outcome
  try {
    const res = await fetch('http://127.0.0.1:' + process.env.PORTVAKT_EGRESS_PORT + '/skatt/during-shutdown')
    await res.arrayBuffer()
    outcome = 'answered ' + res.status
  } catch (err) {
    outcome = 'failed: ' + (err.cause?.code ?? err.message)
  }
  process.stdout.write('app: egress during shutdown ' + outcome + '\\n')
  server.close()
  process.exit(0)
})`

t.test('launcher mode: the app can still call out through egress while it stops; egress closes after it', async (t) => {
  t.setTimeout(120_000)
  const issuer = await startDevTokenIssuer()
  const target = await startTarget({ ...issuer, scope: 'skatt:some.scope' })
  t.teardown(async () => { await issuer.close(); await close(target.server) })
  const dir = t.testdir({ 'routes.yaml': `routes:\n  - { path: /public, public: true }\negress:\n  - { name: skatt, url: "${target.url}/v1", scopes: [skatt:some.scope] }\n` })
  const { run } = await launchPortvakt(t, {
    app: [process.execPath, '-e', APP_CALLING_OUT_ON_TERM],
    env: { PORTVAKT_ROUTES: join(dir, 'routes.yaml'), NAIS_TOKEN_ENDPOINT: issuer.tokenEndpoint, PORTVAKT_EGRESS_PORT: String(await freePort()) }
  })
  await run.waitFor(/"message":"app accepts connections"/)
  run.child.kill('SIGTERM')
  t.equal(await run.exited, 0)
  t.match(run.stdout(), '\napp: egress during shutdown answered 200\n', 'the call went out with a token')
  t.match(target.seen.at(-1), { url: '/v1/during-shutdown', status: 200 })
  const out = run.stdout()
  const appStopped = out.indexOf('"message":"shutdown: the app has stopped"')
  t.ok(appStopped !== -1 && appStopped < out.indexOf('"message":"shutdown: egress listener closed"'), 'egress closed after the app stopped')
  t.notMatch(out, 'runs as PID 1', 'no PID 1 warning when portvakt is not PID 1')
})

/** Whether this machine lets us start a PID namespace (root with unshare, as on CI); else why not. */
function pidNamespaceUnavailable (): string | false {
  const probe = spawnSync('unshare', ['--pid', '--fork', 'true'])
  return probe.status === 0 ? false : 'unshare --pid is not available here, so portvakt cannot be started as PID 1'
}

t.test('as PID 1 in launcher mode it warns once that it cannot reap what the app abandons, and names tini', { skip: pidNamespaceUnavailable() }, async (t) => {
  t.setTimeout(120_000)
  const { run } = await launchPortvakt(t, { portvakt: ['unshare', '--pid', '--fork', '--kill-child', process.execPath, join(ROOT, 'dist', 'cli.js')] })
  await run.waitFor(/"message":"app accepts connections"/)
  const warnings = run.stdout().split('\n').filter((l) => l.includes('runs as PID 1'))
  t.equal(warnings.length, 1, 'one warning')
  t.match(JSON.parse(warnings[0] ?? '{}'), { level: 'WARN', message: /cannot reap processes the app abandons; run it under tini: ENTRYPOINT \["tini", "--", "portvakt", \.\.\.\]/ })
  // unshare forks portvakt; the signal goes to portvakt itself, as Kubernetes sends it to PID 1.
  const unsharePid = run.child.pid as number
  process.kill(Number(readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(' ')[0]), 'SIGTERM')
  t.equal(await run.exited, 0)
})
