/**
 * Fuzz: across random sequences of key sets, the gate's verifier (the verified-token cache in front
 * of the fast path and jose, with a real key store reading a real JWKS over HTTP) gives the answer
 * jose alone gives with the key set in use, for every token: the same claims, or the same refusal.
 * The key sets mix keys that stay, go and come back, and keys whose kid, alg, use or key_ops change
 * while their material stays, or whose kid moves to another key; tokens repeat, so cached answers
 * and remembered keys are put to the test after each change. A token accepted before a change that
 * withdrew its key must be checked again and refused: the property counts that it happened.
 */
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import type { JWK } from 'jose'
import t from 'tap'
import { KeyStore } from '../../src/auth/keys.js'
import { createPolicy } from '../../src/auth/policy.js'
import { TokenCache, cacheVerifier } from '../../src/auth/token-cache.js'
import { createKeyedVerifier, createTokenVerifier, type TokenVerifier } from '../../src/auth/verify.js'
import { GateError } from '../../src/http/errors.js'
import { fuzzRuns } from '../helpers/fuzz.js'
import { close, startJwksServer } from '../helpers/servers.js'

const ISSUER = 'https://test.maskinporten.no/'
const POLICY = createPolicy({ issuer: ISSUER, algorithms: ['RS256', 'PS256', 'ES256'], clockToleranceSec: 5, maxTokenLifetimeSec: 680 })
const NOW_SEC = 1_800_000_000
const now = (): number => NOW_SEC * 1000 + 500

interface Material { key: KeyObject, jwk: JWK }
function material (type: 'rsa' | 'ec'): Material {
  const { privateKey, publicKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { key: privateKey, jwk: publicKey.export({ format: 'jwk' }) }
}
const [M1, M2, M3, EC] = [material('rsa'), material('rsa'), material('rsa'), material('ec')]

// What the issuer may publish: the same materials under other kids, algs, uses and key_ops.
const PUBLISHED: JWK[] = [
  { ...M1.jwk, kid: 'a', alg: 'RS256', use: 'sig' },
  { ...M1.jwk, kid: 'a' },
  { ...M1.jwk, kid: 'a', alg: 'PS256' },
  { ...M1.jwk, kid: 'a', use: 'enc' },
  { ...M1.jwk, kid: 'a', key_ops: ['verify'] },
  { ...M1.jwk, kid: 'a2', alg: 'RS256' },
  { ...M2.jwk, kid: 'b', alg: 'RS256' },
  { ...M2.jwk, kid: 'a', alg: 'RS256' },
  { ...M3.jwk, kid: 'c' },
  { ...M3.jwk },
  { ...EC.jwk, kid: 'e', alg: 'ES256' },
  { ...EC.jwk, kid: 'a' }
]

const b64 = (value: string | Buffer): string => Buffer.from(value).toString('base64url')
const GOOD = { iss: ISSUER, iat: NOW_SEC - 10, exp: NOW_SEC + 110, scope: 'nav:test:read', client_id: 'c-1' }

// Signer, alg and kid that some published key fits, and (less often) any mix of them.
const FITTING: Array<[Material, string, string | undefined]> = [
  [M1, 'RS256', 'a'], [M1, 'PS256', 'a'], [M1, 'RS256', 'a2'], [M2, 'RS256', 'b'], [M2, 'RS256', 'a'],
  [M3, 'RS256', 'c'], [M3, 'RS256', undefined], [EC, 'ES256', 'e'], [EC, 'ES256', 'a']
]
const headerArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...FITTING) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(M1, M2, M3, EC), fc.constantFrom('RS256', 'PS256', 'ES256', 'RS384'), fc.constantFrom('a', 'b', 'zz', undefined)) }
)

/** A token: who signs, which alg and kid its header names, and claims good or not. */
const tokenArb = fc.record({
  header: headerArb,
  claims: fc.constantFrom(GOOD, GOOD, GOOD, GOOD, GOOD, { ...GOOD, iss: 'https://evil.example/' }, { ...GOOD, exp: NOW_SEC - 60 })
}).map(({ header: [signer, alg, kid], claims }) => {
  const input = `${b64(JSON.stringify({ alg, kid }))}.${b64(JSON.stringify(claims))}`
  const data = Buffer.from(input)
  const signature = signer === EC
    ? sign('sha256', data, { key: EC.key, dsaEncoding: 'ieee-p1363' })
    : sign(alg.endsWith('384') ? 'sha384' : 'sha256', data, alg.startsWith('PS') ? { key: signer.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : signer.key)
  return `${input}.${b64(signature)}`
})

/** A run: some tokens, then steps that publish a key set or send one of the tokens again. */
const runArb = fc.record({
  tokens: fc.array(tokenArb, { minLength: 2, maxLength: 6 }),
  first: fc.subarray(PUBLISHED, { minLength: 1, maxLength: 4 }),
  steps: fc.array(fc.oneof(
    { weight: 1, arbitrary: fc.record({ publish: fc.subarray(PUBLISHED, { maxLength: 4 }) }) },
    { weight: 5, arbitrary: fc.record({ send: fc.nat(5) }) }
  ), { minLength: 6, maxLength: 30 })
})

type Outcome = { claims: unknown } | { code: string, reason: string | undefined, message: string }

async function outcome (verify: TokenVerifier, token: string): Promise<Outcome> {
  try {
    const claims = await verify(token)
    return { claims: { ...claims, scopes: [...claims.scopes] } }
  } catch (err) {
    if (!(err instanceof GateError)) throw err
    return { code: err.code, reason: err.reason, message: err.message }
  }
}

t.test('across key-set changes, the cached fast verifier gives jose\'s answer for the set in use', async (t) => {
  const jwks = await startJwksServer([])
  t.teardown(async () => { await close(jwks.server) })
  const seen = { hitsAfterChange: 0, refusedAfterAccepted: 0, changes: 0, accepted: 0 }
  await fc.assert(fc.asyncProperty(runArb, async ({ tokens, first, steps }) => {
    jwks.keys = first
    // A cooldown no run reaches: an unknown kid fetches nothing, so both sides see the same set.
    const store = new KeyStore({ jwksUri: `${jwks.url}/jwks`, algorithms: POLICY.algorithms, timeoutMs: 5_000, cooldownMs: 1e12, maxAgeMs: 1e9, staleMaxMs: 1e12 })
    try {
      await store.refresh('start').catch(() => undefined)
      const cache = new TokenCache({ maxEntries: 100, maxBytes: 1 << 20, policy: POLICY, now })
      const gate = cacheVerifier(createKeyedVerifier(POLICY, store.getKey, { keys: store, now }), cache, store)
      const jose = createTokenVerifier(POLICY, store.getKey, { now })
      const accepted = new Set<string>()
      let changedSince = false
      for (const step of steps) {
        if ('publish' in step) {
          jwks.keys = step.publish
          const version = store.version()
          await store.refresh('schedule').catch(() => undefined)
          if (store.version() !== version) { changedSince = true; seen.changes++ }
          continue
        }
        const token = tokens[step.send % tokens.length] as string
        const hits = cache.stats().hits
        const [a, b] = [await outcome(gate, token), await outcome(jose, token)]
        if (!isDeepStrictEqual(a, b)) throw new Error(`gate ${JSON.stringify(a)} but jose ${JSON.stringify(b)}`)
        if (cache.stats().hits > hits && changedSince) seen.hitsAfterChange++
        if ('claims' in a) { accepted.add(token); seen.accepted++ } else if (accepted.delete(token)) seen.refusedAfterAccepted++
      }
    } finally {
      store.stop()
    }
  }), { numRuns: fuzzRuns(120) })
  // The property must have kept cached answers across changes and refused what a change withdrew.
  t.ok(seen.changes > 20, `${seen.changes} key-set changes`)
  t.ok(seen.accepted > 20, `${seen.accepted} tokens accepted`)
  t.ok(seen.hitsAfterChange > 5, `${seen.hitsAfterChange} cache hits after a key-set change`)
  t.ok(seen.refusedAfterAccepted > 3, `${seen.refusedAfterAccepted} tokens refused after a change, having been accepted before`)
})
