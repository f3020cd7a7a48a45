import t, { type Test } from 'tap'
import { createServer, request as httpRequest, type Server } from 'node:http'
import { loadSettings } from '../src/config/env.js'
import type { ConfigError } from '../src/config/errors.js'
import { createOutboundHttp } from '../src/outbound.js'
import { build } from './helpers/build.js'
import { close, listen } from './helpers/servers.js'

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
  const outbound = createOutboundHttp({ httpProxy: proxy.url, httpsProxy: '', noProxy: '' }, 5_000)
  t.teardown(outbound.close)
  const h = await build(t, { fetch: outbound.fetch })
  t.same(proxy.seen, [`GET ${h.jwks.url}/jwks`], 'the proxy saw the JWKS fetch')
  const res = await fetch(`${h.url}/api/v1/arbeidsforhold`, { headers: { authorization: `Bearer ${await h.mint()}` } })
  t.equal(res.status, 200, 'and the keys it fetched work')
})

t.test('NO_PROXY keeps a host off the proxy', async (t) => {
  const proxy = await startForwardProxy(t)
  const outbound = createOutboundHttp({ httpProxy: proxy.url, httpsProxy: '', noProxy: '127.0.0.1' }, 5_000)
  t.teardown(outbound.close)
  await build(t, { fetch: outbound.fetch })
  t.same(proxy.seen, [])
})

t.test('the proxy variables are read from the environment given, lower case first', async (t) => {
  const base = { MASKINPORTEN_ISSUER: 'https://test.maskinporten.no/', MASKINPORTEN_JWKS_URI: 'https://test.maskinporten.no/jwk' }
  const settings = loadSettings({ ...base, HTTPS_PROXY: 'http://upper:8088', https_proxy: 'http://lower:8088', HTTP_PROXY: 'http://webproxy.nais:8088', NO_PROXY: 'localhost,.local' })
  t.same(settings.outboundProxy, { httpProxy: 'http://webproxy.nais:8088', httpsProxy: 'http://lower:8088', noProxy: 'localhost,.local' })
  t.same(loadSettings(base).outboundProxy, { httpProxy: '', httpsProxy: '', noProxy: '' })
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

t.test('the start-up log masks proxy credentials', async (t) => {
  const h = await build(t, { env: { HTTPS_PROXY: 'http://user:secret@127.0.0.1:1', NO_PROXY: '127.0.0.1' } })
  const started = h.logs().find((l) => l.msg === 'portvakt started') as { settings: { outboundProxy: { httpsProxy: string } } }
  t.equal(started.settings.outboundProxy.httpsProxy, 'http://***@127.0.0.1:1')
  t.notMatch(h.logText(), /secret/)
})
