/**
 * The verification policy, as one literal (STYLE §6): a Maskinporten access token is a JWS signed
 * with a key from the JWKS, with an allowed algorithm, exact `iss`, `exp` and `iat` present, `exp`
 * and `nbf` checked with a small tolerance, `iat` not in the future and a bounded lifetime.
 */
import { jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose'
import { GateError, type TokenRejection } from './errors.js'

/** What the policy needs from settings. */
export interface TokenPolicy {
  issuer: string
  algorithms: readonly string[]
  clockToleranceSec: number
  maxTokenLifetimeSec: number
}

/** The claims portvakt acts on, checked for type and safe to put in a header. */
export interface Claims {
  /** the raw `scope` string, space-separated */
  readonly scope: string
  readonly scopes: ReadonlySet<string>
  readonly clientId: string | undefined
  /** the orgno from `consumer.ID` ("0192:<orgno>"), when it has that form */
  readonly orgno: string | undefined
  readonly aud: readonly string[]
  readonly exp: number
  readonly iat: number
}

/**
 * Verifies a compact JWS and returns its claims, or throws (or rejects with) a GateError. Claims
 * already known (the verified-token cache) come back at once, not as a promise: the hot path then
 * takes no microtask round trips (issue 6).
 */
export type TokenVerifier = (token: string) => Claims | Promise<Claims>

// Printable text without control characters: claims we copy into headers or logs must not hold CR/LF.
const SAFE_TEXT = /^[^\x00-\x1f\x7f]*$/
// A compact JWS is three base64url parts without padding (RFC 7515 §2, §7.1). Node's base64 decoder
// is lenient (it ignores `=` and accepts `+`/`/`), so without this check one token would have many
// spellings that all verify: harmless to the signature, but a trap for anything keyed on the string.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

function invalid (reason: TokenRejection, message: string, cause?: unknown): GateError {
  return new GateError('PORTVAKT_ERR_TOKEN_INVALID', message, { reason, cause })
}

/** Translate jose's errors by `code` (never by message) into our refusals. */
export function translateJoseError (err: unknown): GateError {
  if (err instanceof GateError) return err
  const { code, claim, reason } = err as { code?: string, claim?: string, reason?: string }
  switch (code) {
    case 'ERR_JOSE_ALG_NOT_ALLOWED': return invalid('bad_alg', 'the token is signed with an algorithm that is not allowed', err)
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': return invalid('bad_signature', 'the token signature does not verify', err)
    case 'ERR_JWKS_NO_MATCHING_KEY': return invalid('unknown_kid', 'the token is signed with a key the issuer does not publish', err)
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS': return invalid('bad_signature', 'the token signature does not verify', err)
    case 'ERR_JWT_EXPIRED':
      return claim === 'iat'
        ? invalid('lifetime_too_long', 'the token was issued too long ago', err)
        : invalid('expired', 'the token has expired', err)
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (reason === 'missing') return invalid('missing_claim', `the token has no ${claim ?? 'required'} claim`, err)
      if (reason === 'invalid') return invalid('bad_claim', `the token's ${claim ?? ''} claim is not valid`, err)
      if (claim === 'iss') return invalid('wrong_issuer', 'the token is not from the expected issuer', err)
      if (claim === 'aud') return invalid('wrong_audience', 'the token is not meant for this API (aud)', err)
      if (claim === 'nbf') return invalid('not_yet_valid', 'the token is not valid yet (nbf)', err)
      if (claim === 'iat') return invalid('iat_in_future', 'the token is issued in the future (iat)', err)
      return invalid('bad_claim', 'the token has a claim that is not valid', err)
    case 'ERR_JWKS_INVALID':
    case 'ERR_JWKS_TIMEOUT':
      return new GateError('PORTVAKT_ERR_KEYS_UNAVAILABLE', 'the signing keys are not usable; try again shortly', { cause: err })
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWK_INVALID':
      return invalid('malformed', 'the token is malformed', err)
    default:
      // Fail closed: anything unexpected is no access, and an error for us to look at.
      return new GateError('PORTVAKT_ERR_INTERNAL', 'the token could not be checked', { cause: err })
  }
}

function readClaims (payload: JWTPayload, policy: TokenPolicy): Claims {
  const { scope, client_id: clientId, consumer, aud } = payload as Record<string, unknown>
  const exp = payload.exp as number
  const iat = payload.iat as number
  if (exp - iat > policy.maxTokenLifetimeSec) throw invalid('lifetime_too_long', 'the token lives longer than this API allows')
  if (scope !== undefined && (typeof scope !== 'string' || !SAFE_TEXT.test(scope))) throw invalid('bad_claim', 'the token\'s scope claim must be a space-separated string')
  if (clientId !== undefined && (typeof clientId !== 'string' || !SAFE_TEXT.test(clientId))) throw invalid('bad_claim', 'the token\'s client_id claim must be a string')
  let audience: readonly string[] = []
  if (typeof aud === 'string') audience = [aud]
  else if (Array.isArray(aud) && aud.every((a) => typeof a === 'string')) audience = aud
  else if (aud !== undefined) throw invalid('bad_claim', 'the token\'s aud claim must be a string or a list of strings')
  const id = typeof consumer === 'object' && consumer !== null ? (consumer as Record<string, unknown>).ID : undefined
  const orgno = typeof id === 'string' ? /^0192:(\d{9})$/.exec(id)?.[1] : undefined
  // RFC 6749 §3.3: scopes are separated by spaces (0x20) only; tabs or NBSP are part of a scope.
  const scopes = new Set((scope ?? '').split(' ').filter((s) => s !== ''))
  return Object.freeze({ scope: scope ?? '', scopes, clientId, orgno, aud: audience, exp, iat })
}

/** Build the verifier for one policy and key source. */
export function createTokenVerifier (policy: TokenPolicy, getKey: JWTVerifyGetKey): TokenVerifier {
  const options: JWTVerifyOptions = Object.freeze({
    issuer: policy.issuer,
    algorithms: [...policy.algorithms],
    requiredClaims: ['exp', 'iat'],
    clockTolerance: policy.clockToleranceSec,
    // With maxTokenAge set, jose also refuses an `iat` in the future (beyond the tolerance).
    maxTokenAge: policy.maxTokenLifetimeSec
  })
  return async (token) => {
    if (!COMPACT_JWS.test(token)) throw invalid('malformed', 'the token is not a compact JWS (three base64url parts)')
    let payload: JWTPayload
    try {
      ({ payload } = await jwtVerify(token, getKey, options))
    } catch (err) {
      throw translateJoseError(err)
    }
    return readClaims(payload, policy)
  }
}
