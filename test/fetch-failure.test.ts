import { createServer as createHttpsServer } from 'node:https'
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { fetchJwks } from '../src/auth/jwks.js'
import { describeFetchFailure, FetchFailure, naisOutboundHint } from '../src/config/fetch-failure.js'
import { createOutboundHttp, issuerClientOptions } from '../src/http/client.js'
import { build } from './helpers/build.js'
import { freePort } from './helpers/cli.js'
import { eventually } from './helpers/poll.js'
import { makeSelfSignedCert } from './helpers/self-signed-cert.js'

const NO_PROXY = { httpProxy: '', httpsProxy: '', noProxy: '' }

// Listen on a free port until `t` ends; the sockets clients left open are cut then.
async function listenOn (t: Test, server: Server): Promise<number> {
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => { sockets.add(socket); socket.on('close', () => sockets.delete(socket)) })
  server.on('secureConnection', (socket: Socket) => { sockets.add(socket) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => { resolve() }))
  })
  return (server.address() as AddressInfo).port
}

// The fetch the gateway uses (undici through our dispatcher), with or without a proxy.
async function failureOf (t: Test, uri: string, proxy = NO_PROXY): Promise<FetchFailure> {
  const outbound = createOutboundHttp(proxy, issuerClientOptions(2_000))
  t.teardown(outbound.destroy)
  try {
    await fetchJwks(uri, { timeoutMs: 2_000, algorithms: ['RS256'], fetch: outbound.fetch, proxy })
  } catch (err) {
    if (err instanceof FetchFailure) return err
    throw err
  }
  throw new Error('the fetch did not fail')
}

t.test('a JWKS fetch to a port nothing listens on names the URL and says refused', async (t) => {
  const uri = `http://127.0.0.1:${await freePort()}/jwks`
  const failure = await failureOf(t, uri)
  t.equal(failure.message, `${uri}: 127.0.0.1:${new URL(uri).port} refused the connection (ECONNREFUSED): nothing listens there`)
  t.equal(failure.kind, 'refused')
})

t.test('a JWKS host DNS does not know is named as a DNS problem', async (t) => {
  // RFC 6761: .invalid never resolves.
  const failure = await failureOf(t, 'https://jwks.portvakt.invalid/jwk')
  t.match(failure.message, /^https:\/\/jwks\.portvakt\.invalid\/jwk: DNS (does not know|did not answer for) jwks\.portvakt\.invalid \((ENOTFOUND|EAI_AGAIN)\)/)
  t.equal(failure.kind, 'dns')
})

t.test('a JWKS endpoint with a certificate no CA here trusts is a TLS problem, named by its code', async (t) => {
  const port = await listenOn(t, createHttpsServer(makeSelfSignedCert(), (_req, res) => { res.end('{"keys":[]}') }) as unknown as Server)
  const failure = await failureOf(t, `https://127.0.0.1:${port}/jwks`)
  t.match(failure.message, `https://127.0.0.1:${port}/jwks: 127.0.0.1:${port}: its TLS certificate is self-signed (DEPTH_ZERO_SELF_SIGNED_CERT)`)
  t.equal(failure.kind, 'tls')
})

t.test('a proxy that is not there, and one that wants credentials (407), are named as the proxy', async (t) => {
  const gone = `http://127.0.0.1:${await freePort()}`
  const unreachable = await failureOf(t, 'https://test.maskinporten.no/jwk', { httpProxy: gone, httpsProxy: gone, noProxy: '' })
  t.equal(unreachable.message, `https://test.maskinporten.no/jwk: the proxy ${new URL(gone).host} (HTTPS_PROXY) cannot be reached (ECONNREFUSED)`)
  t.equal(unreachable.kind, 'proxy')
  const strict = createTcpServer((socket) => { socket.once('data', () => { socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n') }) })
  const proxy = `http://127.0.0.1:${await listenOn(t, strict)}`
  const refused = await failureOf(t, 'https://test.maskinporten.no/jwk', { httpProxy: proxy, httpsProxy: proxy, noProxy: '' })
  t.match(refused.message, `https://test.maskinporten.no/jwk: the proxy ${new URL(proxy).host} (HTTPS_PROXY) refused to pass the request on (UND_ERR_ABORTED); a proxy that wants credentials (407) takes them in the URL: http://user:password@host:port`)
  t.equal(refused.kind, 'proxy')
})

t.test('causes are read by code through undici\'s wrapping: a connect timeout, a cut connection, an unknown code', async (t) => {
  const wrapped = (code: string): Error => new TypeError('fetch failed', { cause: Object.assign(new Error('whatever undici says'), { code }) })
  t.equal(describeFetchFailure(wrapped('UND_ERR_CONNECT_TIMEOUT'), 'https://a.example/jwk').message, 'https://a.example/jwk: connecting to a.example timed out (UND_ERR_CONNECT_TIMEOUT): its packets are dropped on the way')
  t.equal(describeFetchFailure(wrapped('ECONNRESET'), 'https://a.example/jwk').kind, 'network')
  t.equal(describeFetchFailure(wrapped('CERT_HAS_EXPIRED'), 'https://a.example/jwk').reason, 'a.example: its TLS certificate has expired (CERT_HAS_EXPIRED)')
  t.equal(describeFetchFailure(wrapped('EWHATEVER'), 'https://a.example/jwk').reason, 'the request failed (EWHATEVER)')
  t.notMatch(describeFetchFailure(wrapped('EWHATEVER'), 'https://a.example/jwk').message, /whatever undici says|fetch failed/, 'never the library\'s message')
})

t.test('on NAIS, a JWKS fetch that cannot connect logs the URL, the cause and the access policy it may need', async (t) => {
  const uri = `http://127.0.0.1:${await freePort()}/jwks`
  const h = await build(t, { jwksDown: true, env: { MASKINPORTEN_JWKS_URI: uri, NAIS_CLUSTER_NAME: 'dev-gcp' } })
  const failed = (): Record<string, unknown> | undefined => h.logs().find((l) => l.msg === 'signing keys could not be fetched')
  t.ok(await eventually(() => failed() !== undefined))
  t.match(failed(), {
    level: 50,
    err: `${uri}: 127.0.0.1:${new URL(uri).port} refused the connection (ECONNREFUSED): nothing listens there`,
    hint: 'on NAIS, outbound traffic needs spec.accessPolicy.outbound.external: [{ host: 127.0.0.1 }] (on-premises: spec.webproxy: true)'
  })
  t.notMatch(h.logText(), /fetch failed/)
})

t.test('off NAIS, and for a TLS problem, there is no access-policy hint', async (t) => {
  const uri = `http://127.0.0.1:${await freePort()}/jwks`
  const h = await build(t, { jwksDown: true, env: { MASKINPORTEN_JWKS_URI: uri } })
  t.ok(await eventually(() => h.logs().some((l) => l.msg === 'signing keys could not be fetched')))
  t.equal(h.logs().find((l) => l.msg === 'signing keys could not be fetched')?.hint, undefined)
  t.equal(naisOutboundHint(describeFetchFailure(new TypeError('fetch failed', { cause: { code: 'CERT_HAS_EXPIRED' } }), 'https://a.example/')), undefined)
})
