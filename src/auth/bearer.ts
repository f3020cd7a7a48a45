/** The Bearer token from `Authorization`, exactly one, nowhere else (RFC 6750 §2.1). */
import { GateError } from '../http/errors.js'

/** Tokens longer than this are refused before any parsing or crypto; real ones are ~1 KB. */
export const MAX_TOKEN_LENGTH = 8192

// b64token (RFC 6750 §2.1) after a case-insensitive scheme and one or more spaces.
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i

/** Extract the token from request headers; throws 401 when missing, 400 when garbled. */
export function extractBearer (headers: Record<string, string | string[] | undefined>, rawHeaders: readonly string[]): string {
  const value = headers.authorization
  if (value === undefined || value === '') throw new GateError('PORTVAKT_ERR_TOKEN_MISSING', 'this route needs an Authorization: Bearer token')
  // Node keeps only the first Authorization header; a second one means two credentials: refuse.
  let count = 0
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.length === 13 && rawHeaders[i]?.toLowerCase() === 'authorization') count++
  }
  if (count > 1) throw new GateError('PORTVAKT_ERR_BAD_REQUEST', 'send exactly one Authorization header')
  const header = Array.isArray(value) ? value.join(',') : value
  const match = BEARER.exec(header)
  if (match === null) {
    if (!/^bearer(\s|$)/i.test(header)) throw new GateError('PORTVAKT_ERR_TOKEN_MISSING', 'this route needs an Authorization: Bearer token')
    throw new GateError('PORTVAKT_ERR_BAD_REQUEST', 'the Authorization header must be "Bearer <one token>"')
  }
  const token = match[1] as string
  if (token.length > MAX_TOKEN_LENGTH) throw new GateError('PORTVAKT_ERR_TOKEN_INVALID', 'the token is too large', { reason: 'too_large' })
  return token
}
