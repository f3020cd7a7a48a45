/**
 * PORTVAKT_TRUSTED_HOPS: with 0 (the default) the app sees only this hop's view of the forwarding
 * headers, whatever a client sends; with N the proxies in front's X-Forwarded-For (peer appended),
 * -Proto and -Host are passed on and the client address is the X-Forwarded-For entry N hops back.
 * Identity headers stay dropped whatever the count: only those three informational names are ever
 * passed on.
 */
import t from 'tap'
import { loadSettings } from '../../src/config/env.js'
import { clientAddress } from '../../src/proxy/forwarded-for.js'
import { build, type Harness } from '../helpers/build.js'
import { askRawHeaders, resetSeen, sendRaw } from '../helpers/attack.js'
import { delegatedClaims, SUPPLIER, SYSTEM_ID, SYSTEM_USER_ID, SYSTEM_USER_ORG, systemUserClaims } from '../helpers/party-claims.js'

/** What the app saw of the forwarding headers, and what the access line recorded. */
async function send (h: Harness, path: string, headers: string[], token?: string): Promise<{ status: number, seen: Record<string, unknown>, line: Record<string, unknown> | undefined }> {
  resetSeen(h)
  const res = await askRawHeaders(h.url + path, [...(token === undefined ? [] : ['authorization', `Bearer ${token}`]), ...headers])
  const seen = h.upstream.seen[0]?.headers ?? {}
  return { status: res.status, seen, line: h.logs().filter((l) => l.msg === 'access').at(-1) }
}

const INGRESS = ['X-Forwarded-For', '203.0.113.7', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'api.nav.no']

t.test('by default a client\'s X-Forwarded-* are replaced by this hop\'s view and the peer is the client', async (t) => {
  const h = await build(t)
  const { status, seen, line } = await send(h, '/public', INGRESS)
  t.equal(status, 200)
  t.match(seen, { 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': /^127\.0\.0\.1:\d+$/ })
  t.equal(line?.clientAddress, '127.0.0.1')
})

t.test('with 1 hop the ingress\'s X-Forwarded-For gets the peer appended, -Proto and -Host pass as sent, the client is its last entry', async (t) => {
  const h = await build(t, { env: { PORTVAKT_TRUSTED_HOPS: '1' } })
  const token = await h.mint()
  for (const path of ['/public', '/api/v1/arbeidsforhold/1']) {
    const { status, seen, line } = await send(h, path, ['X-Forwarded-For', '198.51.100.1, 203.0.113.7', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'api.nav.no'], token)
    t.equal(status, 200, path)
    t.match(seen, { 'x-forwarded-for': '198.51.100.1, 203.0.113.7, 127.0.0.1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.nav.no' }, path)
    t.equal(line?.clientAddress, '203.0.113.7', 'the address the ingress saw, not the one the client wrote before it')
  }
})

t.test('the client address is recorded for a refused request too', async (t) => {
  const h = await build(t, { env: { PORTVAKT_TRUSTED_HOPS: '1' } })
  const { status, line } = await send(h, '/api/v1/arbeidsforhold/1', INGRESS)
  t.equal(status, 401)
  t.match(line, { clientAddress: '203.0.113.7', status: 401, code: 'PORTVAKT_ERR_TOKEN_MISSING' })
  t.equal(h.upstream.seen.length, 0, 'the upstream saw nothing')
})

t.test('with trusted hops, every other forwarding and identity header is still dropped, in any spelling', async (t) => {
  const h = await build(t, { env: { PORTVAKT_TRUSTED_HOPS: '1' } })
  const forged = ['X_Forwarded_For', '6.6.6.6', 'x.forwarded.proto', 'gopher', 'X-Forwarded-User', 'admin', 'X-Forwarded-Email', 'a@b', 'X-Forwarded-Groups', 'admins',
    'X-Forwarded-Access-Token', 'tok', 'X-Forwarded-Client-Cert', 'cert', 'X-Forwarded-Port', '1', 'X-Real-IP', '6.6.6.6', 'Forwarded', 'for=6.6.6.6', 'X-Original-Forwarded-For', '6.6.6.6',
    'X-Maskinporten-Consumer', '999999999', 'Remote-User', 'admin']
  const { seen } = await send(h, '/public', [...INGRESS, ...forged])
  t.match(seen, { 'x-forwarded-for': '203.0.113.7, 127.0.0.1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.nav.no' })
  const leaked = Object.keys(seen).filter((name) => /forward|real-ip|maskinporten|remote|original/.test(name) && !['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'].includes(name))
  t.same(leaked, [], 'nothing else of them reaches the app')
  t.notMatch(JSON.stringify(seen), /6\.6\.6\.6|gopher|admin|999999999/)
})

t.test('with trusted hops, a client\'s delegation and system-user identity headers are dropped: the app sees the token\'s, or none', async (t) => {
  const h = await build(t, { env: { PORTVAKT_TRUSTED_HOPS: '1' } })
  const scope = 'nav:arbeid:arbeidsforhold.read'
  const forged = ['X-Maskinporten-Supplier', '999999999', 'x_maskinporten_systemuser_org', '999999999', 'X-Maskinporten-Systemuser-Id', 'forged-id', 'X.Maskinporten.System-Id', 'forged_system']
  const identity = (seen: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(seen).filter(([name]) => /maskinporten/.test(name) && !/consumer|client-id|scope/.test(name)))
  const plain = await send(h, '/api/v1/arbeidsforhold/1', [...INGRESS, ...forged], await h.mint({ claims: { scope } }))
  t.equal(plain.status, 200)
  t.same(identity(plain.seen), {}, 'a plain token: none of them')
  const delegated = await send(h, '/api/v1/arbeidsforhold/1', [...INGRESS, ...forged], await h.mint({ claims: { scope, ...delegatedClaims() } }))
  t.same(identity(delegated.seen), { 'x-maskinporten-supplier': SUPPLIER }, 'a delegated token: its supplier')
  const systemUser = await send(h, '/api/v1/arbeidsforhold/1', [...INGRESS, ...forged], await h.mint({ claims: { scope, ...systemUserClaims() } }))
  t.same(identity(systemUser.seen), { 'x-maskinporten-systemuser-org': SYSTEM_USER_ORG, 'x-maskinporten-systemuser-id': SYSTEM_USER_ID, 'x-maskinporten-system-id': SYSTEM_ID }, 'a system user: its own')
  for (const { seen } of [plain, delegated, systemUser]) t.equal(seen['x-forwarded-proto'], 'https', 'while the ingress\'s forwarding headers pass')
  const publicRoute = await send(h, '/public', [...INGRESS, ...forged])
  t.same(identity(publicRoute.seen), {}, 'a public route: none')
})

t.test('with trusted hops and none of the headers sent (a caller inside the cluster), this hop\'s view as by default', async (t) => {
  const h = await build(t, { env: { PORTVAKT_TRUSTED_HOPS: '1' } })
  const { seen, line } = await send(h, '/public', [])
  t.match(seen, { 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': /^127\.0\.0\.1:\d+$/ })
  t.equal(line?.clientAddress, '127.0.0.1')
})

t.test('the client address: the entry N hops back, the first when the chain is shorter, the peer when that entry is no IP address', async (t) => {
  t.equal(clientAddress('10.0.0.1', '1.1.1.1, 2.2.2.2', 0), '10.0.0.1', 'no hops: the peer, the header unread')
  t.equal(clientAddress('10.0.0.1', '1.1.1.1, 2.2.2.2', 1), '2.2.2.2')
  t.equal(clientAddress('10.0.0.1', '1.1.1.1, 2.2.2.2', 2), '1.1.1.1')
  t.equal(clientAddress('10.0.0.1', '1.1.1.1, 2.2.2.2', 5), '1.1.1.1', 'shorter than the hops: the first entry')
  t.equal(clientAddress('10.0.0.1', ' 2001:db8::1 ', 1), '2001:db8::1', 'IPv6, trimmed')
  t.equal(clientAddress('10.0.0.1', ['1.1.1.1', '2.2.2.2'], 2), '1.1.1.1', 'repeated headers read as one list')
  for (const bad of ['unknown', '', 'evil.example', '1.1.1.1:443', '1.1.1.1, ', '<script>']) t.equal(clientAddress('10.0.0.1', bad, 1), '10.0.0.1', JSON.stringify(bad))
  t.equal(clientAddress('10.0.0.1', undefined, 1), '10.0.0.1', 'no header: the peer')
})

t.test('PORTVAKT_TRUSTED_HOPS: 0 by default, 0 to 10, anything else refused with how to set it', async (t) => {
  const base = { MASKINPORTEN_ISSUER: 'https://test.maskinporten.no/', MASKINPORTEN_JWKS_URI: 'http://127.0.0.1:9/jwks' }
  t.equal(loadSettings(base).trustedHops, 0)
  t.equal(loadSettings({ ...base, PORTVAKT_TRUSTED_HOPS: '1' }).trustedHops, 1)
  t.equal(loadSettings({ ...base, PORTVAKT_TRUSTED_HOPS: '10' }).trustedHops, 10)
  for (const bad of ['-1', '11', 'one', '1.5', ' 1']) {
    const err = (() => { try { loadSettings({ ...base, PORTVAKT_TRUSTED_HOPS: bad }) } catch (e) { return e } })()
    t.match(err, { problems: [/^PORTVAKT_TRUSTED_HOPS: .* is not a number of proxy hops \(0 to 10\); on NAIS, 1 trusts the ingress/] }, bad)
  }
})

t.test('a request Fastify never read (a CONNECT, a head the parser refused) is logged with the peer\'s address', async (t) => {
  const h = await build(t, { env: { PORTVAKT_TRUSTED_HOPS: '1' } })
  await sendRaw(h.url, 'CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n')
  await sendRaw(h.url, 'GET / HTTP/1.1\r\nHost: portvakt.test\r\nBad Header: x\r\n\r\n')
  const lines = h.logs().filter((l) => l.msg === 'access')
  t.same(lines.map((l) => [l.status, l.clientAddress]), [[400, '127.0.0.1'], [400, '127.0.0.1']])
})
