/**
 * Header attacks (issue 7, group "HTTP and paths"): forged identity headers in every spelling, on
 * protected, public and unmatched paths; `Connection:` smuggling; spoofed forwarding headers; method
 * overrides. The upstream must see our identity headers only, and exactly the safe request.
 */
import t, { type Test } from 'tap'
import { build, type Harness } from '../helpers/build.js'
import type { Seen } from '../helpers/servers.js'
import { askRawHeaders, assertDenied, assertNoSecretLogged, CHALLENGE, resetSeen, sendRaw } from '../helpers/attack.js'

const FORGED = '999999999'
const IDENTITY = ['x-maskinporten-consumer', 'x-maskinporten-client-id', 'x-maskinporten-scope']

/** Every spelling of the identity headers a client might try, as a flat raw-header list. */
function forgedIdentity (): string[] {
  const out: string[] = []
  for (const name of ['X-Maskinporten-Consumer', 'X-Maskinporten-Client-Id', 'X-Maskinporten-Scope']) {
    for (const spelt of [name, name.toLowerCase(), name.toUpperCase(), name.replace(/-/g, '_'), name.replace(/-/g, '.'), name.replace(/-/g, '_').toLowerCase(), name.replace('-', '_')]) {
      out.push(spelt, FORGED)
    }
    out.push(name, 'nav:arbeid:admin') // a duplicate of the plain name
  }
  return out
}

/** Header names as an upstream might fold them: lower case, `_` and `.` read as `-`. */
function canonicalNames (seen: Seen | undefined): string[] {
  return Object.keys(seen?.headers ?? {}).map((n) => n.toLowerCase().replace(/[_.]/g, '-'))
}

function assertOnlyOurIdentity (t: Test, h: Harness, expected: Record<string, string | undefined>): void {
  const seen = h.upstream.seen[0]
  t.ok(seen, 'the upstream saw the request')
  for (const name of IDENTITY) {
    t.equal(canonicalNames(seen).filter((n) => n === name).length, expected[name] === undefined ? 0 : 1, `${name}: one copy at most, in one spelling`)
    t.same(seen?.headers[name], expected[name], `${name} is ours`)
  }
  t.notOk(JSON.stringify(seen?.headers).includes(FORGED), 'no forged value anywhere')
}

t.test('header attacks', async (t) => {
  const h = await build(t)
  const token = await h.mint()
  const bearer = ['authorization', `Bearer ${token}`]
  const ours = { 'x-maskinporten-consumer': '123456789', 'x-maskinporten-client-id': '0b2a3b4c-5d6e-7f80-9a1b-2c3d4e5f6a7b', 'x-maskinporten-scope': 'nav:arbeid:arbeidsforhold.read' }
  t.beforeEach(() => { resetSeen(h) })

  t.test('forged identity headers in any case, with _ or . for -, duplicated: replaced by ours on a protected path', async (t) => {
    const res = await askRawHeaders(`${h.url}/api/v1/arbeidsforhold/1`, [...bearer, ...forgedIdentity()])
    t.equal(res.status, 200)
    assertOnlyOurIdentity(t, h, ours)
    assertNoSecretLogged(t, h, [])
  })

  t.test('forged identity headers are removed on a public path', async (t) => {
    const res = await askRawHeaders(`${h.url}/public/x`, forgedIdentity())
    t.equal(res.status, 200)
    assertOnlyOurIdentity(t, h, {})
  })

  t.test('forged identity headers on an unmatched path: 404, nothing forwarded', async (t) => {
    const res = await askRawHeaders(`${h.url}/nowhere`, [...bearer, ...forgedIdentity()])
    assertDenied(t, h, res, { status: 404, code: 'PORTVAKT_ERR_NOT_FOUND', challenge: null, secrets: [token] })
  })

  t.test('forged identity headers with no token on a protected path: 401, nothing forwarded', async (t) => {
    const res = await askRawHeaders(`${h.url}/api/v1/arbeidsforhold`, forgedIdentity())
    assertDenied(t, h, res, { status: 401, code: 'PORTVAKT_ERR_TOKEN_MISSING', challenge: CHALLENGE.bare })
  })

  t.test('forged identity headers sent as trailers never reach the upstream', async (t) => {
    for (const path of ['/public/upload', '/api/v1/arbeidsforhold/1']) {
      resetSeen(h)
      const auth = path.startsWith('/api') ? `Authorization: Bearer ${await h.mint({ claims: { scope: 'nav:arbeid:arbeidsforhold.write' } })}\r\n` : ''
      const res = await sendRaw(h.url, `POST ${path} HTTP/1.1\r\nHost: portvakt.test\r\n${auth}Transfer-Encoding: chunked\r\nTrailer: X-Maskinporten-Consumer\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n` +
        `5\r\nhello\r\n0\r\nX-Maskinporten-Consumer: ${FORGED}\r\nX_Maskinporten_Scope: ${FORGED}\r\n\r\n`)
      t.equal(res.status, 200, path)
      const seen = h.upstream.seen[0]
      t.equal(seen?.bodyBytes, 5)
      t.same(seen?.trailers, {}, 'no trailers forwarded')
      t.notOk(JSON.stringify(seen).includes(FORGED), 'the forged value is nowhere')
    }
  })

  t.test('Connection: <our identity header>, authorization: ours survive, the client\'s do not', async (t) => {
    const res = await askRawHeaders(`${h.url}/api/v1/arbeidsforhold/1`, [
      ...bearer, 'Connection', 'x-maskinporten-consumer, x-maskinporten-scope, authorization, x-forwarded-for',
      'X-Maskinporten-Consumer', FORGED, 'X-Forwarded-For', '6.6.6.6'
    ])
    t.equal(res.status, 200)
    assertOnlyOurIdentity(t, h, ours)
    const seen = h.upstream.seen[0]
    t.equal(seen?.headers['x-forwarded-for'], '127.0.0.1', 'our X-Forwarded-For survives')
    t.notMatch(String(seen?.headers.connection ?? ''), /maskinporten|forwarded/i, 'no Connection listing our headers reaches the upstream')
  })

  t.test('Connection-listed identity headers on a public path are still removed', async (t) => {
    const res = await askRawHeaders(`${h.url}/public`, ['Connection', 'keep-alive, X-Maskinporten-Consumer', 'X-Maskinporten-Consumer', FORGED, 'x_maskinporten_consumer', FORGED])
    t.equal(res.status, 200)
    assertOnlyOurIdentity(t, h, {})
  })

  t.test('Forwarded, X-Forwarded-*, X-Real-IP and X-Original-URL from the client are replaced or dropped', async (t) => {
    const spoofed = [
      'Forwarded', 'for=6.6.6.6;host=evil.example;proto=https', 'X-Forwarded-For', '6.6.6.6', 'X-Forwarded-Host', 'evil.example',
      'X-Forwarded-Proto', 'https', 'X-Forwarded-Port', '443', 'X-Forwarded-Prefix', '/admin', 'X-Real-IP', '6.6.6.6',
      'X-Client-IP', '6.6.6.6', 'X-Original-URL', '/internal/admin', 'X-Rewrite-URL', '/internal/admin', 'X-Original-URI', '/internal/admin',
      'X_Forwarded_For', '6.6.6.6', 'x.real.ip', '6.6.6.6', 'X-Forwarded-Uri', '/internal/admin'
    ]
    for (const path of ['/public', '/api/v1/arbeidsforhold']) {
      resetSeen(h)
      const res = await askRawHeaders(h.url + path, [...bearer, ...spoofed])
      t.equal(res.status, 200)
      const headers = h.upstream.seen[0]?.headers ?? {}
      t.equal(headers['x-forwarded-for'], '127.0.0.1')
      t.equal(headers['x-forwarded-proto'], 'http')
      t.equal(headers['x-forwarded-host'], new URL(h.url).host)
      for (const name of ['forwarded', 'x-forwarded-port', 'x-forwarded-prefix', 'x-real-ip', 'x-client-ip', 'x-original-url', 'x-rewrite-url', 'x-original-uri', 'x-forwarded-uri']) {
        t.notOk(canonicalNames(h.upstream.seen[0]).includes(name), `${name} dropped`)
      }
      t.notOk(JSON.stringify(headers).includes('6.6.6.6'), 'no spoofed address anywhere')
      t.notOk(JSON.stringify(headers).includes('/internal/admin'), 'no spoofed URL anywhere')
    }
  })

  t.test('X-Original-URL and X-Forwarded-Prefix never change the decision', async (t) => {
    const res = await askRawHeaders(`${h.url}/api/v1/arbeidsforhold`, ['X-Original-URL', '/public', 'X-Rewrite-URL', '/public', 'X-Forwarded-Prefix', '/public'])
    assertDenied(t, h, res, { status: 401, code: 'PORTVAKT_ERR_TOKEN_MISSING', challenge: CHALLENGE.bare })
  })

  t.test('method-override headers are dropped; the upstream sees the method we authorised', async (t) => {
    const overrides = ['X-HTTP-Method-Override', 'DELETE', 'X-HTTP-Method', 'DELETE', 'X-Method-Override', 'DELETE', 'x_http_method_override', 'DELETE', 'X.HTTP.Method', 'DELETE']
    for (const path of ['/public', '/api/v1/arbeidsforhold/1']) {
      resetSeen(h)
      const res = await askRawHeaders(h.url + path, [...bearer, ...overrides])
      t.equal(res.status, 200)
      const seen = h.upstream.seen[0]
      t.equal(seen?.method, 'GET')
      t.notOk(JSON.stringify(seen?.headers).includes('DELETE'), 'no override reaches the upstream')
    }
  })

  t.test('a method override never changes the decision: GET with override DELETE still needs only read, and DELETE needs write', async (t) => {
    const res = await askRawHeaders(`${h.url}/api/v1/arbeidsforhold/1`, [...bearer, 'X-HTTP-Method-Override', 'DELETE'])
    t.equal(res.status, 200)
    t.equal(h.upstream.seen[0]?.method, 'GET')
    resetSeen(h)
    const del = await fetch(`${h.url}/api/v1/arbeidsforhold/1`, { method: 'DELETE', headers: { authorization: `Bearer ${token}`, 'x-http-method-override': 'GET' } })
    t.equal(del.status, 403, 'DELETE with a read token is short, whatever the override says')
    t.same(h.upstream.seen, [])
  })
})
