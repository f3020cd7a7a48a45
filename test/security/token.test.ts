/**
 * Token attacks: forged algorithms, key confusion, embedded keys, odd
 * kids, unknown crit, JWE, malformed input, two credentials, replayed grants, oversized tokens.
 * Each is refused with 401/400 and its challenge, the upstream sees nothing, no log holds the token.
 */
import { createServer } from 'node:http'
import { KeyObject } from 'node:crypto'
import t from 'tap'
import { CompactEncrypt, exportJWK, SignJWT } from 'jose'
import { build } from '../helpers/build.js'
import { makeKey } from '../helpers/keys.js'
import { close, listen } from '../helpers/servers.js'
import { ask, askRawHeaders, assertDenied, b64url, CHALLENGE, resetSeen, signHmac, signingInput, signRs256, validClaims, type Answer } from '../helpers/attack.js'

const PATH = '/api/v1/arbeidsforhold/42'

t.test('token attacks', async (t) => {
  const h = await build(t)
  const get = async (token: string): Promise<Answer> => await ask(h.url + PATH, { headers: { authorization: `Bearer ${token}` } })
  const invalid = { status: 401, code: 'PORTVAKT_ERR_TOKEN_INVALID', challenge: CHALLENGE.invalidToken }
  t.beforeEach(() => { resetSeen(h) })

  t.test('a valid token still passes (control)', async (t) => {
    const res = await get(await h.mint())
    t.equal(res.status, 200)
    t.equal(h.upstream.seen.length, 1)
  })

  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    t.test(`refuses an unsigned token with alg ${alg}`, async (t) => {
      const token = `${signingInput({ alg, kid: h.key.kid }, validClaims())}.`
      assertDenied(t, h, await get(token), { ...invalid, reason: 'malformed', secrets: [token] })
      const withSig = `${token}AAAA`
      assertDenied(t, h, await get(withSig), { ...invalid, reason: 'bad_alg', secrets: [withSig] })
    })
  }

  t.test('refuses HS256/384/512 tokens keyed with the RSA public key (PEM, DER, JWK)', async (t) => {
    const publicKey = KeyObject.from(h.key.publicKey)
    const secrets: Array<[string, string | Buffer]> = [
      ['pem spki', publicKey.export({ type: 'spki', format: 'pem' })],
      ['pem pkcs1', publicKey.export({ type: 'pkcs1', format: 'pem' })],
      ['der spki', publicKey.export({ type: 'spki', format: 'der' })],
      ['jwk', JSON.stringify(h.key.jwk)],
      ['jwk n', h.key.jwk.n as string]
    ]
    for (const bits of [256, 384, 512] as const) {
      for (const [form, secret] of secrets) {
        const token = signHmac(bits, secret, { alg: `HS${bits}`, kid: h.key.kid, typ: 'JWT' }, validClaims())
        assertDenied(t, h, await get(token), { ...invalid, reason: 'bad_alg', secrets: [token] })
        t.comment(`HS${bits} keyed with ${form}: refused`)
      }
    }
  })

  t.test('refuses a valid signature with an algorithm outside the allowlist (RS384, RS512, PS256)', async (t) => {
    for (const alg of ['RS384', 'RS512', 'PS256']) {
      const token = await new SignJWT(validClaims()).setProtectedHeader({ alg, kid: h.key.kid }).sign(KeyObject.from(h.key.privateKey))
      assertDenied(t, h, await get(token), { ...invalid, reason: 'bad_alg', secrets: [token] })
    }
  })

  t.test('ignores embedded jwk, jku, x5u and x5c headers and fetches nothing from them', async (t) => {
    let trapHits = 0
    const trap = createServer((_req, res) => { trapHits++; res.end('{}') })
    const trapUrl = await listen(trap)
    t.teardown(async () => { await close(trap) })
    const attacker = await makeKey('attacker-key')
    const der = KeyObject.from(attacker.publicKey).export({ type: 'spki', format: 'der' }).toString('base64')
    const jwksHitsBefore = h.jwks.hits
    const headers: Array<Record<string, unknown>> = [
      { alg: 'RS256', jwk: attacker.jwk },
      { alg: 'RS256', kid: h.key.kid, jwk: attacker.jwk },
      { alg: 'RS256', kid: attacker.kid, jku: `${trapUrl}/jwks` },
      { alg: 'RS256', kid: h.key.kid, jku: `${trapUrl}/jwks` },
      { alg: 'RS256', kid: attacker.kid, x5u: `${trapUrl}/cert.pem` },
      { alg: 'RS256', kid: h.key.kid, x5c: [der] }
    ]
    for (const header of headers) {
      const token = signRs256(attacker, header, validClaims())
      const res = await get(token)
      assertDenied(t, h, res, { status: 401, code: 'PORTVAKT_ERR_TOKEN_INVALID', challenge: CHALLENGE.invalidToken, secrets: [token] })
    }
    t.equal(trapHits, 0, 'no outbound fetch to jku/x5u')
    t.ok(h.jwks.hits - jwksHitsBefore <= 1, 'at most one JWKS refetch (unknown kid, then the cooldown)')
  })

  t.test('refuses odd kids: path-like, 10 KB, number, object, missing (attacker-signed)', async (t) => {
    const attacker = await makeKey('odd-kid-attacker')
    const kids: unknown[] = ['../../../../etc/passwd', 'x'.repeat(10_240), 42, { $ne: null }, ['test-key-1'], undefined, '', h.key.kid]
    for (const kid of kids) {
      const header = kid === undefined ? { alg: 'RS256' } : { alg: 'RS256', kid }
      const token = signRs256(attacker, header, validClaims())
      const res = await get(token)
      if (typeof kid === 'string' && kid.length > 8192) {
        assertDenied(t, h, res, { ...invalid, reason: 'too_large', secrets: [token] })
      } else {
        assertDenied(t, h, res, { ...invalid, secrets: [token] })
      }
    }
  })

  t.test('refuses a token with an odd kid even when signed with the real key', async (t) => {
    for (const kid of ['../' + h.key.kid, 42, { kid: h.key.kid }]) {
      const token = signRs256(h.key, { alg: 'RS256', kid }, validClaims())
      assertDenied(t, h, await get(token), { ...invalid, reason: 'unknown_kid', secrets: [token] })
    }
  })

  t.test('refuses an unknown crit header parameter', async (t) => {
    const token = signRs256(h.key, { alg: 'RS256', kid: h.key.kid, crit: ['x-portvakt-unknown'], 'x-portvakt-unknown': true }, validClaims())
    assertDenied(t, h, await get(token), { ...invalid, reason: 'malformed', secrets: [token] })
    const b64 = signRs256(h.key, { alg: 'RS256', kid: h.key.kid, b64: false, crit: ['b64'] }, validClaims())
    assertDenied(t, h, await get(b64), { ...invalid, secrets: [b64] })
  })

  t.test('refuses a JWE (5 parts), even one encrypted to the issuer key', async (t) => {
    const jwe = await new CompactEncrypt(Buffer.from(JSON.stringify(validClaims())))
      .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: h.key.kid })
      .encrypt(KeyObject.from(h.key.publicKey))
    t.equal(jwe.split('.').length, 5)
    assertDenied(t, h, await get(jwe), { ...invalid, reason: 'malformed', secrets: [jwe] })
  })

  t.test('refuses malformed segments, padding, whitespace and non-object JSON', async (t) => {
    const good = await h.mint()
    const [hd = '', pl = '', sg = ''] = good.split('.')
    const malformed = [
      'abc', 'a.b', 'a.b.c', `${hd}.${pl}`, `${hd}.${pl}.${sg}.x`, `${hd}..${sg}`, `.${pl}.${sg}`,
      `${hd}.${pl}.${sg}==`,
      `${hd}.${pl}.${sg.slice(0, -2)}`, `${hd}.${pl.slice(0, -1)}.${sg}`,
      `${b64url('not json')}.${pl}.${sg}`,
      // the same bytes spelt in standard base64: Node would decode it, a JWS must not have it
      `${hd}.${pl}.${sg.replace(/-/g, '+').replace(/_/g, '/')}`, `${hd}.${pl}.${sg}=`
    ]
    for (const token of malformed) {
      assertDenied(t, h, await get(token), { ...invalid, secrets: [token, good] })
    }
    for (const payload of ['[]', '"text"', 'null', '42', 'true', '[{"iss":"x"}]']) {
      const token = signRs256(h.key, { alg: 'RS256', kid: h.key.kid }, payload)
      assertDenied(t, h, await get(token), { ...invalid, reason: 'malformed', secrets: [token] })
    }
    for (const header of ['[]', '"RS256"', 'null']) {
      const token = signRs256(h.key, header, validClaims())
      assertDenied(t, h, await get(token), { ...invalid, reason: 'malformed', secrets: [token] })
    }
    // Whitespace or inner `=` in the credential: not a b64token (RFC 6750 §2.1), a bad request.
    for (const header of [`Bearer ${hd}=.${pl}.${sg}`, `Bearer ${hd}.${pl}=.${sg}`, `Bearer ${hd}. ${pl}.${sg}`, `Bearer ${hd}.${pl}.${sg} x`, `Bearer\t${good}`, `Bearer ${good}\u00a0`]) {
      const res = await askRawHeaders(h.url + PATH, ['authorization', header])
      assertDenied(t, h, res, { status: 400, code: 'PORTVAKT_ERR_BAD_REQUEST', challenge: CHALLENGE.invalidRequest, secrets: [good] })
    }
  })

  t.test('refuses two Bearer tokens: two headers, or a list in one', async (t) => {
    const a = await h.mint()
    const b = await h.mint()
    const twoHeaders = await askRawHeaders(h.url + PATH, ['authorization', `Bearer ${a}`, 'Authorization', `Bearer ${b}`])
    assertDenied(t, h, twoHeaders, { status: 400, code: 'PORTVAKT_ERR_BAD_REQUEST', challenge: CHALLENGE.invalidRequest, secrets: [a, b] })
    // Two credentials behind one Bearer scheme are not "Bearer <one token>": a bad request.
    for (const value of [`Bearer ${a}, Bearer ${b}`, `Bearer ${a},Bearer ${b}`, `Bearer ${a} ${b}`, `Bearer ${a}, ${b}`]) {
      const res = await ask(h.url + PATH, { headers: { authorization: value } })
      assertDenied(t, h, res, { status: 400, code: 'PORTVAKT_ERR_BAD_REQUEST', challenge: CHALLENGE.invalidRequest, secrets: [a, b] })
    }
    // A header that does not start with the Bearer scheme holds no bearer token at all (the later
    // Bearer in the list is not looked for): the bare challenge, as for a missing token.
    const basicFirst = await ask(h.url + PATH, { headers: { authorization: `Basic dXNlcjpwYXNz, Bearer ${a}` } })
    assertDenied(t, h, basicFirst, { status: 401, code: 'PORTVAKT_ERR_TOKEN_MISSING', challenge: CHALLENGE.bare, secrets: [a] })
  })

  t.test('refuses a Maskinporten grant (client-signed, aud = issuer) replayed as an access token', async (t) => {
    const client = await makeKey('client-virksomhetssertifikat')
    const now = Math.floor(Date.now() / 1000)
    const grant = {
      aud: 'https://test.maskinporten.no/',
      iss: '0b2a3b4c-5d6e-7f80-9a1b-2c3d4e5f6a7b',
      scope: 'nav:arbeid:arbeidsforhold.read',
      iat: now,
      exp: now + 100,
      jti: 'grant-1'
    }
    const der = KeyObject.from(client.publicKey).export({ type: 'spki', format: 'der' }).toString('base64')
    const signedByClient = signRs256(client, { alg: 'RS256', kid: client.kid, x5c: [der] }, grant)
    assertDenied(t, h, await get(signedByClient), { ...invalid, reason: 'unknown_kid', secrets: [signedByClient] })
    // Even were the grant signed with an issuer key, its iss is the client, not the issuer.
    const signedByIssuerKey = signRs256(h.key, { alg: 'RS256', kid: h.key.kid }, grant)
    assertDenied(t, h, await get(signedByIssuerKey), { ...invalid, reason: 'wrong_issuer', secrets: [signedByIssuerKey] })
  })

  t.test('refuses a token over 8192 characters before any crypto, and a 64 KB one at the HTTP layer', async (t) => {
    // A harness of its own with no unknown-kid cooldown: a token with an unknown kid that reached
    // verification would make the key store fetch the JWKS, so an unchanged hit count shows it did not.
    const fresh = await build(t, { env: { PORTVAKT_JWKS_COOLDOWN: '0s' } })
    const jwksHits = fresh.jwks.hits
    const unknownKid = { alg: 'RS256', kid: 'not-published-kid' }
    const big = signRs256(fresh.key, unknownKid, validClaims({ pad: 'x'.repeat(7000) }))
    t.ok(big.length > 8192 && big.length < 12_000)
    const bigRes = await ask(fresh.url + PATH, { headers: { authorization: `Bearer ${big}` } })
    assertDenied(t, fresh, bigRes, { ...invalid, reason: 'too_large', secrets: [big] })
    const huge = signRs256(fresh.key, unknownKid, validClaims({ pad: 'x'.repeat(48_000) }))
    t.ok(huge.length >= 64_000)
    const res = await ask(fresh.url + PATH, { headers: { authorization: `Bearer ${huge}` } })
    assertDenied(t, fresh, res, { status: 431, code: 'PORTVAKT_ERR_HEADERS_TOO_LARGE', secrets: [huge] })
    t.equal(fresh.jwks.hits, jwksHits, 'no key fetch for an oversized token')
    // Control: the same unknown kid in a token of normal size does reach verification and a fetch.
    const normal = signRs256(fresh.key, unknownKid, validClaims())
    const control = await ask(fresh.url + PATH, { headers: { authorization: `Bearer ${normal}` } })
    assertDenied(t, fresh, control, { ...invalid, reason: 'unknown_kid', secrets: [normal] })
    t.equal(fresh.jwks.hits, jwksHits + 1, 'an unknown kid of normal size costs one JWKS fetch')
  })

  t.test('refuses an unsigned token with an RSA public key as an oct JWK header', async (t) => {
    const jwk = await exportJWK(h.key.publicKey)
    const token = signHmac(256, Buffer.from(jwk.n as string, 'base64url'), { alg: 'HS256', jwk: { kty: 'oct', k: jwk.n } }, validClaims())
    assertDenied(t, h, await get(token), { ...invalid, reason: 'bad_alg', secrets: [token] })
  })
})
