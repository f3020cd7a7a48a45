/**
 * The token verifier: a compact JWS in, its claims out, or a refusal (GateError). jose checks it
 * against the policy (policy.ts) with the key source's keys; with a key source given, the fast path
 * (fast-verify.ts) checks tokens signed with a key jose has already verified a token with.
 */
import { jwtVerify, type JWTVerifyGetKey } from 'jose'
import { readClaims, type Claims } from './claims.js'
import { isCompactJws } from './compact-jws.js'
import { createFastPath, type FastHeader } from './fast-verify.js'
import { keyName, type KeySetView } from './key-set.js'
import { toJoseOptions, type TokenPolicy } from './policy.js'
import { invalidToken, translateJoseError } from './refusals.js'

export type { Claims } from './claims.js'
export type { KeySetView } from './key-set.js'

/**
 * Verifies a compact JWS and returns its claims, or throws (or rejects with) a GateError. Claims
 * already known (the verified-token cache, the fast path) come back at once, not as a promise: the
 * hot path then takes no microtask round trips.
 */
export type TokenVerifier = (token: string) => Claims | Promise<Claims>

/** A verified token: its claims and the name of the key that verified it (key-set.ts, `keyName`). */
export interface Verified {
  readonly claims: Claims
  readonly key: string
}

/** A verifier that also says which key verified the token (what the token cache keeps). */
export type KeyedVerifier = (token: string) => Verified | Promise<Verified>

/** Options beyond the policy. */
export interface VerifierOptions {
  /** turns the fast path on (without it, jose checks every token) */
  keys?: KeySetView
  /** the clock, in ms since the epoch (tests); both paths read it */
  now?: () => number
}

/** Build the keyed verifier for one policy and key source. */
export function createKeyedVerifier (policy: TokenPolicy, getKey: JWTVerifyGetKey, verifierOptions: VerifierOptions = {}): KeyedVerifier {
  const { keys, now } = verifierOptions
  const options = toJoseOptions(policy)
  const fast = keys === undefined ? undefined : createFastPath(policy, keys, now)

  const verifyWithJose = async (token: string, header: FastHeader | undefined, again = false): Promise<Verified> => {
    const version = keys?.version()
    let result
    try {
      result = await jwtVerify(token, getKey, now === undefined ? options : { ...options, currentDate: new Date(now()) })
    } catch (err) {
      // A key replaced under the same kid: one refetch (rate-limited by the key store), one more try.
      if (!again && keys?.recheck !== undefined && (err as { code?: string }).code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' && await keys.recheck()) return await verifyWithJose(token, header, true)
      throw translateJoseError(err)
    }
    if (header !== undefined && version !== undefined) fast?.remember(header, result.key, version)
    // jose selected the key by these two (a kid that is not a string selects no key at all).
    const { alg, kid } = result.protectedHeader
    return { claims: readClaims(result.payload, policy), key: keyName(alg, kid) }
  }

  return (token) => {
    if (!isCompactJws(token)) throw invalidToken('malformed', 'the token is not a compact JWS (three base64url parts)')
    if (fast === undefined) return verifyWithJose(token, undefined)
    const header = fast.readHeader(token)
    const claims = header === undefined ? undefined : fast.verify(token, header)
    return claims === undefined || header === undefined ? verifyWithJose(token, header) : { claims, key: header.name }
  }
}

/** The claims of a verified token, at once or as a promise as it came. */
export function claimsOf (verified: Verified | Promise<Verified>): Claims | Promise<Claims> {
  return verified instanceof Promise ? verified.then((v) => v.claims) : verified.claims
}

/** Build the verifier for one policy and key source: the keyed verifier's claims. */
export function createTokenVerifier (policy: TokenPolicy, getKey: JWTVerifyGetKey, verifierOptions: VerifierOptions = {}): TokenVerifier {
  const verify = createKeyedVerifier(policy, getKey, verifierOptions)
  return (token) => claimsOf(verify(token))
}
