/**
 * Connection hygiene: hop-by-hop response headers stay
 * with their hop, and a connection whose request body was cut short by an upstream failure is
 * closed rather than left to stall the client's next request.
 */
import t from 'tap'
import { build } from '../helpers/build.js'
import { close } from '../helpers/servers.js'
import { rawGet, sendRaw } from '../helpers/attack.js'

t.test('a client\'s Connection: close is honoured and the upstream\'s Keep-Alive does not leak', async (t) => {
  const h = await build(t)
  const res = await sendRaw(h.url, rawGet('/public/x'))
  t.equal(res.status, 200)
  t.equal(res.headers.connection, 'close')
  t.equal(res.headers['keep-alive'], undefined)
})

t.test('an upstream failure while the body is still coming answers 502 and closes the connection', async (t) => {
  const h = await build(t)
  const token = await h.mint({ claims: { scope: 'nav:arbeid:arbeidsforhold.write' } })
  await close(h.upstream.server)
  const head = ['POST /api/v1/arbeidsforhold/1 HTTP/1.1', 'Host: portvakt.test', `Authorization: Bearer ${token}`, 'Content-Type: application/octet-stream', 'Content-Length: 200000'].join('\r\n')
  // More than the 64 KiB body buffer, so the body streams and the upstream is called before it is complete.
  const res = await sendRaw(h.url, `${head}\r\n\r\n${'x'.repeat(70_000)}`)
  t.equal(res.status, 502)
  t.equal(JSON.parse(res.body).code, 'PORTVAKT_ERR_UPSTREAM_UNAVAILABLE')
  t.equal(res.headers.connection, 'close', 'the half-read connection is not kept alive')
  t.notOk(h.logText().includes(token))
})
