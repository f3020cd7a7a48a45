import t from 'tap'
import { createLocalJWKSet } from 'jose'
import { GateError } from '../src/http/errors.js'
import { KeyStore } from '../src/auth/keys.js'
import { createPolicy } from '../src/auth/policy.js'
import { createKeyedVerifier, type Claims, type KeyedVerifier } from '../src/auth/verify.js'
import { TokenCache, cacheVerifier, digestToken } from '../src/auth/token-cache.js'
import { ConfigError } from '../src/config/errors.js'
import { loadSettings } from '../src/config/env.js'
import { build } from './helpers/build.js'
import { makeKey } from './helpers/keys.js'
import { close, startJwksServer } from './helpers/servers.js'
import { TEST_ISSUER, tokenFactory } from './helpers/tokens.js'

const POLICY = createPolicy({ issuer: TEST_ISSUER, algorithms: ['RS256'], clockToleranceSec: 5, maxTokenLifetimeSec: 680 })

async function setup (cacheOptions: Partial<ConstructorParameters<typeof TokenCache>[0]> = {}) {
  const key = await makeKey()
  const verifier = createKeyedVerifier(POLICY, createLocalJWKSet({ keys: [key.jwk] }))
  let fullChecks = 0
  // Counting wrapper around the real verifier: it tells whether a request went through jose.
  const full: KeyedVerifier = async (token) => { fullChecks++; return await verifier(token) }
  let clock = Date.now()
  const cache = new TokenCache({ maxEntries: 100, maxBytes: 1 << 20, policy: POLICY, now: () => clock, ...cacheOptions })
  return {
    key,
    mint: tokenFactory(key),
    cache,
    verify: cacheVerifier(full, cache),
    fullChecks: () => fullChecks,
    advance: (ms: number) => { clock += ms },
    clock: () => clock
  }
}

// Names of the keys that verified an entry (key-set.ts, keyName).
const KEY_A = 'RS256\u0000a'
const KEY_B = 'RS256\u0000b'

function claimsFor (exp: number, iat: number, scope = 'a:b'): Claims {
  return Object.freeze({ scope, scopes: new Set([scope]), clientId: 'c', orgno: undefined, aud: [], exp, iat, supplier: undefined, delegationSource: undefined, systemUser: undefined })
}

t.test('a token seen before is answered from the cache with the same claims', async (t) => {
  const s = await setup()
  const token = await s.mint()
  const first = await s.verify(token)
  const second = await s.verify(token)
  t.equal(second, first)
  t.equal(s.fullChecks(), 1)
  t.match(s.cache.stats(), { hits: 1, misses: 1, entries: 1 })
})

t.test('an entry is a miss once exp plus the clock tolerance has passed, and the full check runs again', async (t) => {
  const s = await setup()
  const token = await s.mint({ lifetime: 120 })
  const claims = await s.verify(token)
  const refuseAtMs = (claims.exp + 5) * 1000
  s.advance(refuseAtMs - s.clock() - 1)
  await s.verify(token)
  t.equal(s.fullChecks(), 1, 'still a hit 1 ms before the full check would refuse it')
  s.advance(1)
  await s.verify(token)
  t.equal(s.fullChecks(), 2, 'a miss from the moment exp + tolerance is reached')
  t.match(s.cache.stats(), { hits: 1, misses: 2 })
})

t.test('an entry is a miss once iat is older than the allowed lifetime, even if exp is later', async (t) => {
  let clock = 1_000_000_000_000
  const cache = new TokenCache({ maxEntries: 10, maxBytes: 1 << 20, policy: createPolicy({ ...POLICY, maxTokenLifetimeSec: 60 }), now: () => clock })
  const iat = clock / 1000
  cache.set('k', claimsFor(iat + 600, iat), KEY_A)
  clock += 64_999
  t.ok(cache.get('k'))
  clock += 1
  t.equal(cache.get('k'), undefined)
  t.equal(cache.stats().entries, 0, 'the run-out entry is dropped')
})

t.test('claims that have already run out are not stored', async (t) => {
  const clock = 1_000_000_000_000
  const cache = new TokenCache({ maxEntries: 10, maxBytes: 1 << 20, policy: createPolicy({ ...POLICY, clockToleranceSec: 0, maxTokenLifetimeSec: 60 }), now: () => clock })
  cache.set('k', claimsFor(clock / 1000, clock / 1000 - 10), KEY_A)
  t.equal(cache.stats().entries, 0)
})

t.test('the cache holds at most maxEntries, evicting the least recently used', async (t) => {
  const clock = 1_000_000_000_000
  const cache = new TokenCache({ maxEntries: 3, maxBytes: 1 << 20, policy: POLICY, now: () => clock })
  const claims = claimsFor(clock / 1000 + 100, clock / 1000)
  for (const k of ['a', 'b', 'c']) cache.set(k, claims, KEY_A)
  t.ok(cache.get('a'), 'a is now the most recently used')
  cache.set('d', claims, KEY_A)
  cache.set('e', claims, KEY_A)
  t.match(cache.stats(), { entries: 3, evictions: 2 })
  t.ok(cache.get('a'))
  t.equal(cache.get('b'), undefined)
  t.equal(cache.get('c'), undefined)
  t.ok(cache.get('e'))
})

t.test('the cache holds at most maxBytes, and never an entry larger than that', async (t) => {
  const clock = 1_000_000_000_000
  const cache = new TokenCache({ maxEntries: 1000, maxBytes: 4000, policy: POLICY, now: () => clock })
  const claims = claimsFor(clock / 1000 + 100, clock / 1000)
  for (let i = 0; i < 50; i++) cache.set(`k${i}`, claims, KEY_A)
  const stats = cache.stats()
  t.ok(stats.bytes <= 4000, `bytes ${stats.bytes} within the bound`)
  t.ok(stats.entries > 0 && stats.entries < 50)
  cache.set('huge', claimsFor(clock / 1000 + 100, clock / 1000, 'x'.repeat(4000)), KEY_A)
  t.equal(cache.get('huge'), undefined)
  cache.set(`k49`, claims, KEY_A)
  t.equal(cache.stats().bytes, stats.bytes, 'storing the same key again does not count it twice')
})

t.test('a token failing verification is never cached: each try runs the full check and fails', async (t) => {
  const s = await setup()
  const good = await s.mint()
  const [head, payload] = good.split('.')
  const forged = `${head}.${payload}.${Buffer.from('not a signature').toString('base64url')}`
  for (let i = 0; i < 2; i++) {
    await t.rejects(async () => await s.verify(forged), { code: 'PORTVAKT_ERR_TOKEN_INVALID', reason: 'bad_signature' })
  }
  t.equal(s.fullChecks(), 2)
  t.match(s.cache.stats(), { entries: 0, hits: 0 })
})

t.test('a valid token in the cache does not let a forged token with the same claims through', async (t) => {
  const s = await setup()
  const good = await s.mint()
  await s.verify(good)
  const other = await makeKey(s.key.kid)
  const [head, payload] = good.split('.')
  const resigned = (await tokenFactory(other)({ claims: JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) })).split('.')[2]
  await t.rejects(async () => await s.verify(`${head}.${payload}.${resigned}`), GateError)
  t.equal(s.cache.stats().entries, 1)
})

t.test('cached tokens stop passing when the keys are no longer usable', async (t) => {
  const s = await setup()
  const key = await makeKey()
  let usable = true
  const real = createKeyedVerifier(POLICY, createLocalJWKSet({ keys: [key.jwk] }))
  const verify = cacheVerifier(async (token) => {
    if (!usable) throw new GateError('PORTVAKT_ERR_KEYS_UNAVAILABLE', 'the signing keys are too old')
    return await real(token)
  }, s.cache, { version: () => 0, usable: () => usable, onChange: () => {} })
  const token = await tokenFactory(key)()
  await verify(token)
  usable = false
  await t.rejects(async () => await verify(token), { code: 'PORTVAKT_ERR_KEYS_UNAVAILABLE' })
})

t.test('forget drops the entries of the keys it names and keeps the others', async (t) => {
  const clock = 1_000_000_000_000
  const cache = new TokenCache({ maxEntries: 10, maxBytes: 1 << 20, policy: POLICY, now: () => clock })
  const claims = claimsFor(clock / 1000 + 100, clock / 1000)
  cache.set('a1', claims, KEY_A)
  cache.set('a2', claims, KEY_A)
  cache.set('b1', claims, KEY_B)
  const bytes = cache.stats().bytes
  cache.forget(new Set())
  t.equal(cache.stats().entries, 3, 'naming no key drops nothing')
  cache.forget(new Set([KEY_A, 'ES256']))
  t.match(cache.stats(), { entries: 1, bytes: bytes / 3 })
  t.equal(cache.get('a1'), undefined)
  t.equal(cache.get('b1'), claims)
})

t.test('a cache of size 0 is off: every token is verified, nothing is stored', async (t) => {
  const cache = new TokenCache({ maxEntries: 0, maxBytes: 1 << 20, policy: POLICY })
  let checks = 0
  const claims = claimsFor(Date.now() / 1000 + 100, Date.now() / 1000)
  const verify = cacheVerifier(() => { checks++; return { claims, key: KEY_A } }, cache)
  t.equal(verify('t'), claims)
  t.equal(await verify('t'), claims)
  t.equal(checks, 2)
  t.equal(cache.enabled, false)
  cache.set('k', claims, KEY_A)
  t.equal(cache.stats().entries, 0)
})

t.test('token digests differ for tokens that differ in one character', async (t) => {
  t.not(digestToken('a.b.c'), digestToken('a.b.d'))
  t.equal(digestToken('a.b.c').length, 44)
})

t.test('PORTVAKT_TOKEN_CACHE_SIZE takes a whole number and defaults to 10000', async (t) => {
  const base = { MASKINPORTEN_ISSUER: TEST_ISSUER, MASKINPORTEN_JWKS_URI: 'https://x.example/jwks' }
  t.equal(loadSettings(base).tokenCacheSize, 10_000)
  t.equal(loadSettings({ ...base, PORTVAKT_TOKEN_CACHE_SIZE: '0' }).tokenCacheSize, 0)
  t.throws(() => loadSettings({ ...base, PORTVAKT_TOKEN_CACHE_SIZE: 'lots' }), ConfigError)
})

t.test('through the gate, a cached token still meets each route\'s scope check', async (t) => {
  const h = await build(t)
  const token = await h.mint({ claims: { scope: 'nav:arbeid:arbeidsforhold.read' } })
  const headers = { authorization: `Bearer ${token}` }
  const ok = await fetch(`${h.url}/api/v1/arbeidsforhold/1`, { headers })
  t.equal(ok.status, 200)
  await ok.arrayBuffer()
  const again = await fetch(`${h.url}/api/v1/arbeidsforhold/2`, { headers })
  t.equal(again.status, 200)
  await again.arrayBuffer()
  const denied = await fetch(`${h.url}/api/v1/skjema/1`, { headers })
  t.equal(denied.status, 403)
  t.match(denied.headers.get('www-authenticate'), /error="insufficient_scope"/)
  t.match(await denied.json(), { code: 'PORTVAKT_ERR_INSUFFICIENT_SCOPE' })
  const post = await fetch(`${h.url}/api/v1/arbeidsforhold/1`, { method: 'POST', headers })
  t.equal(post.status, 403, 'the write route needs another scope, cached or not')
  await post.arrayBuffer()
  t.match(h.gateway.tokenCache.stats(), { misses: 1, hits: 3, entries: 1 })
})

t.test('a token whose check spans a key fetch that withdraws its key is not cached', async (t) => {
  const [old, next] = [await makeKey(), await makeKey()]
  const jwks = await startJwksServer([old.jwk])
  t.teardown(async () => { await close(jwks.server) })
  const cache = new TokenCache({ maxEntries: 100, maxBytes: 1 << 20, policy: POLICY })
  const store = new KeyStore({ jwksUri: `${jwks.url}/jwks`, algorithms: POLICY.algorithms, timeoutMs: 5_000, cooldownMs: 30_000, maxAgeMs: 600_000, staleMaxMs: 86_400_000 })
  t.teardown(() => { store.stop() })
  await store.refresh('start')
  // The key is looked up in the old set, then the fetch that withdraws it lands before jose is done.
  let refreshed: Promise<void> | undefined
  const slowGetKey: typeof store.getKey = async (header, token) => {
    const key = await store.getKey(header, token)
    await refreshed
    return key
  }
  const verify = cacheVerifier(createKeyedVerifier(POLICY, slowGetKey, { keys: store }), cache, store)
  const token = await tokenFactory(old)()
  jwks.keys = [next.jwk]
  refreshed = store.refresh('schedule')
  const inFlight = verify(token)
  await refreshed
  t.equal((await inFlight).orgno, '123456789', 'the request in flight was checked against the keys of its time')
  t.equal(cache.stats().entries, 0, 'but its token is not cached')
  await t.rejects(async () => await verify(token), { message: /key the issuer does not publish/ }, 'the same token again: the withdrawn key is gone')
})
