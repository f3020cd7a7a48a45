/**
 * The token verifier: a compact JWS in, its claims out, or a refusal (GateError). jose checks it
 * against the policy (policy.ts) with the key source's keys; with a key source given, the fast path
 * (fast-verify.ts) checks tokens signed with a key jose has already verified a token with.
 */
import { jwtVerify, type JWTVerifyGetKey } from 'jose'
import { readClaims, type Claims } from './claims.js'
import { isCompactJws } from './compact-jws.js'
import { createFastPath, type FastHeader, type KeySetView } from './fast-verify.js'
import { toJoseOptions, type TokenPolicy } from './policy.js'
import { invalidToken, translateJoseError } from './refusals.js'

export type { Claims } from './claims.js'
export type { KeySetView } from './fast-verify.js'

/**
 * Verifies a compact JWS and returns its claims, or throws (or rejects with) a GateError. Claims
 * already known (the verified-token cache, the fast path) come back at once, not as a promise: the
 * hot path then takes no microtask round trips.
 */
export type TokenVerifier = (token: string) => Claims | Promise<Claims>

/** Options beyond the policy. */
export interface VerifierOptions {
  /** turns the fast path on (without it, jose checks every token) */
  keys?: KeySetView
  /** the clock, in ms since the epoch (tests); both paths read it */
  now?: () => number
}

/** Build the verifier for one policy and key source. */
export function createTokenVerifier (policy: TokenPolicy, getKey: JWTVerifyGetKey, verifierOptions: VerifierOptions = {}): TokenVerifier {
  const { keys, now } = verifierOptions
  const options = toJoseOptions(policy)
  const fast = keys === undefined ? undefined : createFastPath(policy, keys, now)

  const verifyWithJose = async (token: string, header: FastHeader | undefined): Promise<Claims> => {
    const version = keys?.version()
    let result
    try {
      result = await jwtVerify(token, getKey, now === undefined ? options : { ...options, currentDate: new Date(now()) })
    } catch (err) {
      throw translateJoseError(err)
    }
    if (header !== undefined && version !== undefined) fast?.remember(header, result.key, version)
    return readClaims(result.payload, policy)
  }

  return (token) => {
    if (!isCompactJws(token)) throw invalidToken('malformed', 'the token is not a compact JWS (three base64url parts)')
    if (fast === undefined) return verifyWithJose(token, undefined)
    const header = fast.readHeader(token)
    return (header === undefined ? undefined : fast.verify(token, header)) ?? verifyWithJose(token, header)
  }
}
