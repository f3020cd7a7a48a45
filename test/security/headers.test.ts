/**
 * Header attacks: forged identity headers in every spelling, on
 * protected, public and unmatched paths; `Connection:` smuggling; spoofed forwarding headers; method
 * overrides. The upstream must see our identity headers only, and exactly the safe request; no log
 * line may hold the token the attack used.
 */
import t, { type Test } from 'tap'
import { build, type Harness } from '../helpers/build.js'
import type { Seen } from '../helpers/servers.js'
import { askRawHeaders, assertDenied, assertNoSecretLogged, CHALLENGE, resetSeen, sendRaw } from '../helpers/attack.js'

const FORGED = '999999999'
const IDENTITY = ['x-maskinporten-consumer', 'x-maskinporten-client-id', 'x-maskinporten-scope']

/** Every spelling of a header name a client might try: any case, `_` or `.` for `-`. */
function spellings (name: string): string[] {
  return [name, name.toLowerCase(), name.toUpperCase(), name.replace(/-/g, '_'), name.replace(/-/g, '.'), name.replace(/-/g, '_').toLowerCase(), name.replace('-', '_')]
}

/** Every spelling of the identity headers a client might try, as a flat raw-header list. */
function forgedIdentity (): string[] {
  const out: string[] = []
  for (const name of ['X-Maskinporten-Consumer', 'X-Maskinporten-Client-Id', 'X-Maskinporten-Scope']) {
    for (const spelt of spellings(name)) out.push(spelt, FORGED)
    out.push(name, 'nav:arbeid:admin') // a duplicate of the plain name
  }
  return out
}

/** Header names as an upstream might fold them: lower case, `_` and `.` read as `-`. */
function canonicalNames (seen: Seen | undefined): string[] {
  return Object.keys(seen?.headers ?? {}).map((n) => n.toLowerCase().replace(/[_.]/g, '-'))
}

/**
 * The headers the upstream saw for the one request it got, less those of the pool's own connection
 * (`host`, `connection`) and of body framing, which undici chooses.
 */
function appHeaders (t: Test, h: Harness): Record<string, unknown> {
  t.equal(h.upstream.seen.length, 1, 'the upstream saw one request')
  const headers: Record<string, unknown> = { ...h.upstream.seen[0]?.headers }
  for (const name of ['host', 'connection', 'content-length', 'transfer-encoding']) Reflect.deleteProperty(headers, name)
  return headers
}

/** The forwarding headers portvakt sets, for a client that sent `host`. */
function forwarding (host: string): Record<string, string> {
  return { 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': host }
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
  const host = new URL(h.url).host
  const token = await h.mint()
  const bearer = ['authorization', `Bearer ${token}`]
  const ours = { 'x-maskinporten-consumer': '123456789', 'x-maskinporten-client-id': '0b2a3b4c-5d6e-7f80-9a1b-2c3d4e5f6a7b', 'x-maskinporten-scope': 'nav:arbeid:arbeidsforhold.read' }
  t.beforeEach(() => { resetSeen(h) })

  t.test('forged identity headers in any case, with _ or . for -, duplicated: replaced by ours on a protected path', async (t) => {
    const res = await askRawHeaders(`${h.url}/api/v1/arbeidsforhold/1`, [...bearer, ...forgedIdentity()])
    t.equal(res.status, 200)
    assertOnlyOurIdentity(t, h, ours)
    t.same(appHeaders(t, h), { authorization: `Bearer ${token}`, ...forwarding(host), ...ours }, 'exactly the safe request')
    assertNoSecretLogged(t, h, [token])
  })

  t.test('forged identity headers are removed on a public path, token or not', async (t) => {
    const res = await askRawHeaders(`${h.url}/public/x`, [...bearer, ...forgedIdentity()])
    t.equal(res.status, 200)
    assertOnlyOurIdentity(t, h, {})
    t.same(appHeaders(t, h), { authorization: `Bearer ${token}`, ...forwarding(host) }, 'no identity headers: a public route checks no token')
    assertNoSecretLogged(t, h, [token])
  })

  t.test('any X-Maskinporten-* name from the client is dropped, not only the three we set', async (t) => {
    const invented = ['X-Maskinporten-Orgno', 'X-Maskinporten-Consumer-Orgno', 'x_maskinporten_authenticated', 'X.Maskinporten.Role', 'X-MASKINPORTEN-SUB']
    for (const path of ['/public', '/api/v1/arbeidsforhold']) {
      resetSeen(h)
      const res = await askRawHeaders(h.url + path, [...bearer, ...invented.flatMap((name) => [name, FORGED])])
      t.equal(res.status, 200, path)
      t.same(appHeaders(t, h), { authorization: `Bearer ${token}`, ...forwarding(host), ...(path === '/public' ? {} : ours) }, path)
    }
    assertNoSecretLogged(t, h, [token])
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
    const write = await h.mint({ claims: { scope: 'nav:arbeid:arbeidsforhold.write' } })
    for (const path of ['/public/upload', '/api/v1/arbeidsforhold/1']) {
      resetSeen(h)
      const protectedPath = path.startsWith('/api')
      const auth = protectedPath ? `Authorization: Bearer ${write}\r\n` : ''
      const res = await sendRaw(h.url, `POST ${path} HTTP/1.1\r\nHost: portvakt.test\r\n${auth}Transfer-Encoding: chunked\r\nTrailer: X-Maskinporten-Consumer\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n` +
        `5\r\nhello\r\n0\r\nX-Maskinporten-Consumer: ${FORGED}\r\nX_Maskinporten_Scope: ${FORGED}\r\n\r\n`)
      t.equal(res.status, 200, path)
      const seen = h.upstream.seen[0]
      t.equal(seen?.bodyBytes, 5)
      t.same(seen?.trailers, {}, 'no trailers forwarded')
      const identity = protectedPath ? { ...ours, 'x-maskinporten-scope': 'nav:arbeid:arbeidsforhold.write' } : {}
      t.same(appHeaders(t, h), { 'content-type': 'text/plain', ...forwarding('portvakt.test'), ...(protectedPath ? { authorization: `Bearer ${write}` } : {}), ...identity }, `${path}: exactly the safe request`)
    }
    assertNoSecretLogged(t, h, [write])
  })

  t.test('Connection: <our identity header>, authorization: ours survive; the client\'s Authorization, named hop-by-hop, is not forwarded', async (t) => {
    const res = await askRawHeaders(`${h.url}/api/v1/arbeidsforhold/1`, [
      ...bearer, 'Connection', 'x-maskinporten-consumer, x-maskinporten-scope, authorization, x-forwarded-for',
      'X-Maskinporten-Consumer', FORGED, 'X-Forwarded-For', '6.6.6.6'
    ])
    t.equal(res.status, 200, 'the token was checked before the hop-by-hop list was applied')
    assertOnlyOurIdentity(t, h, ours)
    t.same(appHeaders(t, h), { ...forwarding(host), ...ours }, 'no Authorization, our X-Forwarded-For, no Connection listing our headers')
    assertNoSecretLogged(t, h, [token])
  })

  t.test('Connection-listed identity headers on a public path are still removed', async (t) => {
    const res = await askRawHeaders(`${h.url}/public`, [...bearer, 'Connection', 'keep-alive, X-Maskinporten-Consumer', 'X-Maskinporten-Consumer', FORGED, 'x_maskinporten_consumer', FORGED])
    t.equal(res.status, 200)
    assertOnlyOurIdentity(t, h, {})
    t.same(appHeaders(t, h), { authorization: `Bearer ${token}`, ...forwarding(host) })
    assertNoSecretLogged(t, h, [token])
  })

  t.test('Forwarded, X-Forwarded-*, X-Real-IP and X-Original-URL from the client are replaced or dropped', async (t) => {
    const spoofed = [
      'Forwarded', 'for=6.6.6.6;host=evil.example;proto=https', 'X-Forwarded-For', '6.6.6.6', 'X-Forwarded-Host', 'evil.example',
      'X-Forwarded-Proto', 'https', 'X-Forwarded-Port', '443', 'X-Forwarded-Prefix', '/admin', 'X-Real-IP', '6.6.6.6',
      'X-Client-IP', '6.6.6.6', 'X-Original-URL', '/internal/admin', 'X-Rewrite-URL', '/internal/admin', 'X-Original-URI', '/internal/admin',
      'X_Forwarded_For', '6.6.6.6', 'x.real.ip', '6.6.6.6', 'X-Forwarded-Uri', '/internal/admin', 'X-Forwarded', 'for=6.6.6.6',
      'True-Client-IP', '6.6.6.6', 'X-Cluster-Client-IP', '6.6.6.6', 'CF-Connecting-IP', '6.6.6.6', 'True_Client_IP', '6.6.6.6',
      'X-Original-Forwarded-For', '6.6.6.6', 'X-Original-Host', 'evil.example', 'X-Original-Method', 'DELETE'
    ]
    for (const path of ['/public', '/api/v1/arbeidsforhold']) {
      resetSeen(h)
      const res = await askRawHeaders(h.url + path, [...bearer, ...spoofed])
      t.equal(res.status, 200)
      t.same(appHeaders(t, h), { authorization: `Bearer ${token}`, ...forwarding(host), ...(path === '/public' ? {} : ours) }, `${path}: only our forwarding headers`)
    }
    assertNoSecretLogged(t, h, [token])
  })

  t.test('identity-bearing X-Forwarded-* (oauth2-proxy, Envoy) are dropped in every spelling', async (t) => {
    const names = ['X-Forwarded-User', 'X-Forwarded-Email', 'X-Forwarded-Preferred-Username', 'X-Forwarded-Groups', 'X-Forwarded-Access-Token',
      'X-Forwarded-Client-Cert', 'X-Forwarded-Ssl', 'X-Forwarded-Scheme', 'X-Forwarded-Server']
    const forged = names.flatMap((name) => spellings(name).flatMap((spelt) => [spelt, `${FORGED}@evil.example`]))
    for (const path of ['/public', '/api/v1/arbeidsforhold']) {
      resetSeen(h)
      const res = await askRawHeaders(h.url + path, [...bearer, ...forged])
      t.equal(res.status, 200, path)
      t.same(appHeaders(t, h), { authorization: `Bearer ${token}`, ...forwarding(host), ...(path === '/public' ? {} : ours) }, `${path}: none reaches the app`)
    }
    assertNoSecretLogged(t, h, [token])
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
      t.equal(h.upstream.seen[0]?.method, 'GET')
      t.same(appHeaders(t, h), { authorization: `Bearer ${token}`, ...forwarding(host), ...(path === '/public' ? {} : ours) }, `${path}: no override reaches the upstream`)
    }
    assertNoSecretLogged(t, h, [token])
  })

  t.test('a method override never changes the decision: GET with override DELETE still needs only read, and DELETE needs write', async (t) => {
    const res = await askRawHeaders(`${h.url}/api/v1/arbeidsforhold/1`, [...bearer, 'X-HTTP-Method-Override', 'DELETE'])
    t.equal(res.status, 200)
    t.equal(h.upstream.seen[0]?.method, 'GET')
    t.same(appHeaders(t, h), { authorization: `Bearer ${token}`, ...forwarding(host), ...ours })
    resetSeen(h)
    const del = await fetch(`${h.url}/api/v1/arbeidsforhold/1`, { method: 'DELETE', headers: { authorization: `Bearer ${token}`, 'x-http-method-override': 'GET' } })
    t.equal(del.status, 403, 'DELETE with a read token is short, whatever the override says')
    t.same(h.upstream.seen, [])
    assertNoSecretLogged(t, h, [token])
  })
})
