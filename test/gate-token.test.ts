import t, { type Test } from 'tap'
import { decodeJwt } from 'jose'
import { build } from './helpers/build.js'
import { call, hmacWithPublicKey, unsignedToken } from './helpers/http.js'
import { makeKey } from './helpers/keys.js'
import { TEST_ISSUER } from './helpers/tokens.js'

const ITEMS = '/api/v1/arbeidsforhold/1'

t.test('token validation', async (t) => {
  const h = await build(t)
  const now = Math.floor(Date.now() / 1000)

  async function refused (t: Test, token: string, reason: string, path = ITEMS): Promise<void> {
    const before = h.upstream.seen.length
    const res = await call(`${h.url}${path}`, { token })
    t.equal(res.status, 401, 'status 401')
    t.equal(res.body.code, 'PORTVAKT_ERR_TOKEN_INVALID')
    t.equal(res.body.reason, reason)
    t.match(res.headers.get('www-authenticate'), /^Bearer realm="portvakt", error="invalid_token", error_description="[^"]+"$/)
    t.equal(h.upstream.seen.length, before, 'the upstream saw nothing')
    t.notOk(h.logText().includes(token.split('.')[1] ?? token), 'no token in the logs')
  }

  t.test('accepts a real-shaped Maskinporten token', async (t) => {
    const res = await call(`${h.url}${ITEMS}`, { token: await h.mint() })
    t.equal(res.status, 200)
  })

  t.test('a missing token is a 401 with a bare challenge (RFC 6750 §3.1)', async (t) => {
    const res = await call(`${h.url}${ITEMS}`)
    t.equal(res.status, 401)
    t.equal(res.headers.get('www-authenticate'), 'Bearer realm="portvakt"')
    t.equal(res.body.code, 'PORTVAKT_ERR_TOKEN_MISSING')
    t.type(res.body.message, 'string')
    t.notOk('stack' in res.body)
  })

  t.test('another scheme counts as no bearer token', async (t) => {
    const res = await call(`${h.url}${ITEMS}`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } })
    t.equal(res.status, 401)
    t.equal(res.headers.get('www-authenticate'), 'Bearer realm="portvakt"')
  })

  t.test('the scheme is case-insensitive', async (t) => {
    const res = await call(`${h.url}${ITEMS}`, { headers: { authorization: `bEaReR ${await h.mint()}` } })
    t.equal(res.status, 200)
  })

  t.test('two tokens in one header are a 400 invalid_request', async (t) => {
    const token = await h.mint()
    for (const value of [`Bearer ${token} ${token}`, `Bearer ${token}, Bearer ${token}`, 'Bearer ']) {
      const res = await call(`${h.url}${ITEMS}`, { headers: { authorization: value } })
      t.equal(res.status, 400, value.slice(0, 20))
      t.match(res.headers.get('www-authenticate'), /error="invalid_request"/)
    }
  })

  t.test('alg none is refused', async (t) => {
    const claims = decodeJwt(await h.mint())
    for (const alg of ['none', 'None', 'NONE']) await refused(t, unsignedToken(claims, alg, h.key.kid), 'malformed')
  })

  t.test('HS256 signed with the RSA public key is refused', async (t) => {
    await refused(t, await hmacWithPublicKey(decodeJwt(await h.mint()), h.key), 'bad_alg')
  })

  t.test('a kid that is not in the JWKS is refused', async (t) => {
    const stranger = await makeKey('not-published')
    await refused(t, await h.mint({ key: stranger }), 'unknown_kid')
  })

  t.test('a published kid with a signature from another key is refused', async (t) => {
    const stranger = await makeKey(h.key.kid)
    await refused(t, await h.mint({ key: stranger }), 'bad_signature')
  })

  t.test('an expired token is refused', async (t) => {
    await refused(t, await h.mint({ claims: { iat: now - 300, exp: now - 60 } }), 'expired')
  })

  t.test('an exp within the clock tolerance is still accepted', async (t) => {
    const fresh = Math.floor(Date.now() / 1000)
    const res = await call(`${h.url}${ITEMS}`, { token: await h.mint({ claims: { iat: fresh - 100, exp: fresh - 1 } }) })
    t.equal(res.status, 200)
  })

  t.test('iat in the future is refused', async (t) => {
    await refused(t, await h.mint({ iatOffset: 120 }), 'iat_in_future')
  })

  t.test('nbf in the future is refused', async (t) => {
    await refused(t, await h.mint({ claims: { nbf: now + 120 } }), 'not_yet_valid')
  })

  t.test('missing exp or iat is refused', async (t) => {
    await refused(t, await h.mint({ claims: { exp: undefined } }), 'missing_claim')
    await refused(t, await h.mint({ claims: { iat: undefined } }), 'missing_claim')
  })

  t.test('a non-numeric exp is refused', async (t) => {
    await refused(t, await h.mint({ claims: { exp: 'tomorrow' } }), 'bad_claim')
  })

  t.test('a lifetime beyond PORTVAKT_MAX_TOKEN_LIFETIME is refused', async (t) => {
    await refused(t, await h.mint({ lifetime: 3600 }), 'lifetime_too_long')
  })

  t.test('a wrong iss is refused, and so is iss without its trailing slash', async (t) => {
    await refused(t, await h.mint({ claims: { iss: 'https://evil.example/' } }), 'wrong_issuer')
    await refused(t, await h.mint({ claims: { iss: TEST_ISSUER.slice(0, -1) } }), 'wrong_issuer')
    await refused(t, await h.mint({ claims: { iss: undefined } }), 'missing_claim')
  })

  t.test('scope as an array is an invalid token', async (t) => {
    await refused(t, await h.mint({ claims: { scope: ['nav:arbeid:arbeidsforhold.read'] } }), 'bad_claim')
  })

  t.test('garbled tokens are refused as malformed', async (t) => {
    await refused(t, 'abc.def.ghi', 'malformed')
    await refused(t, 'onlyonepart', 'malformed')
    // A part whose length leaves 1 modulo 4 is no base64url: Node would decode it by dropping the
    // last character, so a valid token with one character added to a part must not verify.
    const [head, body, sig] = (await h.mint()).split('.') as [string, string, string]
    const odd = (part: string): string => part + 'AAAAA'.slice(0, ((1 - part.length) % 4 + 4) % 4 || 4)
    for (const token of [`${odd(head)}.${body}.${sig}`, `${head}.${odd(body)}.${sig}`, `${head}.${body}.${odd(sig)}`]) {
      t.equal(token.split('.').filter((part) => part.length % 4 === 1).length, 1)
      await refused(t, token, 'malformed')
    }
  })
})

t.test('scopes, audience and consumers', async (t) => {
  const h = await build(t)

  t.test('scopes are compared whole: a.read does not satisfy a.rea or the reverse', async (t) => {
    const res = await call(`${h.url}${ITEMS}`, { token: await h.mint({ claims: { scope: 'nav:arbeid:arbeidsforhold.rea nav:arbeid:arbeidsforhold.readwrite' } }) })
    t.equal(res.status, 403)
    t.equal(res.body.code, 'PORTVAKT_ERR_INSUFFICIENT_SCOPE')
    t.equal(res.headers.get('www-authenticate'), 'Bearer realm="portvakt", error="insufficient_scope", error_description="the token lacks the scope this route needs (all of: nav:arbeid:arbeidsforhold.read)", scope="nav:arbeid:arbeidsforhold.read"')
    t.equal(h.upstream.seen.length, 0)
  })

  t.test('the method picks the scope: a read token may not POST', async (t) => {
    const res = await call(`${h.url}${ITEMS}`, { method: 'POST', token: await h.mint(), body: '{}' })
    t.equal(res.status, 403)
    t.match(res.headers.get('www-authenticate'), /scope="nav:arbeid:arbeidsforhold.write"/)
  })

  t.test('one of several space-separated scopes is enough for a single-scope route', async (t) => {
    const res = await call(`${h.url}${ITEMS}`, { token: await h.mint({ claims: { scope: 'nav:other:x nav:arbeid:arbeidsforhold.read' } }) })
    t.equal(res.status, 200)
  })

  t.test('manifest-form scopes are expanded with the / separator', async (t) => {
    const ok = await call(`${h.url}/api/v1/skjema`, { method: 'POST', token: await h.mint({ claims: { scope: 'nav:arbeid/skjema/innsending.write' } }), body: 'x' })
    t.equal(ok.status, 200)
    const wrong = await call(`${h.url}/api/v1/skjema`, { token: await h.mint({ claims: { scope: 'nav:arbeid:skjema/innsending.write' } }) })
    t.equal(wrong.status, 403)
  })

  const rapport = { scope: 'nav:arbeid:rapport.admin', aud: 'https://rapport.api.nav.no' }

  t.test('anyOf needs one of the listed scopes', async (t) => {
    t.equal((await call(`${h.url}/api/v1/rapport`, { token: await h.mint({ claims: rapport }) })).status, 200)
    const none = await call(`${h.url}/api/v1/rapport`, { token: await h.mint({ claims: { ...rapport, scope: 'nav:arbeid:rapport' } }) })
    t.equal(none.status, 403)
    t.match(none.headers.get('www-authenticate'), /scope="nav:arbeid:rapport.read nav:arbeid:rapport.admin"/)
  })

  t.test('a route with an audience needs it in aud, as a string or in an array', async (t) => {
    const missing = await call(`${h.url}/api/v1/rapport`, { token: await h.mint({ claims: { ...rapport, aud: undefined } }) })
    t.equal(missing.status, 401)
    t.equal(missing.body.reason, 'wrong_audience')
    const other = await call(`${h.url}/api/v1/rapport`, { token: await h.mint({ claims: { ...rapport, aud: 'https://other.api.nav.no' } }) })
    t.equal(other.status, 401)
    const says = 'the token is not meant for this API: this route needs aud https://rapport.api.nav.no; ask Maskinporten for a token with resource=https://rapport.api.nav.no'
    t.equal(other.body.message, says, 'names the audience the route expects, as the 403 names the scope')
    t.equal(other.headers.get('www-authenticate'), `Bearer realm="portvakt", error="invalid_token", error_description="${says}"`)
    const list = await call(`${h.url}/api/v1/rapport`, { token: await h.mint({ claims: { ...rapport, aud: ['https://x.nav.no', 'https://rapport.api.nav.no'] } }) })
    t.equal(list.status, 200)
  })

  t.test('a consumer not listed is refused with 403, and the challenge names the route\'s scopes', async (t) => {
    const before = h.upstream.seen.length
    const res = await call(`${h.url}/api/v1/rapport`, { token: await h.mint({ claims: { ...rapport, consumer: { authority: 'iso6523-actorid-upis', ID: '0192:987654321' } } }) })
    t.equal(res.status, 403)
    t.equal(res.body.code, 'PORTVAKT_ERR_CONSUMER_NOT_ALLOWED')
    t.equal(res.headers.get('www-authenticate'), 'Bearer realm="portvakt", error="insufficient_scope", error_description="this consumer organisation may not use this route", scope="nav:arbeid:rapport.read nav:arbeid:rapport.admin"')
    t.equal(h.upstream.seen.length, before, 'the upstream saw nothing')
  })

  t.test('a token with no consumer is refused on a consumer-restricted route', async (t) => {
    const res = await call(`${h.url}/api/v1/rapport`, { token: await h.mint({ claims: { ...rapport, consumer: undefined } }) })
    t.equal(res.status, 403)
  })
})

t.test('keys unavailable: JWKS down and nothing cached is a 503, not a 401', async (t) => {
  const h = await build(t, { jwksDown: true })
  const res = await call(`${h.url}${ITEMS}`, { token: await h.mint() })
  t.equal(res.status, 503)
  t.equal(res.body.code, 'PORTVAKT_ERR_KEYS_UNAVAILABLE')
  t.equal(res.headers.get('www-authenticate'), null)
  t.equal(h.upstream.seen.length, 0)
  h.jwks.down = false
  await h.gateway.keys.refresh()
  t.equal((await call(`${h.url}${ITEMS}`, { token: await h.mint() })).status, 200, 'recovers once keys come')
})

t.test('a route listing two scopes needs both (all of)', async (t) => {
  const h = await build(t, {
    routes: `
routes:
  - path: /api/v1/eksport
    scopes: [nav:arbeid:eksport.read, nav:arbeid:eksport.sign]
`
  })
  const needed = 'nav:arbeid:eksport.read nav:arbeid:eksport.sign'
  for (const held of ['nav:arbeid:eksport.read', 'nav:arbeid:eksport.sign', 'nav:other:x nav:arbeid:eksport.sign']) {
    const token = await h.mint({ claims: { scope: held } })
    const res = await call(`${h.url}/api/v1/eksport/1`, { token })
    t.equal(res.status, 403, `holding only "${held}"`)
    t.equal(res.body.code, 'PORTVAKT_ERR_INSUFFICIENT_SCOPE')
    t.equal(res.headers.get('www-authenticate'), `Bearer realm="portvakt", error="insufficient_scope", error_description="the token lacks the scope this route needs (all of: ${needed})", scope="${needed}"`)
    t.notOk(h.logText().includes(token.split('.')[2] as string), 'no token in the logs')
  }
  t.equal(h.upstream.seen.length, 0, 'the upstream saw none of the refused requests')
  const both = await call(`${h.url}/api/v1/eksport/1`, { token: await h.mint({ claims: { scope: 'nav:arbeid:eksport.sign nav:arbeid:eksport.read' } }) })
  t.equal(both.status, 200, 'holding both passes')
  t.same(h.upstream.seen.map((s) => [s.url, s.headers['x-maskinporten-scope']]), [['/api/v1/eksport/1', 'nav:arbeid:eksport.sign nav:arbeid:eksport.read']])
})

t.test('a token is taken from the Authorization header only: never the query, a cookie or a form body (RFC 6750 §2.2, §2.3)', async (t) => {
  const h = await build(t)
  const token = await h.mint()
  const write = await h.mint({ claims: { scope: 'nav:arbeid:arbeidsforhold.write' } })
  const tries: Array<[string, string, { method?: string, headers?: Record<string, string>, body?: string }]> = [
    ['?access_token=', `${ITEMS}?access_token=${token}`, {}],
    ['?token=', `${ITEMS}?token=${token}`, {}],
    ['Cookie: access_token=', ITEMS, { headers: { cookie: `access_token=${token}` } }],
    ['Cookie: token=', ITEMS, { headers: { cookie: `other=1; token=${token}` } }],
    ['a form body access_token=', ITEMS, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `access_token=${write}` }]
  ]
  for (const [where, path, options] of tries) {
    const res = await call(`${h.url}${path}`, options)
    t.equal(res.status, 401, where)
    t.equal(res.body.code, 'PORTVAKT_ERR_TOKEN_MISSING', where)
    t.equal(res.headers.get('www-authenticate'), 'Bearer realm="portvakt"', `${where}: the bare challenge`)
  }
  t.equal(h.upstream.seen.length, 0, 'the upstream saw nothing')
  for (const secret of [token, write]) {
    t.notOk(h.logText().includes(secret.split('.')[2] as string), 'no token signature in the logs')
    t.notOk(h.logText().includes(secret.split('.')[1] as string), 'no token payload in the logs')
  }
  t.equal(h.logs().filter((l) => l.msg === 'access').length, tries.length, 'each refusal was logged (without the token)')
})
