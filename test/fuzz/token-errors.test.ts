/**
 * Fuzz: whatever the token and whatever the JWKS, a refusal names the token's fault or the keys'
 * absence, never ours. Hostile key sets (real keys of every type and size with members changed,
 * dropped or of the wrong type, private and secret keys, duplicate kids, members that are no objects)
 * are served over HTTP to a real key store; malformed and mis-signed tokens go to the gate's verifier
 * (cache, fast path, jose). Each answer is claims, a 401 with a token reason, or a 503 while no usable
 * keys are in hand: never a 500 PORTVAKT_ERR_INTERNAL, and never an error that is not a refusal.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import fc from 'fast-check'
import type { JWK } from 'jose'
import t from 'tap'
import { ASYMMETRIC_ALGORITHMS } from '../../src/config/env-values.js'
import { createPolicy } from '../../src/auth/policy.js'
import { createTokenCheck } from '../../src/auth/token-check.js'
import { GateError } from '../../src/http/errors.js'
import { fuzzRuns } from '../helpers/fuzz.js'
import { close, startJwksServer } from '../helpers/servers.js'

const ISSUER = 'https://test.maskinporten.no/'
const POLICY = createPolicy({ issuer: ISSUER, algorithms: [...ASYMMETRIC_ALGORITHMS], clockToleranceSec: 5, maxTokenLifetimeSec: 680 })

interface Material { key: KeyObject, jwk: Record<string, unknown> }
function pair (type: 'rsa' | 'ec' | 'ed25519' | 'ed448' | 'x25519', option?: number | string): Material {
  const { privateKey, publicKey } = type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: option as number })
    : type === 'ec' ? generateKeyPairSync('ec', { namedCurve: option as string }) : generateKeyPairSync(type as 'ed25519')
  return { key: privateKey, jwk: publicKey.export({ format: 'jwk' }) as Record<string, unknown> }
}
const MATERIALS: Material[] = [pair('rsa', 2048), pair('rsa', 1024), pair('rsa', 2047), pair('ec', 'P-256'), pair('ec', 'P-384'), pair('ec', 'secp256k1'), pair('ed25519'), pair('ed448'), pair('x25519')]

const b64 = (value: string | Buffer): string => Buffer.from(value).toString('base64url')
const cut = (value: unknown): unknown => typeof value === 'string' ? value.slice(0, Math.max(1, value.length - 5)) : value

/** Values a member of a JWK takes when changed; functions rewrite the member's own value. */
const MEMBER_VALUES: unknown[] = [undefined, null, 7, '', 'x', '!!!', 'AQ', 'AQAA', 'AA', [], ['verify'], ['verify', 'sign'], ['sign'], {}, true, false,
  'RS256', 'PS512', 'ES256', 'ES512', 'EdDSA', 'HS256', 'RSA', 'EC', 'OKP', 'oct', 'P-256', 'P-521', 'Ed25519', 'Ed448', 'X25519', 'sig', 'enc', 'a', 'b', cut]
const MEMBERS = ['kty', 'alg', 'use', 'key_ops', 'ext', 'kid', 'crv', 'n', 'e', 'x', 'y', 'd', 'p', 'k']

const memberArb = fc.record({
  base: fc.nat(MATERIALS.length - 1),
  kid: fc.constantFrom('a', 'a', 'b', 'c', undefined),
  changes: fc.array(fc.tuple(fc.constantFrom(...MEMBERS), fc.nat(MEMBER_VALUES.length - 1)), { maxLength: 3 }),
  private: fc.constantFrom(false, false, false, false, true)
}).map(({ base, kid, changes, private: withPrivate }): unknown => {
  const material = MATERIALS[base] as Material
  const jwk: Record<string, unknown> = withPrivate ? { ...material.key.export({ format: 'jwk' }) } : { ...material.jwk }
  if (kid !== undefined) jwk.kid = kid
  for (const [member, index] of changes) {
    const value = MEMBER_VALUES[index]
    if (value === undefined) delete jwk[member]
    else jwk[member] = typeof value === 'function' ? value(jwk[member]) : value
  }
  return jwk
})
// Unchanged public keys now and then, so some sets are usable and some tokens pass.
const plainArb = fc.tuple(fc.constantFrom(0, 3, 6), fc.constantFrom('a', 'b')).map(([base, kid]) => ({ ...(MATERIALS[base] as Material).jwk, kid }))
const jwksArb = fc.array(fc.oneof(
  { weight: 4, arbitrary: plainArb },
  { weight: 12, arbitrary: memberArb },
  { weight: 1, arbitrary: fc.constantFrom('a string', 42, null, [], [{ kty: 'RSA' }]) }
), { maxLength: 5 })

/** A token: a header and claims, signed by one of the materials (as RS256/ES256/EdDSA), or garbled. */
// Signer and alg that fit (RSA 2048 and RS256, P-256 and ES256, Ed25519 and EdDSA), or any mix.
const signedAs = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom<[number, unknown]>([0, 'RS256'], [3, 'ES256'], [6, 'EdDSA']) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(MATERIALS.length - 1), fc.constantFrom<unknown>(...ASYMMETRIC_ALGORITHMS, 'HS256', 'none', 'ES256K', 7)) }
)
const tokenArb = fc.record({
  signedAs,
  kid: fc.constantFrom('a', 'a', 'b', 'c', 'zz', undefined, 5),
  exp: fc.constantFrom(2_000_000_000, 2_000_000_000, 1, 'soon'),
  garble: fc.constantFrom('none', 'none', 'none', 'signature', 'header', 'payload')
}).map(({ signedAs: [signer, alg], kid, exp, garble }) => {
  const now = Math.floor(Date.now() / 1000)
  const head = garble === 'header' ? b64('{"alg":') : b64(JSON.stringify({ alg, kid }))
  const body = garble === 'payload' ? b64('[1,2') : b64(JSON.stringify({ iss: ISSUER, iat: now, exp: exp === 2_000_000_000 ? now + 60 : exp, scope: 's:x' }))
  const input = `${head}.${body}`
  const { key } = MATERIALS[signer] as Material
  let signature: Buffer
  try {
    const type = key.asymmetricKeyType
    signature = type === 'rsa' ? sign('sha256', Buffer.from(input), key) : type === 'ec' ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }) : sign(null, Buffer.from(input), key)
  } catch {
    signature = Buffer.from('no signature')
  }
  return `${input}.${garble === 'signature' ? b64('x') : b64(signature)}`
})

t.test('no token and no key set makes the verifier answer anything but claims, a 401 with a reason, or a 503', async (t) => {
  const jwks = await startJwksServer([])
  t.teardown(async () => { await close(jwks.server) })
  const counts = { accepted: 0, 401: 0, 503: 0, setsTaken: 0 }
  await fc.assert(fc.asyncProperty(jwksArb, fc.array(tokenArb, { minLength: 1, maxLength: 6 }), async (members, tokens) => {
    jwks.keys = members as JWK[]
    const check = createTokenCheck({ policy: POLICY, jwksUri: `${jwks.url}/jwks`, jwks: { timeoutMs: 5_000, cooldownMs: 0, maxAgeMs: 1e9, staleMaxMs: 1e12 }, cacheSize: 100, fetch, onFetch: () => {} })
    try {
      if (await check.keys.refresh('start').then(() => true, () => false)) counts.setsTaken++
      for (const token of tokens) {
        try {
          await check.verify(token)
          counts.accepted++
        } catch (err) {
          if (!(err instanceof GateError)) throw new Error(`not a refusal: ${String(err)}`)
          if (err.status === 401 && err.reason !== undefined) counts[401]++
          else if (err.status === 503 && err.code === 'PORTVAKT_ERR_KEYS_UNAVAILABLE') counts[503]++
          else throw new Error(`${err.status} ${err.code} (${err.message}; cause: ${String(err.cause)}) for a JWKS of ${JSON.stringify(members)}`)
        }
      }
    } finally {
      check.keys.stop()
    }
  }), { numRuns: fuzzRuns(150) })
  t.ok(counts.setsTaken > 20, `${counts.setsTaken} hostile key sets taken`)
  t.ok(counts.accepted > 0, `${counts.accepted} accepted`)
  t.ok(counts[401] > 100, `${counts[401]} refused with a reason`)
  t.ok(counts[503] > 10, `${counts[503]} while no usable keys were in hand`)
})
