/**
 * Request-target hygiene, before any routing: refuse every path that could mean something else
 * once the upstream decodes or normalises it, so the path we authorise is the path it serves.
 */
import { GateError } from '../auth/errors.js'

// Encoded `/`, `\` and NUL: an upstream that decodes before routing would see other segments.
const ENCODED_SEPARATOR = /%(2f|5c|00)/i
// Raw characters that some servers fold into separators or strip (`\` → `/`, `;` path parameters).
const RAW_FORBIDDEN = /[\\;\x00-\x1f\x7f#]/
const DECODED_FORBIDDEN = /[\\\x00-\x1f\x7f]/

/**
 * Whether a query names a `_method` parameter (any case, percent-encoded or not). Some frameworks
 * let it override the request method, so the app would run another method than the one we
 * authorised; refusing is simpler and safer than rewriting the query.
 */
function hasMethodOverride (query: string): boolean {
  return query.split(/[&;]/).some((pair) => {
    const name = pair.split('=', 1)[0] ?? ''
    let decoded = name
    try {
      decoded = decodeURIComponent(name.replace(/\+/g, ' '))
    } catch { /* a malformed name is not `_method`; the app gets it as it is */ }
    return decoded.trim().toLowerCase() === '_method'
  })
}

function refuse (message: string): never {
  throw new GateError('PORTVAKT_ERR_BAD_PATH', message)
}

/** Check a raw request target and return its decoded path; throws PORTVAKT_ERR_BAD_PATH. */
export function checkPath (rawUrl: string): string {
  // origin-form only (RFC 9112 §3.2.1): absolute-form and `*` are refused.
  if (rawUrl.charCodeAt(0) !== 47 /* / */) refuse('the request target must be a path starting with /')
  const q = rawUrl.indexOf('?')
  const raw = q === -1 ? rawUrl : rawUrl.slice(0, q)
  if (RAW_FORBIDDEN.test(raw)) refuse('the path holds a character that is not allowed here (\\, ;, # or a control character)')
  if (raw.includes('//')) refuse('the path holds an empty segment (//)')
  if (ENCODED_SEPARATOR.test(raw)) refuse('the path holds an encoded /, \\ or NUL')
  let path: string
  try {
    path = raw.includes('%') ? decodeURIComponent(raw) : raw
  } catch {
    refuse('the path holds a malformed percent-encoding')
  }
  if (DECODED_FORBIDDEN.test(path)) refuse('the path decodes to a control character or \\')
  if (/\/\.\.?(\/|$)/.test(path)) refuse('the path holds a dot segment (. or ..), raw or encoded')
  if (q !== -1 && hasMethodOverride(rawUrl.slice(q + 1))) refuse('the query holds a _method override; send the method itself')
  return path
}
