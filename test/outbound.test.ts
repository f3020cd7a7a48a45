import t, { type Test } from 'tap'
import { createServer, request as httpRequest, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net'
import { join } from 'node:path'
import { loadSettings } from '../src/config/env.js'
import { maskProxyUrl } from '../src/config/proxy-url.js'
import type { ConfigError } from '../src/config/errors.js'
import { createOutboundHttp, issuerClientOptions } from '../src/http/client.js'
import { build } from './helpers/build.js'
import { ROOT, runCli } from './helpers/cli.js'
import { startTunnelProxy } from './helpers/egress.js'
import { makeKey } from './helpers/keys.js'
import { scrape, valueOf } from './helpers/metrics.js'
import { eventually } from './helpers/poll.js'
import { makeSelfSignedCert } from './helpers/self-signed-cert.js'
import { close, listen } from './helpers/servers.js'
import { TEST_ISSUER } from './helpers/tokens.js'

/** The problems a ConfigError lists; none if it does not throw. */
function problemsOf (load: () => unknown): readonly string[] {
  try {
    load()
    return []
  } catch (err) {
    return (err as ConfigError).problems
  }
}

/** A plain HTTP forward proxy (absolute-form request targets, no CONNECT) that records what it forwarded. */
async function startForwardProxy (t: Test): Promise<{ url: string, seen: string[], server: Server }> {
  const seen: string[] = []
  const server = createServer((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`)
    const target = new URL(req.url ?? '')
    const upstream = httpRequest(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', () => { res.statusCode = 502; res.end() })
    req.pipe(upstream)
  })
  const url = await listen(server)
  t.teardown(async () => { await close(server) })
  return { url, seen, server }
}

t.test('the JWKS fetch goes through HTTP_PROXY when one is set', async (t) => {
  const proxy = await startForwardProxy(t)
  const outbound = createOutboundHttp({ httpProxy: proxy.url, httpsProxy: '', noProxy: '' }, issuerClientOptions(5_000))
  t.teardown(outbound.close)
  const h = await build(t, { fetch: outbound.fetch })
  t.same(proxy.seen, [`GET ${h.jwks.url}/jwks`], 'the proxy saw the JWKS fetch')
  const res = await fetch(`${h.url}/api/v1/arbeidsforhold`, { headers: { authorization: `Bearer ${await h.mint()}` } })
  t.equal(res.status, 200, 'and the keys it fetched work')
})

t.test('NO_PROXY keeps a host off the proxy', async (t) => {
  const proxy = await startForwardProxy(t)
  const outbound = createOutboundHttp({ httpProxy: proxy.url, httpsProxy: '', noProxy: '127.0.0.1' }, issuerClientOptions(5_000))
  t.teardown(outbound.close)
  await build(t, { fetch: outbound.fetch })
  t.same(proxy.seen, [])
})

t.test('the proxy variables are read from the environment given, lower case first', async (t) => {
  const base = { MASKINPORTEN_ISSUER: 'https://test.maskinporten.no/', MASKINPORTEN_JWKS_URI: 'https://test.maskinporten.no/jwk' }
  const settings = loadSettings({ ...base, HTTPS_PROXY: 'http://upper:8088', https_proxy: 'http://lower:8088', HTTP_PROXY: 'http://webproxy.nais:8088', NO_PROXY: 'localhost,.local' })
  t.same(settings.proxy, { httpProxy: 'http://webproxy.nais:8088', httpsProxy: 'http://lower:8088', noProxy: 'localhost,.local' })
  t.same(loadSettings(base).proxy, { httpProxy: '', httpsProxy: '', noProxy: '' })
  t.match(problemsOf(() => loadSettings({ ...base, HTTPS_PROXY: 'socks5://user:secret@proxy:1080' })), [/HTTPS_PROXY: "socks5:\/\/\*\*\*@proxy:1080" is not an http\(s\) proxy URL/])
})

t.test('admin and shutdown settings have their defaults and refuse nonsense', async (t) => {
  const base = { MASKINPORTEN_ISSUER: 'https://test.maskinporten.no/', MASKINPORTEN_JWKS_URI: 'https://test.maskinporten.no/jwk' }
  const settings = loadSettings(base)
  t.same(settings.admin, { host: '0.0.0.0', port: 8079, upstreamReadyPath: undefined })
  t.same(settings.shutdown, { delayMs: 5_000, timeoutMs: 30_000 })
  t.match(problemsOf(() => loadSettings({ ...base, PORTVAKT_PORT: '9000', PORTVAKT_ADMIN_PORT: '9000' })), [/PORTVAKT_ADMIN_PORT: 9000 is also PORTVAKT_PORT/])
  t.match(problemsOf(() => loadSettings({ ...base, PORTVAKT_UPSTREAM_READY_PATH: 'isready' })), [/PORTVAKT_UPSTREAM_READY_PATH: a path on the upstream/])
  t.match(problemsOf(() => loadSettings({ ...base, PORTVAKT_SHUTDOWN_DELAY: 'soon' })), [/PORTVAKT_SHUTDOWN_DELAY/])
  t.equal(loadSettings({ ...base, PORTVAKT_UPSTREAM_READY_PATH: '/internal/isready' }).admin.upstreamReadyPath, '/internal/isready')
})

interface StartedProxies { settings: { proxy: object, egress: object } }

t.test('the start-up log masks proxy credentials and shows the host, once for every outbound call', async (t) => {
  // An unencoded @ in the password: a pattern that stops at the first @ would leak "t0p".
  const h = await build(t, { env: { HTTPS_PROXY: 'http://user:s3cr@t0p@127.0.0.1:1', HTTP_PROXY: 'http://webproxy.nais:8088', NO_PROXY: '127.0.0.1' } })
  const started = h.logs().find((l) => l.msg === 'portvakt started') as unknown as StartedProxies
  t.same(started.settings.proxy, { httpsProxy: 'http://***@127.0.0.1:1', httpProxy: 'http://webproxy.nais:8088', noProxy: '127.0.0.1' })
  t.notOk('proxy' in started.settings.egress, 'one proxy setting: the egress side reads the same one')
  t.notMatch(h.logText(), /s3cr|t0p|user/)
})

t.test('the start-up log leaves the proxy fields out when no proxy is set, instead of a censor mark', async (t) => {
  const h = await build(t)
  const started = h.logs().find((l) => l.msg === 'portvakt started') as unknown as StartedProxies
  t.same(started.settings.proxy, {})
  t.notMatch(h.logText(), /\[redacted\]/)
})

t.test('maskProxyUrl: credentials out, host kept; what does not parse keeps only what follows its last @', async (t) => {
  t.equal(maskProxyUrl('http://webproxy.nais:8088'), 'http://webproxy.nais:8088')
  t.equal(maskProxyUrl('http://u:p@webproxy.nais:8088/x'), 'http://***@webproxy.nais:8088/x')
  t.equal(maskProxyUrl('http://:p@webproxy.nais:8088'), 'http://***@webproxy.nais:8088')
  t.equal(maskProxyUrl('webproxy user:secret@host:x'), '***@host:x')
})

t.test('a proxy from HTTPS_PROXY sees the JWKS fetch: a real process tunnels to an https JWKS with CONNECT', async (t) => {
  const tls = makeSelfSignedCert()
  const dir = t.testdir({ 'ca.pem': tls.cert })
  const key = await makeKey()
  const asked: string[] = []
  const jwks = createHttpsServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    asked.push(req.url ?? '')
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ keys: [key.jwk] }))
  })
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await close(jwks) })
  const jwksHost = `127.0.0.1:${(jwks.address() as AddressInfo).port}`
  const proxy = await startTunnelProxy()
  t.teardown(proxy.close)
  // main.ts reads HTTPS_PROXY from the real environment; NODE_EXTRA_CA_CERTS makes the child trust
  // the self-signed certificate, so the TLS inside the tunnel is checked as in production.
  const run = runCli(t, process.execPath, [join(ROOT, 'dist', 'cli.js'), 'serve'], {
    MASKINPORTEN_ISSUER: TEST_ISSUER,
    MASKINPORTEN_JWKS_URI: `https://${jwksHost}/jwks`,
    PORTVAKT_ROUTES: join(ROOT, 'config', 'routes.yaml'),
    PORTVAKT_HOST: '127.0.0.1',
    PORTVAKT_PORT: '0',
    PORTVAKT_ADMIN_HOST: '127.0.0.1',
    PORTVAKT_ADMIN_PORT: '0',
    HTTPS_PROXY: proxy.url,
    NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem')
  })
  const started = JSON.parse(await run.waitFor(/"message":"portvakt started"/)) as { adminPort: number }
  await run.waitFor(/"message":"signing keys (fetched|could not be fetched)"/)
  t.match(run.stdout(), /"message":"signing keys fetched"/, 'the keys came through the tunnel')
  t.same(proxy.tunnels, [jwksHost], 'the proxy saw CONNECT to the JWKS host')
  t.same(asked, ['/jwks'], 'the JWKS server was asked once, through the tunnel')
  t.equal((await fetch(`http://127.0.0.1:${started.adminPort}/isready`)).status, 200, 'ready on the keys fetched through the proxy')
})

t.test('a JWKS endpoint that accepts and never answers fails the fetch at PORTVAKT_JWKS_TIMEOUT, reported as a timeout', async (t) => {
  const sockets = new Set<Socket>()
  const silent = createTcpServer((socket) => { sockets.add(socket); socket.on('close', () => sockets.delete(socket)) })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => silent.close(() => { resolve() }))
  })
  const outbound = createOutboundHttp({ httpProxy: '', httpsProxy: '', noProxy: '' }, issuerClientOptions(300))
  t.teardown(outbound.close)
  const h = await build(t, {
    jwksDown: true,
    fetch: outbound.fetch,
    env: { MASKINPORTEN_JWKS_URI: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/jwks`, PORTVAKT_JWKS_TIMEOUT: '300ms' }
  })
  const failedFetch = () => h.logs().find((l) => l.msg === 'signing keys could not be fetched')
  t.ok(await eventually(() => failedFetch() !== undefined), 'the fetch fails instead of hanging')
  t.match(failedFetch(), { level: 50, trigger: 'start', err: /no answer within 300ms \(PORTVAKT_JWKS_TIMEOUT\)/ }, 'logged as an error naming the timeout')
  const samples = await scrape(h.adminUrl)
  t.ok((valueOf(samples, 'portvakt_jwks_fetches_total', { result: 'error', trigger: 'start' }) ?? 0) >= 1, 'counted as a failed fetch')
  const ready = await fetch(`${h.adminUrl}/isready`)
  t.equal(ready.status, 503)
  t.match(await ready.json(), { reasons: [/no answer within 300ms \(PORTVAKT_JWKS_TIMEOUT\)/] })
  const res = await fetch(`${h.url}/api/v1/arbeidsforhold`, { headers: { authorization: `Bearer ${await h.mint()}` } })
  t.equal(res.status, 503, 'an outage at the issuer is a 503, never a 401')
})
