/**
 * The fast path beside jose (STYLE §7). jose decides every token whose key it has not yet verified a
 * token with. Once it has, tokens signed with that key (same `kid` and RSA `alg`, while the key
 * sets that follow select the same key for them: key-set.ts) are
 * checked here, synchronously, with node:crypto and the same policy (policy.ts), the same rules in
 * the same order and the same refusals (refusals.ts). Why: jose v6 verifies through WebCrypto, which
 * sends each RS256 check to the thread pool and back and answers with a promise; node:crypto's
 * one-shot verify does the same check on the calling thread (the bench measures what that saves:
 * bench/README.md). Anything unusual (another alg, a `crit` header, a key not yet seen, keys not
 * usable) goes to jose. `test/fuzz/token-fast.test.ts` holds the two paths to the same answers.
 */
import { KeyObject, constants, verify as verifySignature } from 'node:crypto'
import type { JWTPayload } from 'jose'
import { readClaims, type Claims } from './claims.js'
import { keyName, type KeySetView } from './key-set.js'
import { isExpired, isIssuedInFuture, isIssuedTooLongAgo, isNotYetValid, type TokenPolicy } from './policy.js'
import { refuseAsJose } from './refusals.js'

/** A token header the fast path could check: the name its key is remembered by, and how to verify. */
export interface FastHeader {
  readonly name: string
  readonly hash: string
  readonly padding: number
}

/** The fast path for one policy and key source. */
export interface FastPath {
  /** The header of a token the fast path may check, or undefined (jose alone decides). */
  readHeader: (token: string) => FastHeader | undefined
  /** Check `token` now with a key jose verified before: its claims, or a thrown refusal; undefined when no key is remembered. */
  verify: (token: string, header: FastHeader) => Claims | undefined
  /** jose verified a token with this header using `key`, from the set of `version`: remember the key. */
  remember: (header: FastHeader, key: unknown, version: number) => void
}

// The algorithms the fast path checks, as node:crypto parameters (RFC 7518 §3.3, §3.5: PSS with a
// salt as long as the hash, as WebCrypto does for jose). EC and EdDSA tokens always go to jose.
const RSA_ALGORITHMS: ReadonlyMap<string, { hash: string, padding: number }> = new Map([
  ['RS256', { hash: 'sha256', padding: constants.RSA_PKCS1_PADDING }],
  ['RS384', { hash: 'sha384', padding: constants.RSA_PKCS1_PADDING }],
  ['RS512', { hash: 'sha512', padding: constants.RSA_PKCS1_PADDING }],
  ['PS256', { hash: 'sha256', padding: constants.RSA_PKCS1_PSS_PADDING }],
  ['PS384', { hash: 'sha384', padding: constants.RSA_PKCS1_PSS_PADDING }],
  ['PS512', { hash: 'sha512', padding: constants.RSA_PKCS1_PSS_PADDING }]
])

// As jose: strict UTF-8 (a bad sequence is an error, not U+FFFD), then JSON.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

function decodeJson (part: string): unknown {
  try {
    return JSON.parse(strictUtf8.decode(Buffer.from(part, 'base64url')))
  } catch {
    return undefined
  }
}

function isJsonObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function toFastHeader (header: unknown, allowed: ReadonlySet<string>): FastHeader | undefined {
  if (!isJsonObject(header)) return undefined
  const { alg, kid, crit } = header
  if (crit !== undefined || typeof alg !== 'string' || !allowed.has(alg)) return undefined
  const rsa = RSA_ALGORITHMS.get(alg)
  if (rsa === undefined || (kid !== undefined && typeof kid !== 'string')) return undefined
  return { name: keyName(alg, kid), ...rsa }
}

/**
 * jose's claim checks (validateClaimsSet) for the policy, in its order: presence of `iss` and the
 * required claims (jose reads them last to first); `iss`; `iat` a number; `nbf`; `exp`; age.
 * Returns the payload or throws the refusal jose would cause.
 */
function checkClaimsAsJose (payload: Record<string, unknown>, policy: TokenPolicy, nowSec: number): JWTPayload {
  for (const claim of ['iss', ...[...policy.requiredClaims].reverse()]) {
    if (!Object.hasOwn(payload, claim)) throw refuseAsJose('ERR_JWT_CLAIM_VALIDATION_FAILED', claim, 'missing')
  }
  if (payload.iss !== policy.issuer) throw refuseAsJose('ERR_JWT_CLAIM_VALIDATION_FAILED', 'iss', 'check_failed')
  const { iat, nbf, exp } = payload
  if (typeof iat !== 'number') throw refuseAsJose('ERR_JWT_CLAIM_VALIDATION_FAILED', 'iat', 'invalid')
  if (nbf !== undefined) {
    if (typeof nbf !== 'number') throw refuseAsJose('ERR_JWT_CLAIM_VALIDATION_FAILED', 'nbf', 'invalid')
    if (isNotYetValid(policy, nbf, nowSec)) throw refuseAsJose('ERR_JWT_CLAIM_VALIDATION_FAILED', 'nbf', 'check_failed')
  }
  if (typeof exp !== 'number') throw refuseAsJose('ERR_JWT_CLAIM_VALIDATION_FAILED', 'exp', 'invalid')
  if (isExpired(policy, exp, nowSec)) throw refuseAsJose('ERR_JWT_EXPIRED', 'exp', 'check_failed')
  if (isIssuedTooLongAgo(policy, iat, nowSec)) throw refuseAsJose('ERR_JWT_EXPIRED', 'iat', 'check_failed')
  if (isIssuedInFuture(policy, iat, nowSec)) throw refuseAsJose('ERR_JWT_CLAIM_VALIDATION_FAILED', 'iat', 'check_failed')
  return payload as JWTPayload
}

/** Build the fast path; `now` is the clock in ms since the epoch (tests), jose's reads the same. */
export function createFastPath (policy: TokenPolicy, keys: KeySetView, now: () => number = Date.now): FastPath {
  const allowed: ReadonlySet<string> = new Set(policy.algorithms)
  // Keys jose has verified a token with, by keyName; a name goes when a new key set selects another key for it.
  const known = new Map<string, KeyObject>()
  keys.onChange((changed) => { for (const name of changed) known.delete(name) })

  return {
    readHeader: (token) => toFastHeader(decodeJson(token.slice(0, token.indexOf('.'))), allowed),
    verify: (token, header) => {
      const key = keys.usable() ? known.get(header.name) : undefined
      if (key === undefined) return undefined
      // From here on, as jose with the same key: signature, payload, claims.
      const first = token.indexOf('.')
      const last = token.lastIndexOf('.')
      let verified = false
      try {
        verified = verifySignature(header.hash, Buffer.from(token.slice(0, last)), { key, padding: header.padding, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, Buffer.from(token.slice(last + 1), 'base64url'))
      } catch {
        verified = false
      }
      if (!verified) throw refuseAsJose('ERR_JWS_SIGNATURE_VERIFICATION_FAILED')
      const payload = decodeJson(token.slice(first + 1, last))
      if (!isJsonObject(payload)) throw refuseAsJose('ERR_JWT_INVALID')
      return readClaims(checkClaimsAsJose(payload, policy, Math.floor(now() / 1000)), policy)
    },
    remember: (header, key, version) => {
      // Only if the set did not change while jose worked: then the key came from the set in use.
      if (keys.version() !== version || !(key instanceof CryptoKey)) return
      known.set(header.name, KeyObject.from(key))
    }
  }
}
