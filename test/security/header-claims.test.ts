/**
 * Claims that become headers for the app (scope, client_id; the consumer's orgno is nine digits or
 * nothing): a value that cannot be a header value is a 401 bad_claim naming the claim, never the
 * 502 Node's header check would make of it, and the access line and metrics say bad_claim. Latin-1
 * (æ, ø, å: the NAIS manifest allows them in scope names) reaches the app as one byte a character.
 */
import t from 'tap'
import { build } from '../helpers/build.js'
import { scrape, valueOf } from '../helpers/metrics.js'
import { ask, assertDenied, CHALLENGE, resetSeen, signRs256, validClaims } from '../helpers/attack.js'

const PATH = '/api/v1/arbeidsforhold/1'

const ROUTES = `
routes:
  - path: /api/v1/arbeidsforhold
    scopes: [nav:arbeid:arbeidsforhold.read]
  - path: /api/v1/bær
    scopes: [nav:arbeid:bær.read]
`

// Above U+00FF (Node refuses to send it), C0 and C1 controls, DEL, a lone surrogate, an emoji.
const UNSENDABLE = ['\u0100', '\u0394', '\u2028', '\u2029', '\ufffd', '\ufeff', '\ud83d\ude00', '\ud800', '\u0085', '\u009b', '\u0080', '\u009f', '\t', '\u007f', '\u0000', '\r\n']

t.test('a claim that cannot be a header value is refused as bad_claim, naming the claim', async (t) => {
  const h = await build(t, { routes: ROUTES })
  const sign = (claims: Record<string, unknown>): string => signRs256(h.key, { alg: 'RS256', kid: h.key.kid }, claims)
  let refused = 0
  for (const claim of ['client_id', 'scope']) {
    for (const bad of UNSENDABLE) {
      const value = claim === 'scope' ? `nav:arbeid:arbeidsforhold.read x${bad}y` : `client${bad}id`
      const token = sign(validClaims({ [claim]: value }))
      resetSeen(h)
      const answer = await ask(h.url + PATH, { headers: { authorization: `Bearer ${token}` } })
      assertDenied(t, h, answer, { status: 401, code: 'PORTVAKT_ERR_TOKEN_INVALID', challenge: CHALLENGE.invalidToken, reason: 'bad_claim', message: new RegExp(`the token's ${claim} claim`), secrets: [token] })
      refused++
    }
  }
  const access = h.logs().filter((l) => l.msg === 'access')
  t.equal(access.length, refused)
  t.ok(access.every((l) => l.status === 401 && l.reason === 'bad_claim' && l.code === 'PORTVAKT_ERR_TOKEN_INVALID'), 'each access line names the refusal and its reason')
  t.notOk(h.logs().some((l) => l.level === 50), 'no error line: a bad token is normal traffic')
  t.equal(valueOf(await scrape(h.adminUrl), 'portvakt_token_rejections_total', { reason: 'bad_claim' }), refused, 'counted by reason')
})

t.test('Latin-1 in scope and client_id reaches the app as one byte a character, and routes on an æøå scope', async (t) => {
  const h = await build(t, { routes: ROUTES })
  const sign = (claims: Record<string, unknown>): string => signRs256(h.key, { alg: 'RS256', kid: h.key.kid }, claims)
  const token = sign(validClaims({ scope: 'nav:arbeid:bær.read nav:arbeid:arbeidsforhold.read Ø\u00a0Å', client_id: 'klient-øst' }))
  for (const path of ['/api/v1/bær/1'.replace('æ', '%C3%A6'), PATH]) {
    resetSeen(h)
    const answer = await ask(h.url + path, { headers: { authorization: `Bearer ${token}` } })
    t.equal(answer.status, 200, path)
    // Node reads header bytes as Latin-1: had the value gone as UTF-8, "æ" would read "Ã¦" here.
    const seen = h.upstream.seen[0]?.headers
    t.equal(seen?.['x-maskinporten-scope'], 'nav:arbeid:bær.read nav:arbeid:arbeidsforhold.read Ø\u00a0Å')
    t.equal(seen?.['x-maskinporten-client-id'], 'klient-øst')
  }
  const short = sign(validClaims({ scope: 'nav:arbeid:bar.read' }))
  t.equal((await ask(`${h.url}/api/v1/b%C3%A6r/1`, { headers: { authorization: `Bearer ${short}` } })).status, 403, 'bar is not bær')
})
