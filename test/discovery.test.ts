import { createServer, request as httpRequest } from 'node:http'
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { resolveIssuer } from '../src/config/discovery.js'
import { createOutboundHttp, issuerClientOptions } from '../src/http/client.js'
import { build } from './helpers/build.js'
import { ROOT, runCli } from './helpers/cli.js'
import { close, listen, startJwksServer } from './helpers/servers.js'
import { TEST_ISSUER } from './helpers/tokens.js'

t.test('discovers issuer and jwks_uri from the well-known metadata', async (t) => {
  const server = await startJwksServer([])
  t.teardown(async () => { await close(server.server) })
  const wellKnownUrl = `${server.url}/.well-known/oauth-authorization-server`
  t.same(await resolveIssuer({ issuer: undefined, jwksUri: undefined, wellKnownUrl, allowInsecure: false }, 2000), { issuer: 'https://test.maskinporten.no/', jwksUri: `${server.url}/jwks` })
  t.same(await resolveIssuer({ issuer: 'https://test.maskinporten.no/', jwksUri: undefined, wellKnownUrl, allowInsecure: false }, 2000), { issuer: 'https://test.maskinporten.no/', jwksUri: `${server.url}/jwks` }, 'an agreeing issuer is fine')
  await t.rejects(resolveIssuer({ issuer: 'https://test.maskinporten.no', jwksUri: undefined, wellKnownUrl, allowInsecure: false }, 2000), { name: 'ConfigError', message: /MASKINPORTEN_ISSUER is https:\/\/test.maskinporten.no but the metadata/ })
  await t.rejects(resolveIssuer({ issuer: undefined, jwksUri: undefined, wellKnownUrl: `${server.url}/nope`, allowInsecure: false }, 2000), { name: 'ConfigError', message: /has no issuer; set MASKINPORTEN_ISSUER/ })
  await t.rejects(resolveIssuer({ issuer: undefined, jwksUri: undefined, wellKnownUrl: 'http://127.0.0.1:9/x', allowInsecure: false }, 2000), { name: 'ConfigError', message: /MASKINPORTEN_WELL_KNOWN_URL/ })
})

t.test('uses MASKINPORTEN_ISSUER and MASKINPORTEN_JWKS_URI without fetching anything when no well-known URL is set', async (t) => {
  const failing = async (): Promise<Response> => { throw new Error('nothing may be fetched') }
  t.same(await resolveIssuer({ issuer: 'https://i/', jwksUri: 'https://i/jwk', wellKnownUrl: undefined, allowInsecure: false }, 10, failing), { issuer: 'https://i/', jwksUri: 'https://i/jwk' })
})

interface MetadataServer { url: string, asked: () => number }

// RFC 8414 metadata saying `document`, counting the requests; on port 0, closed on teardown.
async function startMetadataServer (t: Test, document: object | undefined): Promise<MetadataServer> {
  let asked = 0
  const server = createServer((_req, res) => {
    asked++
    if (document === undefined) { res.statusCode = 500; res.end(); return }
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(document))
  })
  const base = await listen(server)
  t.teardown(async () => { await close(server) })
  return { url: `${base}/.well-known/oauth-authorization-server`, asked: () => asked }
}

const ISSUER = 'https://test.maskinporten.no/'
const JWKS_URI = 'https://test.maskinporten.no/jwk'

t.test('all three set, as NAIS sets them: the metadata is fetched and must agree with both variables', async (t) => {
  const agreeing = await startMetadataServer(t, { issuer: ISSUER, jwks_uri: JWKS_URI })
  t.same(await resolveIssuer({ issuer: ISSUER, jwksUri: JWKS_URI, wellKnownUrl: agreeing.url, allowInsecure: false }, 2000), { issuer: ISSUER, jwksUri: JWKS_URI })
  t.equal(agreeing.asked(), 1, 'the metadata was read to compare')

  const otherIssuer = await startMetadataServer(t, { issuer: 'https://maskinporten.no/', jwks_uri: JWKS_URI })
  await t.rejects(resolveIssuer({ issuer: ISSUER, jwksUri: JWKS_URI, wellKnownUrl: otherIssuer.url, allowInsecure: false }, 2000), {
    name: 'ConfigError',
    problems: [`MASKINPORTEN_ISSUER is ${ISSUER} but the metadata at MASKINPORTEN_WELL_KNOWN_URL (${otherIssuer.url}) says issuer https://maskinporten.no/; unset one or make them agree (an iss is compared exactly)`]
  })

  const otherJwks = await startMetadataServer(t, { issuer: ISSUER, jwks_uri: 'https://maskinporten.no/jwk' })
  await t.rejects(resolveIssuer({ issuer: ISSUER, jwksUri: JWKS_URI, wellKnownUrl: otherJwks.url, allowInsecure: false }, 2000), {
    name: 'ConfigError',
    problems: [`MASKINPORTEN_JWKS_URI is ${JWKS_URI} but the metadata at MASKINPORTEN_WELL_KNOWN_URL (${otherJwks.url}) says jwks_uri https://maskinporten.no/jwk; unset one or make them agree`]
  })
})

t.test('MASKINPORTEN_JWKS_URI given and the issuer discovered: a jwks_uri that disagrees is refused too', async (t) => {
  const meta = await startMetadataServer(t, { issuer: ISSUER, jwks_uri: 'https://maskinporten.no/jwk' })
  await t.rejects(resolveIssuer({ issuer: undefined, jwksUri: JWKS_URI, wellKnownUrl: meta.url, allowInsecure: false }, 2000), { name: 'ConfigError', problems: [/^MASKINPORTEN_JWKS_URI is .* says jwks_uri https:\/\/maskinporten\.no\/jwk/] })
})

t.test('all three set and the metadata unreadable: the two given are used, unchecked, with the reason', async (t) => {
  const broken = await startMetadataServer(t, undefined)
  t.same(await resolveIssuer({ issuer: ISSUER, jwksUri: JWKS_URI, wellKnownUrl: broken.url, allowInsecure: false }, 2000), {
    issuer: ISSUER,
    jwksUri: JWKS_URI,
    unchecked: `MASKINPORTEN_WELL_KNOWN_URL (${broken.url}) answered 500`
  })
  const h = await build(t, { env: { MASKINPORTEN_WELL_KNOWN_URL: 'http://127.0.0.1:9/.well-known/oauth-authorization-server' } })
  t.match(h.logs().find((l) => l.level === 40), { msg: /MASKINPORTEN_ISSUER and MASKINPORTEN_JWKS_URI are used as set, unchecked/, problem: /MASKINPORTEN_WELL_KNOWN_URL \(http:\/\/127\.0\.0\.1:9\/.*\)/ }, 'the start warns')
  t.equal(h.gateway.issuer.issuer, TEST_ISSUER)
})

t.test('all three set and the metadata without issuer or jwks_uri: nothing was compared, so it is unchecked too', async (t) => {
  const empty = await startMetadataServer(t, {})
  t.same(await resolveIssuer({ issuer: ISSUER, jwksUri: JWKS_URI, wellKnownUrl: empty.url, allowInsecure: false }, 2000), {
    issuer: ISSUER,
    jwksUri: JWKS_URI,
    unchecked: `the metadata at MASKINPORTEN_WELL_KNOWN_URL (${empty.url}) has no issuer or jwks_uri`
  })
  const half = await startMetadataServer(t, { issuer: ISSUER })
  t.match(await resolveIssuer({ issuer: ISSUER, jwksUri: JWKS_URI, wellKnownUrl: half.url, allowInsecure: false }, 2000), { unchecked: /has no jwks_uri$/ })
})

t.test('a metadata body that stalls is reported as the timeout it is, not as a document that is not JSON', async (t) => {
  const stalling = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' })
    res.write('{"issuer":')
  })
  const base = await listen(stalling)
  t.teardown(async () => { await close(stalling) })
  const url = `${base}/.well-known/oauth-authorization-server`
  t.same(await resolveIssuer({ issuer: ISSUER, jwksUri: JWKS_URI, wellKnownUrl: url, allowInsecure: false }, 300), {
    issuer: ISSUER,
    jwksUri: JWKS_URI,
    unchecked: `MASKINPORTEN_WELL_KNOWN_URL (${url}): the body did not arrive within 300ms (PORTVAKT_JWKS_TIMEOUT)`
  })
})

t.test('portvakt serve refuses to start when its three issuer variables disagree, naming both', async (t) => {
  const meta = await startMetadataServer(t, { issuer: 'https://maskinporten.no/', jwks_uri: 'http://127.0.0.1:9/jwks' })
  const run = runCli(t, process.execPath, [join(ROOT, 'dist', 'cli.js'), 'serve'], {
    MASKINPORTEN_ISSUER: TEST_ISSUER,
    MASKINPORTEN_JWKS_URI: 'http://127.0.0.1:9/jwks',
    MASKINPORTEN_WELL_KNOWN_URL: meta.url,
    PORTVAKT_ROUTES: join(ROOT, 'config', 'routes.yaml'),
    PORTVAKT_HOST: '127.0.0.1',
    PORTVAKT_PORT: '0',
    PORTVAKT_ADMIN_HOST: '127.0.0.1',
    PORTVAKT_ADMIN_PORT: '0'
  })
  // Without the check it would start and serve: the race ends the test either way.
  t.equal(await Promise.race([run.exited, run.waitFor(/"message":"portvakt started"/).catch(async () => await run.exited)]), 1)
  t.match(run.stderr(), `the issuer settings do not agree:\n  - MASKINPORTEN_ISSUER is ${TEST_ISSUER} but the metadata at MASKINPORTEN_WELL_KNOWN_URL (${meta.url}) says issuer https://maskinporten.no/`)
  t.notMatch(run.stdout(), /portvakt started/)
})

t.test('the well-known fetch goes through HTTP_PROXY when one is set', async (t) => {
  const server = await startJwksServer([])
  t.teardown(async () => { await close(server.server) })
  // A plain forward proxy: absolute-form request targets, answered by asking the target itself.
  const seen: string[] = []
  const proxy = createServer((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`)
    const upstream = httpRequest(new URL(req.url ?? ''), { method: req.method }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', () => { res.statusCode = 502; res.end() })
    upstream.end()
  })
  const proxyUrl = await listen(proxy)
  t.teardown(async () => { await close(proxy) })
  const outbound = createOutboundHttp({ httpProxy: proxyUrl, httpsProxy: '', noProxy: '' }, issuerClientOptions(2000))
  t.teardown(outbound.close)
  const wellKnownUrl = `${server.url}/.well-known/oauth-authorization-server`
  t.same(await resolveIssuer({ issuer: undefined, jwksUri: undefined, wellKnownUrl, allowInsecure: false }, 2000, outbound.fetch), { issuer: 'https://test.maskinporten.no/', jwksUri: `${server.url}/jwks` })
  t.same(seen, [`GET ${wellKnownUrl}`], 'the proxy saw the metadata fetch')
})

t.test('a well-known URL that accepts and never answers stops the start at the timeout, naming it', async (t) => {
  const sockets = new Set<Socket>()
  const silent = createTcpServer((socket) => { sockets.add(socket) })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => silent.close(() => { resolve() }))
  })
  const wellKnownUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/.well-known/oauth-authorization-server`
  await t.rejects(resolveIssuer({ issuer: undefined, jwksUri: undefined, wellKnownUrl, allowInsecure: false }, 200), {
    name: 'ConfigError',
    problems: [/MASKINPORTEN_WELL_KNOWN_URL \(.*\): no answer within 200ms \(PORTVAKT_JWKS_TIMEOUT\)/]
  })
})
