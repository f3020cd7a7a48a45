import t, { type Test } from 'tap'
import { KeyStore } from '../src/auth/keys.js'
import { createTokenVerifier } from '../src/auth/token.js'
import { GateError } from '../src/auth/errors.js'
import { build } from './helpers/build.js'
import { makeKey } from './helpers/keys.js'
import { eventually, scrape, valueOf } from './helpers/metrics.js'
import { close, startJwksServer } from './helpers/servers.js'
import { TEST_ISSUER, tokenFactory } from './helpers/tokens.js'

const POLICY = { issuer: TEST_ISSUER, algorithms: ['RS256'], clockToleranceSec: 5, maxTokenLifetimeSec: 680 }
const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

/** A key store on a clock the test moves, against a real JWKS server. */
async function storeOnClock (t: Test, options: { staleMaxMs?: number } = {}) {
  const key = await makeKey()
  const jwks = await startJwksServer([key.jwk])
  t.teardown(async () => { await close(jwks.server) })
  let now = 1_000_000
  const store = new KeyStore({ jwksUri: `${jwks.url}/jwks`, timeoutMs: 5_000, cooldownMs: 30_000, maxAgeMs: 600_000, staleMaxMs: options.staleMaxMs ?? 86_400_000, now: () => now })
  t.teardown(() => { store.stop() })
  await store.refresh('start')
  return { key, jwks, store, verify: createTokenVerifier(POLICY, store.getKey), advance: (ms: number) => { now += ms } }
}

t.test('a token signed by a newly published key is accepted without a restart', async (t) => {
  const h = await build(t, { env: { PORTVAKT_JWKS_COOLDOWN: '0s' } })
  const next = await makeKey()
  const early = await fetch(`${h.url}/api/v1/arbeidsforhold`, auth(await h.mint({ key: next })))
  t.equal(early.status, 401)
  t.equal((await early.json() as { reason: string }).reason, 'unknown_kid')

  h.jwks.keys = [h.key.jwk, next.jwk]
  const rotated = await fetch(`${h.url}/api/v1/arbeidsforhold`, auth(await h.mint({ key: next })))
  t.equal(rotated.status, 200, 'the new key is fetched on its unknown kid')
  const old = await fetch(`${h.url}/api/v1/arbeidsforhold`, auth(await h.mint()))
  t.equal(old.status, 200, 'the old key still works while published')

  h.jwks.keys = [next.jwk]
  await h.gateway.keys.refresh('schedule')
  const retired = await fetch(`${h.url}/api/v1/arbeidsforhold`, auth(await h.mint()))
  t.equal(retired.status, 401, 'a retired key stops working after the next refresh')
  const samples = await scrape(h.adminUrl)
  t.equal(valueOf(samples, 'portvakt_jwks_fetches_total', { result: 'ok', trigger: 'unknown_kid' }), 3, 'one fetch per unknown kid with no cooldown')
})

t.test('the keys are refreshed on schedule (PORTVAKT_JWKS_MAX_AGE)', async (t) => {
  const h = await build(t, { env: { PORTVAKT_JWKS_MAX_AGE: '1s' } })
  const next = await makeKey()
  h.jwks.keys = [next.jwk]
  const hits = h.jwks.hits
  t.ok(await eventually(() => h.jwks.hits > hits + 1), 'fetched again on schedule after the rotation')
  const res = await fetch(`${h.url}/api/v1/arbeidsforhold`, auth(await h.mint({ key: next })))
  t.equal(res.status, 200)
})

t.test('a flood of random kids right after start costs no JWKS fetch within the cooldown', async (t) => {
  const h = await build(t)
  const stranger = await makeKey()
  const before = h.jwks.hits
  const tokens = await Promise.all(Array.from({ length: 50 }, async (_, i) => await h.mint({ key: stranger, header: { kid: `random-${i}-${Math.random()}` } })))
  const answers = await Promise.all(tokens.map(async (token) => await fetch(`${h.url}/api/v1/arbeidsforhold`, auth(token))))
  t.ok(answers.every((r) => r.status === 401), 'every one is refused')
  t.equal(h.jwks.hits - before, 0, 'the JWKS server saw no request')
  const samples = await scrape(h.adminUrl)
  t.equal(valueOf(samples, 'portvakt_token_rejections_total', { reason: 'unknown_kid' }), 50)
})

t.test('after the cooldown, a flood of random kids shares one fetch, and a rotated key in it is accepted', async (t) => {
  const { key, jwks, store, verify, advance } = await storeOnClock(t)
  const next = await makeKey()
  const stranger = await makeKey()
  jwks.keys = [key.jwk, next.jwk]
  advance(30_000)
  const before = jwks.hits
  const flood = await Promise.all(Array.from({ length: 50 }, async (_, i) => await tokenFactory(stranger)({ header: { kid: `random-${i}` } })))
  const results = await Promise.allSettled([verify(await tokenFactory(next)()), ...flood.map(async (token) => await verify(token))])
  t.equal(jwks.hits - before, 1, 'one fetch for the whole flood')
  t.equal(results[0]?.status, 'fulfilled', 'the token with the new key rode on that fetch')
  t.ok(results.slice(1).every((r) => r.status === 'rejected' && (r.reason as GateError).reason === 'unknown_kid'))

  await Promise.allSettled(flood.map(async (token) => await verify(token)))
  t.equal(jwks.hits - before, 1, 'no second fetch within the cooldown')
  advance(30_000)
  jwks.down = true
  await Promise.allSettled(flood.map(async (token) => await verify(token)))
  await Promise.allSettled(flood.map(async (token) => await verify(token)))
  t.equal(jwks.hits - before, 2, 'a failing endpoint also costs one fetch per cooldown')
  t.equal(store.status().stale, true)
})

t.test('when the JWKS goes down after start, the old keys keep working and the metrics say stale', async (t) => {
  const h = await build(t, { env: { PORTVAKT_JWKS_MAX_AGE: '1s' } })
  h.jwks.down = true
  t.ok(await eventually(async () => valueOf(await scrape(h.adminUrl), 'portvakt_jwks_stale') === 1), 'stale is reported')
  const samples = await scrape(h.adminUrl)
  t.ok((valueOf(samples, 'portvakt_jwks_fetches_total', { result: 'error' }) ?? 0) >= 1)
  t.equal(valueOf(samples, 'portvakt_jwks_keys_usable'), 1)
  const res = await fetch(`${h.url}/api/v1/arbeidsforhold`, auth(await h.mint()))
  t.equal(res.status, 200, 'the last good keys keep serving')
  t.equal((await fetch(`${h.adminUrl}/isready`)).status, 200, 'still ready')
  t.ok(h.logs().some((l) => l.msg === 'signing keys could not be fetched' && l.servingLastGoodKeys === true), 'the log says the last good keys are served')

  h.jwks.down = false
  t.ok(await eventually(async () => valueOf(await scrape(h.adminUrl), 'portvakt_jwks_stale') === 0), 'fresh again once it is back')
})

t.test('keys older than PORTVAKT_JWKS_STALE_MAX are not used: 503, not ready', async (t) => {
  const { jwks, store, verify, key, advance } = await storeOnClock(t, { staleMaxMs: 3_600_000 })
  jwks.down = true
  advance(3_600_000)
  t.equal(store.status().ready, true, 'usable up to the limit')
  await verify(await tokenFactory(key)())
  advance(1)
  await t.rejects(verify(await tokenFactory(key)()), { code: 'PORTVAKT_ERR_KEYS_UNAVAILABLE' })
  t.same(store.status().ready, false)
})

t.test('a JWKS endpoint that answers no JSON or too much is a failed fetch, not a crash', async (t) => {
  const { jwks, store } = await storeOnClock(t)
  jwks.keys = 'not a list' as unknown as typeof jwks.keys
  await t.rejects(store.refresh('schedule'))
  t.equal(store.status().stale, true)
})
