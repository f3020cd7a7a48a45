/**
 * Claims attacks: validly signed tokens whose claims must still be
 * refused: times, lifetime, issuer variants, audience forms, scope near-misses, control characters
 * and prototype keys. Signed with the real issuer key, so only the claim checks stand in the way.
 */
import t from 'tap'
import { build } from '../helpers/build.js'
import { ask, assertDenied, assertNoSecretLogged, CHALLENGE, resetSeen, signRs256, validClaims, type Answer, type Denial } from '../helpers/attack.js'

const PATH = '/api/v1/arbeidsforhold/42'

t.test('claims attacks', async (t) => {
  const h = await build(t)
  const sign = (claims: Record<string, unknown> | string): string => signRs256(h.key, { alg: 'RS256', kid: h.key.kid, typ: 'JWT' }, claims)
  const get = async (token: string, path = PATH): Promise<Answer> => await ask(h.url + path, { headers: { authorization: `Bearer ${token}` } })
  const invalid = (reason: string): Denial => ({ status: 401, code: 'PORTVAKT_ERR_TOKEN_INVALID', challenge: CHALLENGE.invalidToken, reason })
  const short = { status: 403, code: 'PORTVAKT_ERR_INSUFFICIENT_SCOPE', challenge: /^Bearer realm="portvakt", error="insufficient_scope", .*scope="nav:arbeid:arbeidsforhold.read"$/ }
  const now = (): number => Math.floor(Date.now() / 1000)
  t.beforeEach(() => { resetSeen(h) })

  t.test('accepts a hand-built valid token (control)', async (t) => {
    const res = await get(sign(validClaims()))
    t.equal(res.status, 200)
  })

  t.test('refuses a token without exp', async (t) => {
    const token = sign(validClaims({ exp: undefined }))
    assertDenied(t, h, await get(token), { ...invalid('missing_claim'), secrets: [token] })
  })

  t.test('refuses a non-numeric exp', async (t) => {
    for (const exp of ['9999999999', null, true, [9999999999], { n: 1 }]) {
      const token = sign(validClaims({ exp }))
      assertDenied(t, h, await get(token), { ...invalid('bad_claim'), secrets: [token] })
    }
  })

  t.test('refuses exp 1e308 (lifetime far beyond the maximum)', async (t) => {
    const token = sign(`{"iss":"https://test.maskinporten.no/","scope":"nav:arbeid:arbeidsforhold.read","iat":${now()},"exp":1e308}`)
    assertDenied(t, h, await get(token), { ...invalid('lifetime_too_long'), secrets: [token] })
  })

  t.test('refuses a negative exp', async (t) => {
    const token = sign(validClaims({ exp: -1 }))
    assertDenied(t, h, await get(token), { ...invalid('expired'), secrets: [token] })
  })

  t.test('refuses exp == now when the clock tolerance is 0', async (t) => {
    const strict = await build(t, { env: { PORTVAKT_CLOCK_TOLERANCE: '0s' } })
    const at = now()
    const token = signRs256(strict.key, { alg: 'RS256', kid: strict.key.kid }, validClaims({ iat: at - 60, exp: at }))
    const res = await ask(strict.url + PATH, { headers: { authorization: `Bearer ${token}` } })
    assertDenied(t, strict, res, { ...invalid('expired'), secrets: [token] })
  })

  t.test('refuses nbf in the future beyond the tolerance', async (t) => {
    const token = sign(validClaims({ nbf: now() + 60 }))
    assertDenied(t, h, await get(token), { ...invalid('not_yet_valid'), secrets: [token] })
  })

  t.test('refuses iat in the future beyond the tolerance', async (t) => {
    const token = sign(validClaims({ iat: now() + 60, exp: now() + 120 }))
    assertDenied(t, h, await get(token), { ...invalid('iat_in_future'), secrets: [token] })
  })

  t.test('refuses a lifetime longer than the default maximum of 680 s, accepts exactly 680 s', async (t) => {
    const at = now()
    const long = sign(validClaims({ iat: at, exp: at + 681 }))
    assertDenied(t, h, await get(long), { ...invalid('lifetime_too_long'), secrets: [long] })
    const edge = sign(validClaims({ iat: at, exp: at + 680 }))
    t.equal((await get(edge)).status, 200)
  })

  t.test('refuses a lifetime longer than a configured PORTVAKT_MAX_TOKEN_LIFETIME', async (t) => {
    const tight = await build(t, { env: { PORTVAKT_MAX_TOKEN_LIFETIME: '60s' } })
    const token = await tight.mint({ lifetime: 61 })
    const res = await ask(tight.url + PATH, { headers: { authorization: `Bearer ${token}` } })
    assertDenied(t, tight, res, { ...invalid('lifetime_too_long'), secrets: [token] })
    const old = await tight.mint({ iatOffset: -70, lifetime: 60 })
    const res2 = await ask(tight.url + PATH, { headers: { authorization: `Bearer ${old}` } })
    assertDenied(t, tight, res2, { status: 401, code: 'PORTVAKT_ERR_TOKEN_INVALID', secrets: [old] })
  })

  t.test('refuses iss variants: no trailing slash, other case, suffix domain, array, missing', async (t) => {
    const variants: unknown[] = [
      'https://test.maskinporten.no', 'https://TEST.maskinporten.no/', 'HTTPS://test.maskinporten.no/',
      'https://test.maskinporten.no.evil.example/', 'https://evil.example/https://test.maskinporten.no/',
      'https://test.maskinporten.no//', 'http://test.maskinporten.no/', ' https://test.maskinporten.no/',
      ['https://test.maskinporten.no/'], { iss: 'https://test.maskinporten.no/' }
    ]
    for (const iss of variants) {
      const token = sign(validClaims({ iss }))
      assertDenied(t, h, await get(token), { status: 401, code: 'PORTVAKT_ERR_TOKEN_INVALID', challenge: CHALLENGE.invalidToken, secrets: [token] })
    }
    const none = sign(validClaims({ iss: undefined }))
    assertDenied(t, h, await get(none), { status: 401, code: 'PORTVAKT_ERR_TOKEN_INVALID', secrets: [none] })
  })

  t.test('audience: a string or an array holding it passes; missing, other, or not a string is refused', async (t) => {
    const path = '/api/v1/rapport/1'
    const claims = (aud: unknown): Record<string, unknown> => validClaims({ aud, scope: 'nav:arbeid:rapport.read' })
    t.equal((await get(sign(claims('https://rapport.api.nav.no')), path)).status, 200, 'string')
    t.equal((await get(sign(claims(['https://other.example', 'https://rapport.api.nav.no'])), path)).status, 200, 'array')
    resetSeen(h)
    for (const aud of [undefined, 'https://rapport.api.nav.no/', 'https://RAPPORT.api.nav.no', 'https://other.example', [], ['https://other.example']]) {
      const token = sign(claims(aud))
      assertDenied(t, h, await get(token, path), { ...invalid('wrong_audience'), secrets: [token] })
    }
    for (const aud of [42, { aud: 'https://rapport.api.nav.no' }, [42], [['https://rapport.api.nav.no']]]) {
      const token = sign(claims(aud))
      assertDenied(t, h, await get(token, path), { status: 401, code: 'PORTVAKT_ERR_TOKEN_INVALID', challenge: CHALLENGE.invalidToken, secrets: [token] })
    }
  })

  t.test('refuses scope near-misses: longer, prefixed, other case, other separators', async (t) => {
    for (const scope of [
      'nav:arbeid:arbeidsforhold.readwrite', 'xnav:arbeid:arbeidsforhold.read', 'NAV:ARBEID:ARBEIDSFORHOLD.READ',
      'nav:arbeid:arbeidsforhold.rea', 'nav:arbeid:arbeidsforhold', 'nav:arbeid:arbeidsforhold.read.',
      'nav:arbeid:arbeidsforhold.write', 'other\u00a0nav:arbeid:arbeidsforhold.read', 'nav:arbeid:arbeidsforhold.read\u00a0',
      'nav:arbeid:arbeidsforhold.read,x', ''
    ]) {
      const token = sign(validClaims({ scope }))
      assertDenied(t, h, await get(token), { ...short, secrets: [token] })
    }
  })

  t.test('refuses scopes separated by tab, newline or U+2028, and scope as an array', async (t) => {
    for (const scope of ['other\tnav:arbeid:arbeidsforhold.read', 'other\nnav:arbeid:arbeidsforhold.read', 'other\r\nnav:arbeid:arbeidsforhold.read', 'nav:arbeid:arbeidsforhold.read\u2028x', ['nav:arbeid:arbeidsforhold.read'], 42]) {
      const token = sign(validClaims({ scope }))
      assertDenied(t, h, await get(token), { ...invalid('bad_claim'), secrets: [token] })
    }
  })

  t.test('refuses a token without scope on a route that needs one', async (t) => {
    const token = sign(validClaims({ scope: undefined }))
    assertDenied(t, h, await get(token), { ...short, secrets: [token] })
  })

  t.test('accepts the scope among others separated by single or repeated spaces', async (t) => {
    for (const scope of ['a:b nav:arbeid:arbeidsforhold.read', '  nav:arbeid:arbeidsforhold.read  a:b']) {
      t.equal((await get(sign(validClaims({ scope })))).status, 200)
    }
  })

  t.test('refuses a client_id with CR/LF or control characters: no header injection', async (t) => {
    for (const clientId of ['abc\r\nX-Maskinporten-Consumer: 999999999', 'abc\nx', 'abc\u0000', 'abc\u007f', 42]) {
      const token = sign(validClaims({ client_id: clientId }))
      assertDenied(t, h, await get(token), { ...invalid('bad_claim'), secrets: [token] })
    }
  })

  t.test('a consumer.ID with CR/LF is no consumer: no identity header, refused where consumers are listed', async (t) => {
    const id = '0192:123456789\r\nX-Injected: yes'
    const token = sign(validClaims({ consumer: { authority: 'iso6523-actorid-upis', ID: id } }))
    const res = await get(token)
    t.equal(res.status, 200)
    const seen = h.upstream.seen[0]
    t.equal(seen?.headers['x-maskinporten-consumer'], undefined)
    t.equal(seen?.headers['x-injected'], undefined)
    resetSeen(h)
    const rapport = sign(validClaims({ scope: 'nav:arbeid:rapport.read', aud: 'https://rapport.api.nav.no', consumer: { ID: id } }))
    assertDenied(t, h, await get(rapport, '/api/v1/rapport'), { status: 403, code: 'PORTVAKT_ERR_CONSUMER_NOT_ALLOWED', challenge: CHALLENGE.insufficientScope, secrets: [rapport] })
    assertNoSecretLogged(t, h, [token])
    t.notOk(h.logText().includes('X-Injected: yes\n'), 'logs escape control characters')
  })

  t.test('__proto__ and constructor claims neither grant scopes nor pollute prototypes', async (t) => {
    const payload = JSON.stringify(validClaims({ scope: undefined })).slice(0, -1) +
      ',"__proto__":{"scope":"nav:arbeid:arbeidsforhold.read","orgno":"999999999","isAdmin":true},"constructor":{"prototype":{"scope":"nav:arbeid:arbeidsforhold.read"}}}'
    const token = sign(payload)
    assertDenied(t, h, await get(token), { ...short, secrets: [token] })
    const consumer = sign(validClaims({ consumer: JSON.parse('{"__proto__":{"ID":"0192:123456789"}}') }))
    const res = await get(consumer)
    t.equal(res.status, 200)
    t.equal(h.upstream.seen[0]?.headers['x-maskinporten-consumer'], undefined, 'no orgno from a prototype')
    const probe: Record<string, unknown> = {}
    t.equal(probe.scope, undefined, 'Object.prototype untouched')
    t.equal(probe.isAdmin, undefined, 'Object.prototype untouched')
  })
})

t.test('claims with CR/LF reach neither the upstream as headers nor a log line', async (t) => {
  // A harness of its own, so its log holds only these requests.
  const h = await build(t)
  const sign = (claims: Record<string, unknown>): string => signRs256(h.key, { alg: 'RS256', kid: h.key.kid }, claims)
  const cases: Array<{ claim: string, claims: Record<string, unknown>, status: number }> = [
    { claim: 'client_id', claims: validClaims({ client_id: 'abc\r\nX-Injected-Client: yes' }), status: 401 },
    { claim: 'scope', claims: validClaims({ scope: 'nav:arbeid:arbeidsforhold.read\r\nX-Injected-Scope: yes' }), status: 401 },
    { claim: 'consumer.ID', claims: validClaims({ consumer: { authority: 'iso6523-actorid-upis', ID: '0192:123456789\r\nX-Injected-Consumer: yes' } }), status: 200 }
  ]
  const tokens: string[] = []
  for (const { claim, claims, status } of cases) {
    const token = sign(claims)
    tokens.push(token)
    const res = await ask(h.url + PATH, { headers: { authorization: `Bearer ${token}` } })
    t.equal(res.status, status, claim)
    if (status === 401) t.equal(JSON.parse(res.body).reason, 'bad_claim', `${claim}: a bad claim`)
  }
  // Only the consumer.ID case is forwarded (a consumer.ID that is not "0192:<9 digits>" is no
  // consumer); it arrives without any consumer header and without the injected one.
  t.equal(h.upstream.seen.length, 1, 'only the token with the odd consumer.ID was forwarded')
  for (const seen of h.upstream.seen) {
    t.same(Object.keys(seen.headers).filter((name) => name.startsWith('x-injected')), [], 'no injected header')
    t.equal(seen.headers['x-maskinporten-consumer'], undefined, 'no consumer header from a consumer.ID with CR/LF')
    t.notOk(Object.values(seen.headers).some((v) => /[\r\n]/.test(String(v))), 'no header value holds CR or LF')
  }
  // The logs: one JSON object per line and no raw CR anywhere. portvakt never logs claim text (the
  // access line carries only the orgno, which must be 9 digits, and the refusal's reason label), so the
  // injected text must not be in any log line at all, escaped or not.
  const text = h.logText()
  t.notOk(text.includes('\r'), 'no raw CR in the log')
  assertNoSecretLogged(t, h, tokens)
  t.notMatch(text, /X-Injected/i, 'no claim text is logged')
  const access = h.logs().filter((l) => l.msg === 'access')
  t.equal(access.length, cases.length, 'one access line per request')
  t.same(access.map((l) => l.consumer), [undefined, undefined, undefined], 'no consumer logged from these tokens')
})
