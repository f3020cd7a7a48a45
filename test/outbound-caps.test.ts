/**
 * Bodies portvakt reads from its peers (the JWKS, the issuer metadata, the token endpoint, Altinn)
 * are read up to a limit and no further: a peer that streams without end, or declares more, is cut
 * off at the limit, not buffered until the timeout.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { fetchJwks } from '../src/auth/jwks.js'
import { resolveIssuer } from '../src/config/discovery.js'
import { BodyTooLarge, readCapped } from '../src/config/read-capped.js'
import { TokenClient } from '../src/egress/token-client.js'

interface Peer { url: string, sent: () => number, closed: Promise<void> }

/** A peer that answers 200 and streams 16 KiB chunks until the client hangs up (or declares `declared`). */
async function endlessPeer (t: Test, declared?: number): Promise<Peer> {
  let sent = 0
  let onClosed: () => void = () => {}
  const closed = new Promise<void>((resolve) => { onClosed = resolve })
  const chunk = Buffer.alloc(16 * 1024, 0x20)
  const server: Server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', ...(declared === undefined ? {} : { 'content-length': String(declared) }) })
    res.write('{"keys":[')
    const pump = (): void => { while (!res.destroyed && sent < 256 * 1024 * 1024) { sent += chunk.length; if (!res.write(chunk)) { res.once('drain', pump); return } } }
    res.on('close', onClosed)
    pump()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { server.closeAllConnections(); await new Promise<void>((resolve) => server.close(() => { resolve() })) })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sent: () => sent, closed }
}

t.test('readCapped stops an endless body at its limit and hangs up', async (t) => {
  const peer = await endlessPeer(t)
  const response = await fetch(peer.url)
  await t.rejects(readCapped(response, 64 * 1024, 'the answer'), new BodyTooLarge('the answer is larger than 65536 bytes'))
  await peer.closed
  t.ok(peer.sent() < 64 * 1024 * 1024, `the peer was cut off early (${peer.sent()} bytes written, most still in socket buffers)`)
})

t.test('readCapped refuses a declared length over its limit before reading', async (t) => {
  const peer = await endlessPeer(t, 10 * 1024 * 1024)
  const response = await fetch(peer.url)
  await t.rejects(readCapped(response, 64 * 1024, 'the answer'), { name: 'Error', message: 'the answer is larger than 65536 bytes' })
  await peer.closed
})

t.test('a JWKS endpoint streaming without end: the fetch fails as too large, well before its timeout', async (t) => {
  const peer = await endlessPeer(t)
  const started = Date.now()
  await t.rejects(fetchJwks(`${peer.url}/jwk`, { timeoutMs: 60_000, algorithms: ['RS256'] }), { message: /the JWKS response is larger than 1048576 bytes/ })
  t.ok(Date.now() - started < 30_000, 'not held until the 60 s timeout')
})

t.test('issuer metadata streaming without end: the start stops naming the variable and the size', async (t) => {
  const peer = await endlessPeer(t)
  await t.rejects(resolveIssuer({ issuer: undefined, jwksUri: undefined, wellKnownUrl: `${peer.url}/.well-known/oauth-authorization-server`, allowInsecure: false }, 60_000), { name: 'ConfigError', problems: [/^MASKINPORTEN_WELL_KNOWN_URL \(.*\): the metadata is larger than 1048576 bytes$/] } as unknown as Error)
})

t.test('a token endpoint streaming without end: no token, an invalid token response, not a wait for the timeout', async (t) => {
  const peer = await endlessPeer(t)
  const client = new TokenClient({ endpoint: `${peer.url}/api/v1/token`, fetch, timeoutMs: 60_000 })
  const started = Date.now()
  await t.rejects(client.getToken({ target: 'nav:x', resource: undefined }), { name: 'Error', error: 'invalid_token_response' } as unknown as Error)
  t.ok(Date.now() - started < 30_000, 'not held until the 60 s timeout')
})
