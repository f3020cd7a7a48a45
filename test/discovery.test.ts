import { createServer, request as httpRequest } from 'node:http'
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net'
import t from 'tap'
import { resolveIssuer } from '../src/config/discovery.js'
import { createOutboundHttp } from '../src/outbound.js'
import { close, listen, startJwksServer } from './helpers/servers.js'

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

t.test('uses explicit settings without fetching anything', async (t) => {
  t.same(await resolveIssuer({ issuer: 'https://i/', jwksUri: 'https://i/jwk', wellKnownUrl: 'http://127.0.0.1:9/x', allowInsecure: false }, 10), { issuer: 'https://i/', jwksUri: 'https://i/jwk' })
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
  const outbound = createOutboundHttp({ httpProxy: proxyUrl, httpsProxy: '', noProxy: '' }, 2000)
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
    problems: [/MASKINPORTEN_WELL_KNOWN_URL \(.*\): no answer within 200 ms \(PORTVAKT_JWKS_TIMEOUT\)/]
  })
})
