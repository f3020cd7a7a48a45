import { generateKeyPairSync } from 'node:crypto'
import { createServer } from 'node:http'
import type { JWK } from 'jose'
import t, { type Test } from 'tap'
import { fetchJwks } from '../src/auth/jwks.js'
import { KeyStore, type FetchResult } from '../src/auth/keys.js'
import { nextRetryDelay } from '../src/auth/key-schedule.js'
import { createPolicy } from '../src/auth/policy.js'
import { createTokenVerifier } from '../src/auth/verify.js'
import { GateError } from '../src/http/errors.js'
import { build } from './helpers/build.js'
import { makeKey } from './helpers/keys.js'
import { scrape, valueOf } from './helpers/metrics.js'
import { eventually } from './helpers/poll.js'
import { close, listen, startJwksServer } from './helpers/servers.js'
import { TEST_ISSUER, tokenFactory } from './helpers/tokens.js'

const POLICY = createPolicy({ issuer: TEST_ISSUER, algorithms: ['RS256'], clockToleranceSec: 5, maxTokenLifetimeSec: 680 })
// A public P-256 signing key, published for ES256.
const EC_JWK: JWK = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }), kid: 'ec', alg: 'ES256', use: 'sig' }
const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

/** A key store on a clock the test moves, against a real JWKS server. */
async function storeOnClock (t: Test, options: { staleMaxMs?: number } = {}) {
  const key = await makeKey()
  const jwks = await startJwksServer([key.jwk])
  t.teardown(async () => { await close(jwks.server) })
  let now = 1_000_000
  const store = new KeyStore({ jwksUri: `${jwks.url}/jwks`, algorithms: POLICY.algorithms, timeoutMs: 5_000, cooldownMs: 30_000, maxAgeMs: 600_000, staleMaxMs: options.staleMaxMs ?? 86_400_000, now: () => now })
  t.teardown(() => { store.stop() })
  await store.refresh('start')
  return { key, jwks, store, verify: createTokenVerifier(POLICY, store.getKey, { keys: store }), advance: (ms: number) => { now += ms } }
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
  const remembered = await fetch(`${h.url}/api/v1/arbeidsforhold`, auth(await h.mint()))
  t.equal(remembered.status, 200, 'a second token with it: the fast path, now that jose has verified one')

  h.jwks.keys = [next.jwk]
  await h.gateway.keys.refresh('schedule')
  const retired = await fetch(`${h.url}/api/v1/arbeidsforhold`, auth(await h.mint()))
  t.equal(retired.status, 401, 'a retired key stops working after the next refresh, remembered or not')
  t.equal((await retired.json() as { reason: string }).reason, 'unknown_kid')
  const samples = await scrape(h.adminUrl)
  t.equal(valueOf(samples, 'portvakt_jwks_fetches_total', { result: 'ok', trigger: 'unknown_kid' }), 3, 'one fetch per unknown kid with no cooldown')
})

t.test('a key replaced under the same kid is fetched on the first token that does not verify, and that token is accepted', async (t) => {
  const h = await build(t, { env: { PORTVAKT_JWKS_COOLDOWN: '0s' } })
  const replaced = await makeKey(h.key.kid)
  const before = h.jwks.hits
  const forged = await fetch(`${h.url}/api/v1/arbeidsforhold`, auth(await h.mint({ key: replaced })))
  t.equal(forged.status, 401, 'not published yet: still refused')
  t.equal((await forged.json() as { reason: string }).reason, 'bad_signature')
  t.equal(h.jwks.hits - before, 1, 'after one refetch')
  h.jwks.keys = [replaced.jwk]
  const res = await fetch(`${h.url}/api/v1/arbeidsforhold`, auth(await h.mint({ key: replaced })))
  t.equal(res.status, 200, 'published under the same kid: accepted at once, not after PORTVAKT_JWKS_MAX_AGE')
  t.equal(h.upstream.seen.length, 1, 'and forwarded; the refused one was not')
  const samples = await scrape(h.adminUrl)
  t.equal(valueOf(samples, 'portvakt_jwks_fetches_total', { result: 'ok', trigger: 'bad_signature' }), 2)
})

t.test('a flood of bad signatures under a known kid costs no JWKS fetch within the cooldown', async (t) => {
  const h = await build(t)
  const stranger = await makeKey(h.key.kid)
  const before = h.jwks.hits
  const answers = await Promise.all(Array.from({ length: 30 }, async () => await fetch(`${h.url}/api/v1/arbeidsforhold`, auth(await h.mint({ key: stranger })))))
  t.ok(answers.every((r) => r.status === 401), 'every one is refused')
  t.equal(h.jwks.hits - before, 0, 'the JWKS server saw no request')
  t.equal(h.upstream.seen.length, 0)
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
  t.notOk(verify(await tokenFactory(key)()) instanceof Promise, 'a second token with the key: checked at once (fast path)')
  advance(1)
  const token = await tokenFactory(key)()
  await t.rejects(async () => await verify(token), { code: 'PORTVAKT_ERR_KEYS_UNAVAILABLE' })
  t.same(store.status().ready, false)
})

t.test('a JWKS endpoint that answers no JSON or too much is a failed fetch, not a crash', async (t) => {
  const { jwks, store } = await storeOnClock(t)
  jwks.keys = 'not a list' as unknown as typeof jwks.keys
  await t.rejects(store.refresh('schedule'))
  t.equal(store.status().stale, true)
})

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** A JWKS endpoint that answers 500 to its first `failures` requests, then `keys`; notes when each request came. */
async function startFlakyJwks (t: Test, keys: object[], failures: number): Promise<{ url: string, hits: number[] }> {
  const hits: number[] = []
  const server = createServer((_req, res) => {
    hits.push(performance.now())
    res.statusCode = hits.length <= failures ? 500 : 200
    res.end(hits.length <= failures ? 'down' : JSON.stringify({ keys }))
  })
  const url = await listen(server)
  t.teardown(async () => { await close(server) })
  return { url, hits }
}

t.test('the retry back-off doubles from 1 s to a 30 s cap by default', async (t) => {
  const delays: number[] = []
  for (let previous = 0; delays.length < 8; previous = delays.at(-1) as number) delays.push(nextRetryDelay(previous))
  t.same(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000])
})

t.test('at start, a JWKS that is down is retried with a doubling back-off up to its cap until it answers', async (t) => {
  const key = await makeKey()
  const flaky = await startFlakyJwks(t, [key.jwk], 5)
  const results: FetchResult[] = []
  const store = new KeyStore({ jwksUri: `${flaky.url}/jwks`, algorithms: POLICY.algorithms, timeoutMs: 5_000, cooldownMs: 30_000, maxAgeMs: 3_600_000, staleMaxMs: 86_400_000, retryBaseMs: 20, retryMaxMs: 80, onFetch: (r) => { results.push(r) } })
  t.teardown(() => { store.stop() })
  store.start()
  await store.whenReady()
  t.equal(flaky.hits.length, 6, 'five failed fetches, then the one that got the keys')
  t.same(results.map((r) => `${r.ok ? 'ok' : 'error'} ${r.trigger}`), [...Array<string>(5).fill('error start'), 'ok start'], 'in that order')
  // Timers never fire early, so each gap is at least its planned delay (less 2 ms for the event
  // loop's millisecond clock). No upper bounds: a loaded machine may be late, never early.
  const planned = [20, 40, 80, 80, 80]
  flaky.hits.slice(1).forEach((at, i) => {
    const gap = at - (flaky.hits[i] as number)
    t.ok(gap >= (planned[i] as number) - 2, `retry ${i + 1} came at least ${planned[i] as number} ms after the previous fetch (${gap.toFixed(1)} ms)`)
  })
  t.equal(store.status().ready, true)
})

t.test('stop() is final: the fetch under way is dropped, and nothing is fetched, scheduled or reported after it', async (t) => {
  const key = await makeKey()
  let hits = 0
  let cancelled!: () => void
  const gone = new Promise<void>((resolve) => { cancelled = resolve })
  // Accepts the request and never answers, so the fetch is still under way when stop() comes.
  const held = createServer((_req, res) => { hits++; res.on('close', cancelled) })
  const url = await listen(held)
  t.teardown(async () => { await close(held) })
  const results: FetchResult[] = []
  const store = new KeyStore({ jwksUri: `${url}/jwks`, algorithms: POLICY.algorithms, timeoutMs: 300, cooldownMs: 0, maxAgeMs: 3_600_000, staleMaxMs: 86_400_000, retryBaseMs: 10, retryMaxMs: 10, onFetch: (r) => { results.push(r) } })
  store.start()
  t.ok(await eventually(() => hits === 1), 'the first fetch is under way')
  store.stop()
  await gone
  await sleep(150)
  t.equal(hits, 1, 'no retry after stop()')
  t.same(results, [], 'nothing reported after stop()')
  await t.rejects(store.refresh('unknown_kid'), { message: /stopped/ })
  await t.rejects(async () => await store.getKey({ alg: 'RS256', kid: key.kid }, { payload: {}, signature: '', protected: '' } as never), { code: 'PORTVAKT_ERR_KEYS_UNAVAILABLE' })
  t.equal(hits, 1, 'an explicit refresh after stop() fetches nothing')
})

t.test('a JWKS with no usable signing key is a failed fetch: the last good keys keep serving', async (t) => {
  const h = await build(t)
  const url = `${h.url}/api/v1/arbeidsforhold`
  const token = await h.mint()
  t.equal((await fetch(url, auth(token))).status, 200)
  const unusable: Record<string, object[]> = {
    'only an oct key': [{ kty: 'oct', k: Buffer.from('a shared secret of thirty-two bytes!!').toString('base64url'), kid: 'hmac', alg: 'HS256', use: 'sig' }],
    'only a use: enc key': [{ ...h.key.jwk, use: 'enc' }],
    'only a key whose key_ops exclude verify': [{ ...h.key.jwk, key_ops: ['encrypt'] }],
    'only an EC key, while the policy allows RS256 alone': [EC_JWK],
    'only the RSA key, published for RS384 while the policy allows RS256 alone': [{ ...h.key.jwk, alg: 'RS384' }],
    'an empty set': []
  }
  for (const [what, keys] of Object.entries(unusable)) {
    h.jwks.keys = keys as typeof h.jwks.keys
    await t.rejects(h.gateway.keys.refresh('schedule'), { message: /no usable signing key/ }, `${what} is refused`)
    t.ok(h.gateway.tokenCache.stats().entries > 0, `${what}: the verified-token cache is kept`)
    t.equal((await fetch(url, auth(token))).status, 200, `${what}: a token seen before still passes`)
    t.equal((await fetch(url, auth(await h.mint()))).status, 200, `${what}: a new token verifies against the last good keys`)
  }
  const status = h.gateway.keys.status()
  t.equal(status.stale, true, 'stale: the last refresh failed')
  t.match(status.lastError, /no usable signing key/)
  const samples = await scrape(h.adminUrl)
  t.equal(valueOf(samples, 'portvakt_jwks_fetches_total', { result: 'error', trigger: 'schedule' }), 6, 'each counts as a failed fetch')
  t.equal(valueOf(samples, 'portvakt_jwks_stale'), 1)
  t.equal(valueOf(samples, 'portvakt_jwks_keys'), 1, 'the keys in use are still the last good ones')
  t.equal((await fetch(`${h.adminUrl}/isready`)).status, 200, 'still ready on the last good keys')
  const failures = h.logs().filter((l) => l.msg === 'signing keys could not be fetched')
  t.equal(failures.length, 6)
  t.ok(failures.every((l) => /no usable signing key/.test(String(l.err)) && l.servingLastGoodKeys === true && l.level === 50), 'logged as errors, saying why')
})

t.test('a key set is usable when jose finds a key for one of the policy\'s algorithms, by jose\'s own key selection', async (t) => {
  const ec = await startJwksServer([EC_JWK])
  t.teardown(async () => { await close(ec.server) })
  const local = await fetchJwks(`${ec.url}/jwks`, { timeoutMs: 5_000, algorithms: ['RS256', 'ES256'] })
  t.equal(local.keys, 1, 'an EC key serves a policy that allows ES256')
  await t.rejects(fetchJwks(`${ec.url}/jwks`, { timeoutMs: 5_000, algorithms: ['RS256', 'ES384'] }), { message: /none of its 1 keys can verify RS256, ES384/ }, 'a P-256 key cannot verify ES384')
  const key = await makeKey()
  const two = await startJwksServer([{ ...key.jwk, kid: 'one' }, { ...key.jwk, kid: 'two' }])
  t.teardown(async () => { await close(two.server) })
  t.equal((await fetchJwks(`${two.url}/jwks`, { timeoutMs: 5_000, algorithms: ['RS256'] })).keys, 2, 'several keys that match: one is enough')
})

t.test('with no keys in hand yet, a JWKS with no usable signing key leaves portvakt not ready: 503', async (t) => {
  const h = await build(t, { jwksDown: true })
  h.jwks.keys = [{ ...h.key.jwk, use: 'enc' }]
  h.jwks.down = false
  await t.rejects(h.gateway.keys.refresh('retry'), { message: /no usable signing key/ })
  const res = await fetch(`${h.url}/api/v1/arbeidsforhold`, auth(await h.mint()))
  t.equal(res.status, 503)
  t.equal((await res.json() as { code: string }).code, 'PORTVAKT_ERR_KEYS_UNAVAILABLE')
  const ready = await fetch(`${h.adminUrl}/isready`)
  t.equal(ready.status, 503)
  t.match(await ready.json(), { reasons: [/no usable signing key/] })
  t.equal(h.gateway.keys.status().ready, false)
})
