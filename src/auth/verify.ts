/**
 * The verification policy, as one literal (STYLE §6): a Maskinporten access token is a JWS signed
 * with a key from the JWKS, with an allowed algorithm, exact `iss`, `exp` and `iat` present, `exp`
 * and `nbf` checked with a small tolerance, `iat` not in the future and a bounded lifetime.
 *
 * jose decides every token whose key it has not yet verified a token with. Once it has, tokens
 * signed with that key (same `kid` and RSA `alg`, same key set) are checked synchronously here with
 * node:crypto and the same rules, in the same order, with the same refusals (issue 6): jose v6
 * verifies through WebCrypto, which sends each RS256 check to the thread pool and back, twice the
 * CPU of node:crypto's one-shot verify (48 vs 25 µs per check at 50 concurrent) and a promise per
 * token. Anything unusual (another alg, a `crit` header, a key not yet seen, keys not usable) goes
 * to jose. `test/fuzz/token-fast.test.ts` holds the two paths to the same answers.
 */
import { KeyObject, constants, verify as verifySignature } from 'node:crypto'
import { jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose'
import { GateError, type TokenRejection } from '../http/errors.js'

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

/** What the fast path must know of the key source (KeyStore has both). */
export interface KeySetView {
  /** changes whenever the key set is replaced: keys remembered from an older set are forgotten */
  version: () => number
  /** false while the key source would refuse every token (no keys yet, or too old) */
  usable: () => boolean
}

/** Options beyond the policy. */
export interface VerifierOptions {
  /** turns the fast path on (without it, jose checks every token) */
  keys?: KeySetView
  /** the clock, in ms since the epoch (tests); both paths read it */
  now?: () => number
}

// Printable text without control characters: claims we copy into headers or logs must not hold CR/LF.
const SAFE_TEXT = /^[^\x00-\x1f\x7f]*$/
// A compact JWS is three base64url parts without padding (RFC 7515 §2, §7.1). Node's base64 decoder
// is lenient (it ignores `=` and accepts `+`/`/`), so without this check one token would have many
// spellings that all verify: harmless to the signature, but a trap for anything keyed on the string.
// A few remain (jose, like Node, ignores the unused low bits of a part's last character), so the
// token cache never holds more than a signature allows: each spelling is verified on its own.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/**
 * A compact JWS whose three parts are base64url: also refuses a part whose length leaves 1 modulo 4,
 * which is no base64url at all (jose refuses it; Node's decoder would quietly drop the last character).
 */
function isCompactJws (token: string): boolean {
  if (!COMPACT_JWS.test(token)) return false
  const first = token.indexOf('.')
  const last = token.lastIndexOf('.')
  return first % 4 !== 1 && (last - first - 1) % 4 !== 1 && (token.length - last - 1) % 4 !== 1
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

function invalid (reason: TokenRejection, message: string, cause?: unknown): GateError {
  return new GateError('PORTVAKT_ERR_TOKEN_INVALID', message, { reason, cause })
}

/** The refusal jose would give, by its error code: the fast path refuses through the same table. */
function refuse (code: string, claim?: string, reason?: string): GateError {
  return translateJoseError({ code, claim, reason })
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

/** The name a remembered key goes by: jose's key selection depends on `alg` and `kid` alone. */
function keyName (alg: string, kid: string | undefined): string {
  return kid === undefined ? alg : `${alg}\u0000${kid}`
}

interface FastHeader {
  /** the remembered key's name */
  name: string
  hash: string
  padding: number
}

/** The header of a token the fast path may check, or undefined (jose decides). */
function fastHeader (header: unknown, allowed: ReadonlySet<string>): FastHeader | undefined {
  if (!isJsonObject(header)) return undefined
  const { alg, kid, crit } = header
  if (crit !== undefined || typeof alg !== 'string' || !allowed.has(alg)) return undefined
  const rsa = RSA_ALGORITHMS.get(alg)
  if (rsa === undefined || (kid !== undefined && typeof kid !== 'string')) return undefined
  return { name: keyName(alg, kid), ...rsa }
}

/**
 * jose's claim checks (validateClaimsSet) for this policy, in its order: presence of iss, iat, exp;
 * iss; iat a number; nbf; exp; age. Returns the payload or throws the refusal jose would cause.
 */
function checkClaimsAsJose (payload: Record<string, unknown>, policy: TokenPolicy, nowSec: number): JWTPayload {
  for (const claim of ['iss', 'iat', 'exp']) {
    if (!Object.hasOwn(payload, claim)) throw refuse('ERR_JWT_CLAIM_VALIDATION_FAILED', claim, 'missing')
  }
  if (payload.iss !== policy.issuer) throw refuse('ERR_JWT_CLAIM_VALIDATION_FAILED', 'iss', 'check_failed')
  const tolerance = policy.clockToleranceSec
  const { iat, nbf, exp } = payload
  if (typeof iat !== 'number') throw refuse('ERR_JWT_CLAIM_VALIDATION_FAILED', 'iat', 'invalid')
  if (nbf !== undefined) {
    if (typeof nbf !== 'number') throw refuse('ERR_JWT_CLAIM_VALIDATION_FAILED', 'nbf', 'invalid')
    if (nbf > nowSec + tolerance) throw refuse('ERR_JWT_CLAIM_VALIDATION_FAILED', 'nbf', 'check_failed')
  }
  if (typeof exp !== 'number') throw refuse('ERR_JWT_CLAIM_VALIDATION_FAILED', 'exp', 'invalid')
  if (exp <= nowSec - tolerance) throw refuse('ERR_JWT_EXPIRED', 'exp', 'check_failed')
  const age = nowSec - iat
  if (age - tolerance > policy.maxTokenLifetimeSec) throw refuse('ERR_JWT_EXPIRED', 'iat', 'check_failed')
  if (age < -tolerance) throw refuse('ERR_JWT_CLAIM_VALIDATION_FAILED', 'iat', 'check_failed')
  return payload as JWTPayload
}

/** Build the verifier for one policy and key source. */
export function createTokenVerifier (policy: TokenPolicy, getKey: JWTVerifyGetKey, verifierOptions: VerifierOptions = {}): TokenVerifier {
  const { keys: keySet, now } = verifierOptions
  const options: JWTVerifyOptions = Object.freeze({
    issuer: policy.issuer,
    algorithms: [...policy.algorithms],
    requiredClaims: ['exp', 'iat'],
    clockTolerance: policy.clockToleranceSec,
    // With maxTokenAge set, jose also refuses an `iat` in the future (beyond the tolerance).
    maxTokenAge: policy.maxTokenLifetimeSec
  })
  const allowed: ReadonlySet<string> = new Set(policy.algorithms)
  // Keys jose has verified a token with, by keyName, from the key set of version `knownVersion`.
  const known = new Map<string, KeyObject>()
  let knownVersion = Number.NaN

  const verifyWithJose = async (token: string, header: FastHeader | undefined): Promise<Claims> => {
    const version = keySet?.version()
    let result
    try {
      result = await jwtVerify(token, getKey, now === undefined ? options : { ...options, currentDate: new Date(now()) })
    } catch (err) {
      throw translateJoseError(err)
    }
    // Remember the key only if the set did not change while jose worked: it came from this set.
    if (header !== undefined && keySet !== undefined && keySet.version() === version && result.key instanceof CryptoKey) {
      if (knownVersion !== version) {
        known.clear()
        knownVersion = version
      }
      known.set(header.name, KeyObject.from(result.key))
    }
    return readClaims(result.payload, policy)
  }

  return (token) => {
    if (!isCompactJws(token)) throw invalid('malformed', 'the token is not a compact JWS (three base64url parts)')
    if (keySet === undefined) return verifyWithJose(token, undefined)
    const first = token.indexOf('.')
    const last = token.lastIndexOf('.')
    const header = fastHeader(decodeJson(token.slice(0, first)), allowed)
    const key = header !== undefined && keySet.usable() && keySet.version() === knownVersion ? known.get(header.name) : undefined
    if (header === undefined || key === undefined) return verifyWithJose(token, header)
    // From here on, as jose with the same key: signature, payload, claims.
    const { hash, padding } = header
    let verified = false
    try {
      verified = verifySignature(hash, Buffer.from(token.slice(0, last)), { key, padding, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, Buffer.from(token.slice(last + 1), 'base64url'))
    } catch {
      verified = false
    }
    if (!verified) throw refuse('ERR_JWS_SIGNATURE_VERIFICATION_FAILED')
    const payload = decodeJson(token.slice(first + 1, last))
    if (!isJsonObject(payload)) throw refuse('ERR_JWT_INVALID')
    return readClaims(checkClaimsAsJose(payload, policy, Math.floor((now?.() ?? Date.now()) / 1000)), policy)
  }
}
