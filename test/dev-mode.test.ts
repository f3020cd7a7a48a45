import t from 'tap'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { loadSettings } from '../src/config/env.js'
import { ConfigError } from '../src/config/errors.js'
import { formatBanner, READY_LINE } from '../src/dev/banner.js'
import { loadDevConfig } from '../src/dev/dev-config.js'
import { loadDevKey } from '../src/dev/dev-key.js'
import { startDevIssuer } from '../src/dev/issuer.js'
import { startDev, type DevRun } from '../src/dev/start-dev.js'
import { createLogger } from '../src/observe/log.js'
import { build } from './helpers/build.js'
import { freePort } from './helpers/cli.js'
import { pollUntil } from './helpers/poll.js'

const ROUTES = `
routes:
  - path: /api/v1/arbeidsforhold
    methods: [GET]
    scopes: [nav:arbeid:arbeidsforhold.read]
  - path: /api/v1/arbeidsforhold
    methods: [POST]
    scopes: [nav:arbeid:arbeidsforhold.write]
`

async function getToken (tokenEndpoint: string, body: Record<string, unknown>): Promise<string> {
  const res = await fetch(tokenEndpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity_provider: 'maskinporten', ...body }) })
  return (await res.json() as { access_token: string }).access_token
}

function quietLogger (): { logger: ReturnType<typeof createLogger>, text: () => string } {
  let text = ''
  const sink = new Writable({ write (chunk: Buffer, _enc, done) { text += chunk.toString(); done() } })
  return { logger: createLogger('info', sink), text: () => text }
}

t.test('dev refuses to start when NAIS_CLUSTER_NAME is set', async (t) => {
  t.throws(() => loadDevConfig({ NAIS_CLUSTER_NAME: 'prod-gcp' }), ConfigError)
  t.throws(() => loadDevConfig({ NAIS_CLUSTER_NAME: 'dev-gcp' }), { message: /NAIS_CLUSTER_NAME is set \(dev-gcp\)/ })
})

t.test('serve never falls back to the dev issuer: without MASKINPORTEN_* it refuses to start', async (t) => {
  t.throws(() => loadSettings({ PORTVAKT_DEV_ISSUER_PORT: '8090' }), { message: /set MASKINPORTEN_ISSUER and MASKINPORTEN_JWKS_URI, or MASKINPORTEN_WELL_KNOWN_URL/ })
})

t.test('dev config: defaults, the demo upstream only without PORTVAKT_UPSTREAM, and no production issuer', async (t) => {
  const defaults = loadDevConfig({ NAIS_CLUSTER_NAME: '' })
  t.equal(defaults.issuerPort, 8090)
  t.equal(defaults.demoPort, 8081)
  t.equal(defaults.dir, '.portvakt')
  t.equal(defaults.gatewayEnv.PORTVAKT_HOST, '127.0.0.1', 'dev listens on loopback unless told otherwise')
  const own = loadDevConfig({ PORTVAKT_UPSTREAM: 'http://127.0.0.1:3000', MASKINPORTEN_ISSUER: 'https://maskinporten.no/', MASKINPORTEN_WELL_KNOWN_URL: 'https://maskinporten.no/.well-known/oauth-authorization-server' })
  t.equal(own.demoPort, undefined)
  t.equal(own.gatewayEnv.MASKINPORTEN_ISSUER, undefined)
  t.equal(own.gatewayEnv.MASKINPORTEN_WELL_KNOWN_URL, undefined)
  t.throws(() => loadDevConfig({ PORTVAKT_DEV_ISSUER_PORT: 'x', PORTVAKT_DEV_UPSTREAM_PORT: '70000' }), { message: /PORTVAKT_DEV_ISSUER_PORT[\s\S]*PORTVAKT_DEV_UPSTREAM_PORT/ })
})

t.test('a token from the dev issuer passes the gate, and a short one is refused with 403', async (t) => {
  const key = await loadDevKey(t.testdir())
  const issuer = await startDevIssuer({ host: '127.0.0.1', port: 0, key })
  t.teardown(issuer.close)
  const h = await build(t, { env: { MASKINPORTEN_ISSUER: issuer.issuer, MASKINPORTEN_JWKS_URI: issuer.jwksUri } })
  const read = await getToken(issuer.tokenEndpoint, { target: 'nav:arbeid:arbeidsforhold.read' })
  const ok = await fetch(`${h.url}/api/v1/arbeidsforhold/1`, { headers: { authorization: `Bearer ${read}` } })
  t.equal(ok.status, 200)
  const seen = await ok.json() as { headers: Record<string, string> }
  t.equal(seen.headers['x-maskinporten-consumer'], '123456789')
  t.equal(seen.headers['x-maskinporten-scope'], 'nav:arbeid:arbeidsforhold.read')
  const write = await fetch(`${h.url}/api/v1/arbeidsforhold/1`, { method: 'POST', headers: { authorization: `Bearer ${read}` } })
  t.equal(write.status, 403)
  t.match(await write.json(), { code: 'PORTVAKT_ERR_INSUFFICIENT_SCOPE' })
  const rapport = await getToken(issuer.tokenEndpoint, { target: 'nav:arbeid:rapport.read', resource: 'https://rapport.api.nav.no' })
  const audienced = await fetch(`${h.url}/api/v1/rapport`, { headers: { authorization: `Bearer ${rapport}` } })
  t.equal(audienced.status, 200, 'resource → aud satisfies a route audience')
})

t.test('startDev runs issuer, demo upstream and gate together, and follows edits to the route file', async (t) => {
  const dir = t.testdir({ 'routes.yaml': ROUTES })
  const routesFile = join(dir, 'routes.yaml')
  const { logger, text } = quietLogger()
  const run: DevRun = await startDev({
    issuerPort: 0,
    altinnPort: 0,
    grantsFile: 'config/altinn-grants.yaml',
    demoPort: 0,
    dir: join(dir, '.portvakt'),
    logLevel: 'info',
    gatewayEnv: { PORTVAKT_ROUTES: routesFile, PORTVAKT_PORT: '0', PORTVAKT_ADMIN_PORT: '0', PORTVAKT_HOST: '127.0.0.1' }
  }, logger)
  t.teardown(run.close)
  const proxy = `http://127.0.0.1:${run.gateway.port}`
  const banner = formatBanner(run)
  t.match(banner, new RegExp(`^${READY_LINE}\\n`))
  t.match(banner, `proxy     ${proxy}`)
  t.match(banner, `PORTVAKT_DEV_ISSUER_PORT=${run.issuer.port} npx portvakt token --scope nav:arbeid:arbeidsforhold.read)" ${proxy}/api/v1/arbeidsforhold`)
  t.match(banner, '(new)')

  const token = await getToken(run.issuer.tokenEndpoint, { target: 'nav:arbeid:arbeidsforhold.read' })
  const res = await fetch(`${proxy}/api/v1/arbeidsforhold/42?page=2`, { headers: { authorization: `Bearer ${token}`, 'x-maskinporten-consumer': '999999999' } })
  t.equal(res.status, 200)
  const echo = await res.json() as Record<string, unknown>
  t.match(echo, {
    method: 'GET',
    path: '/api/v1/arbeidsforhold/42',
    query: { page: '2' },
    identity: { 'x-maskinporten-consumer': '123456789', 'x-maskinporten-scope': 'nav:arbeid:arbeidsforhold.read' },
    authorization: 'forwarded'
  }, 'the demo upstream shows what the app gets, forged identity headers gone')
  t.notMatch(JSON.stringify(echo), token, 'the demo never echoes the token')
  t.notMatch(text(), token, 'no token in any log line')
  t.match(text(), /"msg":"dev token issued"/)

  // Edit the YAML: the read token now needs another scope. Wait for the watcher, however slow the machine.
  writeFileSync(routesFile, ROUTES.replace('arbeidsforhold.read]', 'arbeidsforhold.admin]'))
  const status = await pollUntil(async () => (await fetch(`${proxy}/api/v1/arbeidsforhold/42`, { headers: { authorization: `Bearer ${token}` } })).status, (s) => s !== 200, { limitMs: 10_000 })
  t.equal(status, 403, 'the next request after the edit sees the new table')
})

t.test('startDev names the variable to change when a port is taken, and closes what it started', async (t) => {
  const blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { blocker.close() })
  const taken = (blocker.address() as { port: number }).port
  const dir = t.testdir({ 'routes.yaml': ROUTES })
  const base = { issuerPort: 0, altinnPort: 0, grantsFile: 'config/altinn-grants.yaml', demoPort: 0, dir: join(dir, '.portvakt'), logLevel: 'silent', gatewayEnv: { PORTVAKT_ROUTES: join(dir, 'routes.yaml'), PORTVAKT_PORT: '0', PORTVAKT_ADMIN_PORT: '0' } }
  const { logger } = quietLogger()
  const inUse = (variable: string, host = '127.0.0.1'): { name: string, problems: string[] } => ({ name: 'ConfigError', problems: [`${variable}: port ${taken} on ${host} is already in use by another process; stop what holds it or set ${variable} to a free port`] })
  await t.rejects(startDev({ ...base, issuerPort: taken }, logger), inUse('PORTVAKT_DEV_ISSUER_PORT'))
  await t.rejects(startDev({ ...base, demoPort: taken }, logger), inUse('PORTVAKT_DEV_UPSTREAM_PORT'))
  await t.rejects(startDev({ ...base, altinnPort: taken }, logger), inUse('PORTVAKT_DEV_ALTINN_PORT'))
  // A fixed issuer port, so the next start shows whether the failed one let go of it.
  const issuerPort = await freePort()
  await t.rejects(startDev({ ...base, issuerPort, gatewayEnv: { ...base.gatewayEnv, PORTVAKT_PORT: String(taken) } }, logger), inUse('PORTVAKT_PORT', '0.0.0.0'), 'the gate, on the PORTVAKT_HOST this config leaves at its default')
  await t.rejects(startDev({ ...base, issuerPort, gatewayEnv: { ...base.gatewayEnv, PORTVAKT_ROUTES: join(dir, 'missing.yaml') } }, logger), { message: /cannot read the route table/ }, 'the issuer port was released')
})

t.test('with PORTVAKT_UPSTREAM set, dev runs no demo and forwards to the given app', async (t) => {
  const dir = t.testdir({ 'routes.yaml': ROUTES })
  const { logger } = quietLogger()
  const run = await startDev({
    issuerPort: 0,
    altinnPort: 0,
    grantsFile: 'config/altinn-grants.yaml',
    demoPort: undefined,
    dir: join(dir, '.portvakt'),
    logLevel: 'info',
    gatewayEnv: { PORTVAKT_ROUTES: join(dir, 'routes.yaml'), PORTVAKT_PORT: '0', PORTVAKT_ADMIN_PORT: '0', PORTVAKT_UPSTREAM: 'http://127.0.0.1:1' }
  }, logger)
  t.teardown(run.close)
  t.equal(run.demo, undefined)
  t.match(formatBanner(run), 'http://127.0.0.1:1/  (your app)')
})

t.test('in dev, the local issuer is the egress side\'s token endpoint: the whole loop runs on a laptop', async (t) => {
  const dir = t.testdir()
  const run0 = { issuerPort: 0, altinnPort: 0, grantsFile: 'config/altinn-grants.yaml', demoPort: 0, dir: join(dir, '.portvakt'), logLevel: 'silent' }
  // The egress target is the demo upstream, which says whether a Bearer token reached it.
  const demoPort = await freePort()
  writeFileSync(join(dir, 'routes.yaml'), `${ROUTES}egress:\n  - name: demo\n    url: http://127.0.0.1:${demoPort}\n    scopes: [nav:arbeid:arbeidsforhold.read]\n`)
  const { logger } = quietLogger()
  const run = await startDev({ ...run0, demoPort, gatewayEnv: { PORTVAKT_ROUTES: join(dir, 'routes.yaml'), PORTVAKT_PORT: '0', PORTVAKT_ADMIN_PORT: '0', PORTVAKT_EGRESS_PORT: '0' } }, logger)
  t.teardown(run.close)
  const egressPort = run.gateway.egress?.port
  t.ok(egressPort, 'the egress listener runs')
  const res = await fetch(`http://127.0.0.1:${egressPort}/demo/anything?x=1`)
  t.equal(res.status, 200)
  const echo = await res.json() as { path: string, authorization: string }
  t.equal(echo.path, '/anything')
  t.equal(echo.authorization, 'forwarded', 'a token from the local issuer was injected')
})
