/**
 * Token refusals: jose's errors translated by `code` (never by message, STYLE §8) into ours. The
 * fast path (fast-verify.ts) refuses through the same table, so both paths say the same thing.
 */
import { GateError, type TokenRejection } from '../http/errors.js'

/** A 401 invalid_token with its reason label. */
export function invalidToken (reason: TokenRejection, message: string, cause?: unknown): GateError {
  return new GateError('PORTVAKT_ERR_TOKEN_INVALID', message, { reason, cause })
}

/** Translate one of jose's errors (or a GateError, passed through) into our refusal. */
export function translateJoseError (err: unknown): GateError {
  if (err instanceof GateError) return err
  const { code, claim, reason } = err as { code?: string, claim?: string, reason?: string }
  switch (code) {
    case 'ERR_JOSE_ALG_NOT_ALLOWED': return invalidToken('bad_alg', 'the token is signed with an algorithm that is not allowed', err)
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': return invalidToken('bad_signature', 'the token signature does not verify', err)
    case 'ERR_JWKS_NO_MATCHING_KEY': return invalidToken('unknown_kid', 'the token is signed with a key the issuer does not publish', err)
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS': return invalidToken('bad_signature', 'the token signature does not verify', err)
    case 'ERR_JWT_EXPIRED':
      return claim === 'iat'
        ? invalidToken('lifetime_too_long', 'the token was issued too long ago', err)
        : invalidToken('expired', 'the token has expired', err)
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (reason === 'missing') return invalidToken('missing_claim', `the token has no ${claim ?? 'required'} claim`, err)
      if (reason === 'invalid') return invalidToken('bad_claim', `the token's ${claim ?? ''} claim is not valid`, err)
      if (claim === 'iss') return invalidToken('wrong_issuer', 'the token is not from the expected issuer', err)
      if (claim === 'aud') return invalidToken('wrong_audience', 'the token is not meant for this API (aud)', err)
      if (claim === 'nbf') return invalidToken('not_yet_valid', 'the token is not valid yet (nbf)', err)
      if (claim === 'iat') return invalidToken('iat_in_future', 'the token is issued in the future (iat)', err)
      return invalidToken('bad_claim', 'the token has a claim that is not valid', err)
    case 'ERR_JWKS_INVALID':
    case 'ERR_JWKS_TIMEOUT':
      return new GateError('PORTVAKT_ERR_KEYS_UNAVAILABLE', 'the signing keys are not usable; try again shortly', { cause: err })
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWK_INVALID':
      return invalidToken('malformed', 'the token is malformed', err)
    default:
      // Fail closed: anything unexpected is no access, and an error for us to look at.
      return new GateError('PORTVAKT_ERR_INTERNAL', 'the token could not be checked', { cause: err })
  }
}

/** The refusal jose would give for this error code, claim and reason (the fast path's refusals). */
export function refuseAsJose (code: string, claim?: string, reason?: string): GateError {
  return translateJoseError({ code, claim, reason })
}
