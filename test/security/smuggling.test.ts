/**
 * Request smuggling and upgrades, over a raw socket: ambiguous
 * framing is a 400 and the upstream sees nothing, not even the request hidden in the body; an
 * `Upgrade` request passes the same gate as any other and is never tunnelled.
 */
import { createHash } from 'node:crypto'
import t, { type Test } from 'tap'
import { build } from '../helpers/build.js'
import { assertDenied, CHALLENGE, resetSeen, sendRaw } from '../helpers/attack.js'

/** A request hidden in the body: if it ever reached the upstream, framing was read two ways. */
const HIDDEN = 'GET /api/v1/arbeidsforhold/smuggled HTTP/1.1\r\nHost: portvakt.test\r\n\r\n'

t.test('smuggling attacks', async (t) => {
  const h = await build(t)
  const token = await h.mint()
  t.beforeEach(() => { resetSeen(h) })
  const head = (lines: string[]): string => ['POST /public HTTP/1.1', 'Host: portvakt.test', ...lines].join('\r\n') + '\r\n\r\n'
  // Node's parser refuses these before we see a request: 400 in our format, no Bearer challenge
  // (RFC 6750 is about credentials, and these are not a credential problem), connection closed.
  const refused = async (t: Test, text: string, message = /not valid HTTP\/1\.1/): Promise<void> => {
    const res = await sendRaw(h.url, text)
    assertDenied(t, h, res, { status: 400, code: 'PORTVAKT_ERR_MALFORMED_REQUEST', challenge: null, message, secrets: [token] })
    t.equal(res.headers.connection, 'close')
    t.equal(res.raw.match(/^HTTP\/1\.1 \d{3} /gm)?.length ?? 0, 1, 'exactly one response on the connection')
  }
  const badFraming = /framing/

  t.test('refuses Content-Length together with Transfer-Encoding (CL.TE)', async (t) => {
    await refused(t, head(['Content-Length: 6', 'Transfer-Encoding: chunked']) + '0\r\n\r\n' + HIDDEN, badFraming)
  })

  t.test('refuses Transfer-Encoding together with Content-Length (TE.CL)', async (t) => {
    const chunk = HIDDEN.length.toString(16)
    await refused(t, head(['Transfer-Encoding: chunked', 'Content-Length: 4']) + `${chunk}\r\n${HIDDEN}\r\n0\r\n\r\n`, badFraming)
  })

  t.test('refuses two Content-Length headers, different or the same', async (t) => {
    await refused(t, head(['Content-Length: 0', 'Content-Length: ' + String(HIDDEN.length)]) + HIDDEN, badFraming)
    await refused(t, head(['Content-Length: 5', 'Content-Length: 5']) + 'hello' + HIDDEN, badFraming)
  })

  t.test('refuses a Content-Length list', async (t) => {
    await refused(t, head(['Content-Length: 0, ' + String(HIDDEN.length)]) + HIDDEN, badFraming)
    await refused(t, head(['Content-Length: 5, 5']) + 'hello' + HIDDEN, badFraming)
  })

  t.test('refuses Transfer-Encoding: xchunked and other non-chunked final codings', async (t) => {
    for (const te of ['xchunked', 'chunked, identity', 'chunkedx', 'identity', 'gzip']) {
      resetSeen(h)
      await refused(t, head([`Transfer-Encoding: ${te}`, 'Content-Length: 0']) + HIDDEN, badFraming)
    }
    // Node hands some of these (`identity`, `gzip`: no chunked at all) to the gate before its parser
    // refuses the body, and the gate answers first; others (`chunked, gzip`) its parser refuses before
    // the gate sees them. Either way the answer is the same, and the only one on the connection.
    for (const te of ['identity', 'gzip', 'gzip, identity', 'chunked, gzip', 'chunked, chunked']) {
      resetSeen(h)
      await refused(t, head([`Transfer-Encoding: ${te}`]) + '5\r\nhello\r\n0\r\n\r\n' + HIDDEN, badFraming)
    }
  })

  t.test('refuses a transfer coding other than chunked (gzip, chunked) with 501 and closes, on protected and public routes', async (t) => {
    // Node's parser frames these by their final chunked and hands over the still-coded bytes; forwarded
    // without Transfer-Encoding (hop-by-hop), the upstream would take them for the body itself.
    const writer = await h.mint({ claims: { scope: 'nav:arbeid:arbeidsforhold.write' } })
    // The last case is two header lines, which Node joins into `gzip, chunked`.
    const codings = [['gzip, chunked'], ['deflate,chunked'], ['identity, chunked'], ['x, chunked'], ['gzip', 'chunked']]
    const logged = h.logs().length
    for (const path of ['/api/v1/arbeidsforhold', '/public']) {
      for (const lines of codings) {
        resetSeen(h)
        const text = [`POST ${path} HTTP/1.1`, 'Host: portvakt.test', `Authorization: Bearer ${writer}`, ...lines.map((te) => `Transfer-Encoding: ${te}`)].join('\r\n') + '\r\n\r\n'
        const res = await sendRaw(h.url, text + '5\r\nhello\r\n0\r\n\r\n' + HIDDEN)
        assertDenied(t, h, res, { status: 501, code: 'PORTVAKT_ERR_TRANSFER_CODING_UNSUPPORTED', challenge: null, secrets: [writer] })
        t.equal(res.headers.connection, 'close', `${path} ${lines.join(' + ')}: the connection is closed`)
        t.equal(res.raw.match(/^HTTP\/1\.1 \d{3} /gm)?.length ?? 0, 1, 'exactly one response: the pipelined request is never read')
      }
    }
    const access = h.logs().slice(logged).filter((l) => l.msg === 'access')
    t.equal(access.length, 2 * codings.length, 'one access line per refusal')
    t.match(access[0], { method: 'POST', path: '/api/v1/arbeidsforhold', outcome: 'bad_request', code: 'PORTVAKT_ERR_TRANSFER_CODING_UNSUPPORTED' })
    t.same(h.logs().slice(logged).filter((l) => Number(l.level) >= 50), [], 'a client\'s framing is not our failure: no error line, 501 or not')
  })

  t.test('Transfer-Encoding: chunked passes in any case and with surrounding whitespace, its body forwarded whole', async (t) => {
    for (const te of ['chunked', 'CHUNKED', ' Chunked ', '\tchunked']) {
      resetSeen(h)
      const res = await sendRaw(h.url, head([`Transfer-Encoding: ${te}`, 'Connection: close']) + '5\r\nhello\r\n0\r\n\r\n')
      t.equal(res.status, 200, JSON.stringify(te))
      t.same(h.upstream.seen.map((s) => [s.method, s.url, s.bodyBytes, s.bodySha256]), [['POST', '/public', 5, createHash('sha256').update('hello').digest('hex')]])
    }
  })

  t.test('refuses whitespace before the colon of Transfer-Encoding', async (t) => {
    await refused(t, head(['Transfer-Encoding : chunked']) + '0\r\n\r\n' + HIDDEN)
  })

  t.test('refuses obs-fold (a header line continued with whitespace)', async (t) => {
    await refused(t, head(['X-Note: a', ' Transfer-Encoding: chunked', 'Content-Length: 0']) + HIDDEN)
    await refused(t, head(['Transfer-Encoding:', ' chunked']) + '0\r\n\r\n' + HIDDEN)
  })

  t.test('refuses bare LF line endings', async (t) => {
    await refused(t, 'POST /public HTTP/1.1\nHost: portvakt.test\nContent-Length: 0\n\n' + HIDDEN)
    await refused(t, 'POST /public HTTP/1.1\r\nHost: portvakt.test\r\nContent-Length: 0\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' + HIDDEN)
  })

  t.test('refuses a malformed chunk size', async (t) => {
    await refused(t, head(['Transfer-Encoding: chunked']) + 'fffffffffffffffff\r\nx\r\n0\r\n\r\n', badFraming)
    await refused(t, head(['Transfer-Encoding: chunked']) + '5 ;\u0000\r\nhello\r\n0\r\n\r\n', badFraming)
  })

  t.test('a Content-Length body is a body: the request inside it is never a second request', async (t) => {
    const res = await sendRaw(h.url, head([`Content-Length: ${HIDDEN.length}`, 'Content-Type: text/plain', 'Connection: close']) + HIDDEN)
    t.equal(res.status, 200)
    t.same(h.upstream.seen.map((s) => [s.method, s.url, s.bodyBytes]), [['POST', '/public', HIDDEN.length]])
  })

  t.test('an Upgrade: websocket request without a token is refused like any other', async (t) => {
    const res = await sendRaw(h.url, ['GET /api/v1/arbeidsforhold HTTP/1.1', 'Host: portvakt.test', 'Connection: Upgrade', 'Upgrade: websocket',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13'].join('\r\n') + '\r\n\r\n', { firstResponse: true })
    assertDenied(t, h, res, { status: 401, code: 'PORTVAKT_ERR_TOKEN_MISSING', challenge: CHALLENGE.bare })
  })

  t.test('an Upgrade: websocket request with a valid token is not tunnelled: forwarded once as a plain GET', async (t) => {
    for (const path of ['/api/v1/arbeidsforhold', '/public']) {
      resetSeen(h)
      const res = await sendRaw(h.url, [`GET ${path} HTTP/1.1`, 'Host: portvakt.test', 'Connection: Upgrade', 'Upgrade: websocket',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', `Authorization: Bearer ${token}`].join('\r\n') + '\r\n\r\n', { firstResponse: true })
      t.equal(res.status, 200, `${path}: the upstream's ordinary answer, never 101`)
      t.equal(res.headers.upgrade, undefined, 'no Upgrade in the answer')
      // The upgrade is dropped as hop-by-hop; the request goes on as the GET it also is.
      t.same(h.upstream.seen.map((s) => [s.method, s.url]), [['GET', path]], 'the upstream saw exactly one plain GET')
      const seen = h.upstream.seen[0]
      t.equal(seen?.headers.upgrade, undefined, 'no Upgrade reaches the upstream')
      t.equal(seen?.headers.connection, 'keep-alive', 'the pool\'s own Connection, not the client\'s Upgrade')
      t.equal(seen?.bodyBytes, 0)
      t.same(JSON.parse(res.body), JSON.parse(JSON.stringify(seen)), 'the client got what the upstream answered')
      if (path !== '/public') t.equal(seen?.headers['x-maskinporten-consumer'], '123456789', 'it passed the gate like any GET')
    }
  })

  t.test('an h2c upgrade is not honoured: forwarded once as a plain GET', async (t) => {
    const res = await sendRaw(h.url, ['GET /public HTTP/1.1', 'Host: portvakt.test', 'Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA'].join('\r\n') + '\r\n\r\n', { firstResponse: true })
    t.equal(res.status, 200)
    t.same(h.upstream.seen.map((s) => [s.method, s.url]), [['GET', '/public']], 'the upstream saw exactly one plain GET')
    t.equal(h.upstream.seen[0]?.headers.upgrade, undefined)
    t.equal(h.upstream.seen[0]?.headers['http2-settings'], undefined)
    t.equal(h.upstream.seen[0]?.headers.connection, 'keep-alive')
  })
})
