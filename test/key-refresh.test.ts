/**
 * A JWKS refresh keeps what the keys that stay verified: the verified-token cache and the fast
 * path's keys survive a refresh that brings the same keys (an unknown kid's fetch included), and a
 * refresh that withdraws or changes a key drops exactly what that key verified. Real keys, a real
 * JWKS over HTTP, a real gate in front of a real upstream; the cache is read through its metrics.
 */
import t, { type Test } from 'tap'
import { KeyStore } from '../src/auth/keys.js'
import { createPolicy } from '../src/auth/policy.js'
import { createKeyedVerifier } from '../src/auth/verify.js'
import { build, type Harness } from './helpers/build.js'
import { makeKey, type SigningKey } from './helpers/keys.js'
import { ask, assertDenied, CHALLENGE, resetSeen } from './helpers/attack.js'
import { scrape, valueOf } from './helpers/metrics.js'
import { close, startJwksServer } from './helpers/servers.js'
import { TEST_ISSUER, tokenFactory } from './helpers/tokens.js'

const PATH = '/api/v1/arbeidsforhold/1'

async function get (h: Harness, token: string): Promise<number> {
  return (await ask(h.url + PATH, { headers: { authorization: `Bearer ${token}` } })).status
}

async function cacheMetrics (h: Harness): Promise<{ entries: number | undefined, hits: number, misses: number }> {
  const samples = await scrape(h.adminUrl)
  return {
    entries: valueOf(samples, 'portvakt_token_cache_entries'),
    hits: valueOf(samples, 'portvakt_token_cache_hits_total') ?? 0,
    misses: valueOf(samples, 'portvakt_token_cache_misses_total') ?? 0
  }
}

/** A gate whose JWKS publishes `keys`, with one token per key already verified and cached. */
async function warmed (t: Test, keys: SigningKey[], env: Record<string, string> = {}): Promise<{ h: Harness, tokens: string[] }> {
  const h = await build(t, { jwksKeys: keys, env })
  const tokens = await Promise.all(keys.map(async (key) => await h.mint({ key })))
  for (const token of tokens) t.equal(await get(h, token), 200)
  t.equal((await cacheMetrics(h)).entries, keys.length, 'one cache entry per token')
  return { h, tokens }
}

t.test('a refresh that brings the same keys keeps every cached token', async (t) => {
  const { h, tokens } = await warmed(t, [await makeKey(), await makeKey()])
  const before = await cacheMetrics(h)
  await h.gateway.keys.refresh('schedule')
  // The same keys in another document: members reordered, spaced, with extra members jose ignores.
  h.jwks.keys = [...h.jwks.keys].reverse().map((jwk) => ({ ...jwk, x5t: 'ignored' }))
  await h.gateway.keys.refresh('schedule')
  t.equal((await cacheMetrics(h)).entries, 2, 'the entry count did not drop')
  for (const token of tokens) t.equal(await get(h, token), 200)
  const after = await cacheMetrics(h)
  t.equal(after.hits - before.hits, 2, 'both answered from the cache')
  t.equal(after.misses, before.misses, 'no full verification')
  t.same(h.logs().filter((l) => l.msg === 'signing keys fetched').map((l) => l.outcome), ['changed', 'same', 'unchanged'], 'the fetches say what they brought')
})

t.test('a token with an unknown kid fetches the keys and leaves the cache as it was', async (t) => {
  const { h, tokens } = await warmed(t, [await makeKey()], { PORTVAKT_JWKS_COOLDOWN: '0s' })
  const hitsBefore = h.jwks.hits
  const stranger = await h.mint({ key: await makeKey('random-kid') })
  resetSeen(h)
  assertDenied(t, h, await ask(h.url + PATH, { headers: { authorization: `Bearer ${stranger}` } }), { status: 401, code: 'PORTVAKT_ERR_TOKEN_INVALID', challenge: CHALLENGE.invalidToken, reason: 'unknown_kid', secrets: [stranger] })
  t.equal(h.jwks.hits, hitsBefore + 1, 'the unknown kid caused one fetch')
  const before = await cacheMetrics(h)
  t.equal(before.entries, 1, 'the cached token is still there')
  t.equal(await get(h, tokens[0] as string), 200)
  t.equal((await cacheMetrics(h)).hits, before.hits + 1, 'and answered from the cache')
})

t.test('a withdrawn key\'s tokens are refused at once after the refresh, while the others stay cached', async (t) => {
  const [gone, stays] = [await makeKey(), await makeKey()]
  const { h, tokens: [goneToken, staysToken] } = await warmed(t, [gone, stays])
  h.jwks.keys = [stays.jwk]
  await h.gateway.keys.refresh('schedule')
  t.equal((await cacheMetrics(h)).entries, 1, 'only the withdrawn key\'s token left the cache')
  resetSeen(h)
  assertDenied(t, h, await ask(h.url + PATH, { headers: { authorization: `Bearer ${goneToken as string}` } }), { status: 401, code: 'PORTVAKT_ERR_TOKEN_INVALID', challenge: CHALLENGE.invalidToken, reason: 'unknown_kid', secrets: [goneToken as string] })
  const before = await cacheMetrics(h)
  t.equal(await get(h, staysToken as string), 200)
  const after = await cacheMetrics(h)
  t.equal(after.hits, before.hits + 1, 'the other key\'s token is a cache hit')
  t.equal(after.misses, before.misses)
})

t.test('a key whose kid, alg or use changes is dropped unless jose would still pick it for the token', async (t) => {
  const key = await makeKey()
  const { h, tokens: [token] } = await warmed(t, [key])
  const cases: Array<{ what: string, jwk: object, kept: boolean, status: number, reason?: string }> = [
    { what: 'alg unset (jose picks it for RS256 still)', jwk: { ...key.jwk, alg: undefined }, kept: true, status: 200 },
    { what: 'key_ops ["verify"] added', jwk: { ...key.jwk, key_ops: ['verify'] }, kept: true, status: 200 },
    { what: 'use unset', jwk: { ...key.jwk, use: undefined }, kept: true, status: 200 },
    { what: 'published for PS256 only', jwk: { ...key.jwk, alg: 'PS256' }, kept: false, status: 401, reason: 'unusable_key' },
    { what: 'use: enc', jwk: { ...key.jwk, use: 'enc' }, kept: false, status: 401, reason: 'unusable_key' },
    { what: 'another kid', jwk: { ...key.jwk, kid: 'renamed' }, kept: false, status: 401, reason: 'unknown_kid' }
  ]
  const other = await makeKey()
  for (const c of cases) {
    h.jwks.keys = [key.jwk, other.jwk]
    await h.gateway.keys.refresh('schedule')
    t.equal(await get(h, token as string), 200, `${c.what}: back to the original key`)
    h.jwks.keys = [JSON.parse(JSON.stringify(c.jwk)), other.jwk]
    await h.gateway.keys.refresh('schedule')
    t.equal((await cacheMetrics(h)).entries, c.kept ? 1 : 0, `${c.what}: ${c.kept ? 'kept' : 'dropped'}`)
    const res = await ask(h.url + PATH, { headers: { authorization: `Bearer ${token as string}` } })
    t.equal(res.status, c.status, `${c.what}: ${c.status}`)
    if (c.reason !== undefined) t.equal(JSON.parse(res.body).reason, c.reason, `${c.what}: ${c.reason}`)
  }
})

t.test('a key added beside the ones in use keeps their tokens cached', async (t) => {
  const { h, tokens: [token] } = await warmed(t, [await makeKey()])
  const added = await makeKey()
  h.jwks.keys = [...h.jwks.keys, added.jwk]
  await h.gateway.keys.refresh('schedule')
  t.equal((await cacheMetrics(h)).entries, 1)
  t.equal(await get(h, token as string), 200)
  t.equal(await get(h, await h.mint({ key: added })), 200, 'the new key verifies')
})

t.test('the fast path keeps its keys across a refresh that changes nothing, and forgets a withdrawn one', async (t) => {
  const [key, other] = [await makeKey(), await makeKey()]
  const jwks = await startJwksServer([key.jwk, other.jwk])
  t.teardown(async () => { await close(jwks.server) })
  const policy = createPolicy({ issuer: TEST_ISSUER, algorithms: ['RS256'], clockToleranceSec: 5, maxTokenLifetimeSec: 680 })
  const store = new KeyStore({ jwksUri: `${jwks.url}/jwks`, algorithms: policy.algorithms, timeoutMs: 5_000, cooldownMs: 0, maxAgeMs: 600_000, staleMaxMs: 86_400_000 })
  t.teardown(() => { store.stop() })
  await store.refresh('start')
  const verify = createKeyedVerifier(policy, store.getKey, { keys: store })
  const [mint, mintOther] = [tokenFactory(key), tokenFactory(other)]
  t.ok(verify(await mint()) instanceof Promise, 'the first token goes to jose')
  await verify(await mint())
  await verify(await mintOther())
  t.notOk(verify(await mint()) instanceof Promise, 'then the fast path answers')
  await store.refresh('schedule')
  jwks.keys = [other.jwk, key.jwk]
  await store.refresh('schedule')
  t.notOk(verify(await mint()) instanceof Promise, 'still, after refreshes that change nothing')
  jwks.keys = [other.jwk]
  await store.refresh('schedule')
  const withdrawn = verify(await mint())
  t.ok(withdrawn instanceof Promise, 'a withdrawn key: jose decides again')
  await t.rejects(withdrawn as Promise<unknown>, { message: /key the issuer does not publish/ })
  t.notOk(verify(await mintOther()) instanceof Promise, 'the key that stays is still remembered')
})
