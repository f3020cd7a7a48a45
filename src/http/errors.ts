/**
 * Errors are data: a closed set of codes, each with its HTTP status and, for auth failures, its
 * `WWW-Authenticate` challenge (RFC 6750 §3). `toErrorResponse` is the one place that maps them.
 */

/** Why a token was refused; a bounded label set for logs and metrics. */
export type TokenRejection =
  | 'malformed'
  | 'too_large'
  | 'bad_alg'
  | 'bad_signature'
  | 'unknown_kid'
  | 'unusable_key'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'expired'
  | 'not_yet_valid'
  | 'iat_in_future'
  | 'lifetime_too_long'
  | 'missing_claim'
  | 'bad_claim'
  | 'bad_delegation'
  | 'bad_system_user'

/** What a request's outcome was, for the access log and metrics. */
export type Outcome =
  | 'allowed'
  | 'public'
  | 'bad_request'
  | 'not_found'
  | 'method_not_allowed'
  | 'unauthenticated'
  | 'forbidden'
  | 'keys_unavailable'
  | 'altinn_unavailable'
  | 'upstream_error'
  | 'internal_error'

interface ErrorSpec {
  status: number
  outcome: Outcome
  /** the RFC 6750 error attribute, when the challenge carries one */
  bearerError?: 'invalid_request' | 'invalid_token' | 'insufficient_scope'
  /** whether a bare `Bearer realm` challenge goes with it (RFC 6750 §3.1: no error when no token) */
  challenge?: boolean
  /** whether the connection is closed after the answer: the rest of the request cannot be read */
  close?: boolean
  /** seconds for a Retry-After header (RFC 9110 §10.2.3) */
  retryAfter?: number
}

// The closed set of codes is this table's keys (ErrorCode below): a code and its answer are written once.
const SPEC_TABLE = {
  PORTVAKT_ERR_BAD_PATH: { status: 400, outcome: 'bad_request' },
  PORTVAKT_ERR_BAD_REQUEST: { status: 400, outcome: 'bad_request', bearerError: 'invalid_request' },
  // Not HTTP/1.1 we can read one way only (framing, request line, header syntax): refused before any
  // route or token is looked at, so no Bearer challenge, which would send the client to its credentials.
  // The rest of the connection can't be read one way only either, so it ends (RFC 9112 §6.3).
  PORTVAKT_ERR_MALFORMED_REQUEST: { status: 400, outcome: 'bad_request', close: true },
  // RFC 9112 §6.1: a transfer coding we don't understand; its body can't be read, so the connection ends.
  PORTVAKT_ERR_TRANSFER_CODING_UNSUPPORTED: { status: 501, outcome: 'bad_request', close: true },
  PORTVAKT_ERR_NOT_FOUND: { status: 404, outcome: 'not_found' },
  PORTVAKT_ERR_METHOD_NOT_ALLOWED: { status: 405, outcome: 'method_not_allowed' },
  PORTVAKT_ERR_TOKEN_MISSING: { status: 401, outcome: 'unauthenticated', challenge: true },
  PORTVAKT_ERR_TOKEN_INVALID: { status: 401, outcome: 'unauthenticated', bearerError: 'invalid_token' },
  PORTVAKT_ERR_INSUFFICIENT_SCOPE: { status: 403, outcome: 'forbidden', bearerError: 'insufficient_scope' },
  PORTVAKT_ERR_CONSUMER_NOT_ALLOWED: { status: 403, outcome: 'forbidden', bearerError: 'insufficient_scope' },
  // The route's delegation and system-user rules (auth/parties.ts): the token is genuine, the route not its own.
  PORTVAKT_ERR_DELEGATION_REQUIRED: { status: 403, outcome: 'forbidden', bearerError: 'insufficient_scope' },
  PORTVAKT_ERR_DELEGATION_FORBIDDEN: { status: 403, outcome: 'forbidden', bearerError: 'insufficient_scope' },
  PORTVAKT_ERR_SUPPLIER_NOT_ALLOWED: { status: 403, outcome: 'forbidden', bearerError: 'insufficient_scope' },
  PORTVAKT_ERR_SYSTEM_USER_REQUIRED: { status: 403, outcome: 'forbidden', bearerError: 'insufficient_scope' },
  PORTVAKT_ERR_SYSTEM_USER_FORBIDDEN: { status: 403, outcome: 'forbidden', bearerError: 'insufficient_scope' },
  PORTVAKT_ERR_SYSTEM_USER_ORG_NOT_ALLOWED: { status: 403, outcome: 'forbidden', bearerError: 'insufficient_scope' },
  PORTVAKT_ERR_SYSTEM_NOT_ALLOWED: { status: 403, outcome: 'forbidden', bearerError: 'insufficient_scope' },
  // Altinn's PDP on the route's `altinn` question (altinn/decide.ts): only one Permit whose obligations
  // are met lets the request on; every other answer is its own 403.
  PORTVAKT_ERR_ALTINN_DENIED: { status: 403, outcome: 'forbidden', bearerError: 'insufficient_scope' },
  PORTVAKT_ERR_ALTINN_NOT_APPLICABLE: { status: 403, outcome: 'forbidden', bearerError: 'insufficient_scope' },
  PORTVAKT_ERR_ALTINN_INDETERMINATE: { status: 403, outcome: 'forbidden', bearerError: 'insufficient_scope' },
  PORTVAKT_ERR_ALTINN_NOT_ONE_RESULT: { status: 403, outcome: 'forbidden', bearerError: 'insufficient_scope' },
  PORTVAKT_ERR_ALTINN_UNREADABLE: { status: 403, outcome: 'forbidden', bearerError: 'insufficient_scope' },
  PORTVAKT_ERR_ALTINN_AUTH_LEVEL: { status: 403, outcome: 'forbidden', bearerError: 'insufficient_scope' },
  PORTVAKT_ERR_ALTINN_OBLIGATION: { status: 403, outcome: 'forbidden', bearerError: 'insufficient_scope' },
  // The PDP or the token exchange could not be asked (down, slow, non-2xx): never a permit; try again.
  PORTVAKT_ERR_ALTINN_UNAVAILABLE: { status: 503, outcome: 'altinn_unavailable', retryAfter: 5 },
  PORTVAKT_ERR_KEYS_UNAVAILABLE: { status: 503, outcome: 'keys_unavailable' },
  PORTVAKT_ERR_UPSTREAM_UNAVAILABLE: { status: 502, outcome: 'upstream_error' },
  PORTVAKT_ERR_UPSTREAM_TIMEOUT: { status: 504, outcome: 'upstream_error' },
  // Every upstream connection stayed busy for the queue timeout: a client may try again shortly.
  PORTVAKT_ERR_UPSTREAM_BUSY: { status: 503, outcome: 'upstream_error', retryAfter: 1 },
  // Egress: NAIS_TOKEN_ENDPOINT refused or failed, so we had no token to call with.
  PORTVAKT_ERR_TOKEN_ENDPOINT: { status: 502, outcome: 'upstream_error' },
  // Egress: a Host that is not loopback means a browser led here by DNS rebinding, not the app.
  PORTVAKT_ERR_NOT_LOOPBACK: { status: 403, outcome: 'forbidden' },
  PORTVAKT_ERR_HEADERS_TOO_LARGE: { status: 431, outcome: 'bad_request' },
  // Headers or a body slower than the limits: what is still coming is not read, so the connection ends.
  PORTVAKT_ERR_REQUEST_TIMEOUT: { status: 408, outcome: 'bad_request', close: true },
  // RFC 9110 §10.1.1: an expectation other than 100-continue; the body that may follow is not read, so the connection ends.
  PORTVAKT_ERR_EXPECTATION_FAILED: { status: 417, outcome: 'bad_request', close: true },
  // The admin endpoints take no body (RFC 9110 §15.5.14): refused before it is read, and the connection ends.
  PORTVAKT_ERR_BODY_NOT_ACCEPTED: { status: 413, outcome: 'bad_request', close: true },
  PORTVAKT_ERR_INTERNAL: { status: 500, outcome: 'internal_error' }
} as const satisfies Record<`PORTVAKT_ERR_${string}`, ErrorSpec>

/** Every error code portvakt answers with. */
export type ErrorCode = keyof typeof SPEC_TABLE

const SPECS: Readonly<Record<ErrorCode, ErrorSpec>> = SPEC_TABLE

/** An OAuth error another party answered with (RFC 6749 §5.2), passed on in our answer's body. */
export interface OAuthError {
  error: string
  description: string | undefined
}

/** A refusal on its way to becoming a response; thrown or returned by the gate's steps. */
export class GateError extends Error {
  readonly code: ErrorCode
  readonly reason: TokenRejection | undefined
  /** the scope attribute of an insufficient_scope challenge */
  readonly scope: string | undefined
  /** the Allow header of a 405 */
  readonly allow: string | undefined
  /** the token endpoint's own error, when that is why (egress) */
  readonly oauth: OAuthError | undefined

  constructor (code: ErrorCode, message: string, extra: { reason?: TokenRejection, scope?: string, allow?: string, oauth?: OAuthError, cause?: unknown } = {}) {
    super(message, { cause: extra.cause })
    this.name = 'GateError'
    this.code = code
    this.reason = extra.reason
    this.scope = extra.scope
    this.allow = extra.allow
    this.oauth = extra.oauth
  }

  /** The HTTP status this error answers with. */
  get status (): number { return SPECS[this.code].status }
  /** The outcome label for logs and metrics. */
  get outcome (): Outcome { return SPECS[this.code].outcome }
}

/** A response ready to send: status, headers and a JSON body with a stable `code`. */
export interface ErrorResponse {
  status: number
  headers: Record<string, string>
  body: { code: ErrorCode, message: string, reason?: TokenRejection, error?: string, error_description?: string }
}

const REALM = 'realm="portvakt"'

/** Quote a value for an auth-param (RFC 9110 §11.2); our values never hold `"` or `\`, but be safe. */
function quote (value: string): string {
  return '"' + value.replace(/["\\]/g, '') + '"'
}

/**
 * Whether a refusal is a failure on our side (keys, upstream, a bug), logged as an error; a client's
 * bad request is normal traffic (its access line says enough), even when its status is 501.
 */
export function isOurFailure (err: GateError): boolean {
  return err.status >= 500 && err.outcome !== 'bad_request'
}

/** The refusal for a body whose length can't be read one way only (RFC 9112 §6.3), found by the gate or by Node's parser. */
export function badFraming (): GateError {
  return new GateError('PORTVAKT_ERR_MALFORMED_REQUEST', 'the body\'s framing is not valid HTTP/1.1: Content-Length with Transfer-Encoding, more than one Content-Length, a Transfer-Encoding whose last coding is not chunked, or a malformed chunk (RFC 9112 §6)')
}

/** The refusal for a request body that arrived slower than the floor rate (http/pace.ts). */
export function bodyTooSlow (): GateError {
  return new GateError('PORTVAKT_ERR_REQUEST_TIMEOUT', 'the request body arrived slower than the minimum rate (PORTVAKT_BODY_MIN_RATE bytes a second over each PORTVAKT_BODY_RATE_WINDOW)')
}

/** Map a GateError to its response: the one place statuses and challenges are decided. */
export function toErrorResponse (err: GateError): ErrorResponse {
  const spec = SPECS[err.code]
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' }
  if (spec.challenge === true) {
    headers['www-authenticate'] = `Bearer ${REALM}`
  } else if (spec.bearerError !== undefined) {
    let challenge = `Bearer ${REALM}, error="${spec.bearerError}", error_description=${quote(err.message)}`
    if (err.scope !== undefined) challenge += `, scope=${quote(err.scope)}`
    headers['www-authenticate'] = challenge
  }
  if (err.allow !== undefined) headers.allow = err.allow
  if (spec.close === true) headers.connection = 'close'
  if (spec.retryAfter !== undefined) headers['retry-after'] = String(spec.retryAfter)
  const body: ErrorResponse['body'] = { code: err.code, message: err.message }
  if (err.reason !== undefined) body.reason = err.reason
  if (err.oauth !== undefined) {
    body.error = err.oauth.error
    if (err.oauth.description !== undefined) body.error_description = err.oauth.description
  }
  return { status: spec.status, headers, body }
}
