/**
 * The verification policy, one frozen value (STYLE §6): a Maskinporten access token is a JWS signed
 * with a key from the JWKS, with an allowed algorithm, the exact `iss`, `exp` and `iat` present,
 * `exp` and `nbf` checked with a small tolerance, `iat` not in the future and a bounded lifetime
 * (RFC 7519 §4.1; the audience is per route, scopes.ts). Everything that checks a token reads it:
 * jose's options (verify.ts), the node:crypto fast path (fast-verify.ts) through the time rules
 * below, and the verified-token cache (token-cache.ts) through `refuseAtMs`.
 */
import type { JWTVerifyOptions } from 'jose'

/** What the policy is made of: the resolved issuer and the PORTVAKT_* settings. */
export interface PolicyInput {
  issuer: string
  algorithms: readonly string[]
  clockToleranceSec: number
  maxTokenLifetimeSec: number
}

/** The one verification policy: build it with `createPolicy`. */
export interface TokenPolicy {
  /** compared exactly: Maskinporten's `iss` ends in a slash */
  readonly issuer: string
  readonly algorithms: readonly string[]
  /** claims a token must hold besides `iss` (Maskinporten tokens carry no `nbf`) */
  readonly requiredClaims: readonly string[]
  readonly clockToleranceSec: number
  readonly maxTokenLifetimeSec: number
}

const REQUIRED_CLAIMS: readonly string[] = Object.freeze(['exp', 'iat'])

/** Freeze the policy for one issuer and the settings. */
export function createPolicy (input: PolicyInput): TokenPolicy {
  return Object.freeze({
    issuer: input.issuer,
    algorithms: Object.freeze([...input.algorithms]),
    requiredClaims: REQUIRED_CLAIMS,
    clockToleranceSec: input.clockToleranceSec,
    maxTokenLifetimeSec: input.maxTokenLifetimeSec
  })
}

/** jose's options for the policy. */
export function toJoseOptions (policy: TokenPolicy): Readonly<JWTVerifyOptions> {
  return Object.freeze({
    issuer: policy.issuer,
    algorithms: [...policy.algorithms],
    requiredClaims: [...policy.requiredClaims],
    clockTolerance: policy.clockToleranceSec,
    // With maxTokenAge set, jose also refuses an `iat` in the future (beyond the tolerance).
    maxTokenAge: policy.maxTokenLifetimeSec
  })
}

// The time rules, as jose applies them (validateClaimsSet in
// https://github.com/panva/jose/blob/main/src/lib/jwt_claims_set.ts) with this policy's tolerance
// and lifetime. `nowSec` is whole epoch seconds, as jose's clock.

/** `nbf` is still ahead. */
export function isNotYetValid (policy: TokenPolicy, nbf: number, nowSec: number): boolean {
  return nbf > nowSec + policy.clockToleranceSec
}

/** `exp` has passed. */
export function isExpired (policy: TokenPolicy, exp: number, nowSec: number): boolean {
  return exp <= nowSec - policy.clockToleranceSec
}

/** `iat` is longer ago than the maximum lifetime. */
export function isIssuedTooLongAgo (policy: TokenPolicy, iat: number, nowSec: number): boolean {
  return nowSec - iat - policy.clockToleranceSec > policy.maxTokenLifetimeSec
}

/** `iat` is in the future. */
export function isIssuedInFuture (policy: TokenPolicy, iat: number, nowSec: number): boolean {
  return nowSec - iat < -policy.clockToleranceSec
}

/** `exp - iat` is more than the maximum lifetime: a token minted to live too long, whatever the clock says. */
export function livesTooLong (policy: TokenPolicy, exp: number, iat: number): boolean {
  return exp - iat > policy.maxTokenLifetimeSec
}

/**
 * The moment (ms since the epoch) from which `isExpired` or `isIssuedTooLongAgo` refuses a token
 * accepted now: where the cache must stop answering for it. At the second boundary it stops one
 * second early rather than late.
 */
export function refuseAtMs (policy: TokenPolicy, exp: number, iat: number): number {
  const tolerance = policy.clockToleranceSec
  return Math.min(exp + tolerance, iat + policy.maxTokenLifetimeSec + tolerance) * 1000
}
