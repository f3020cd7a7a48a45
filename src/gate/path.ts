/**
 * Request-target hygiene, before any routing: refuse every path that could mean something else
 * once the upstream decodes or normalises it, so the path we authorise is the path it serves.
 * We route on the decoded path but forward the raw one, and upstreams differ (Express routes on the
 * raw path, most decode once, a few twice), so a path is allowed only when all of them agree on it.
 */
import { GateError } from '../http/errors.js'
import { checkQueryNames } from './query-names.js'

// Encoded `/`, `\` and NUL: an upstream that decodes before routing would see other segments.
const ENCODED_SEPARATOR = /%(2f|5c|00)/i
// An escape of an unreserved character (RFC 3986 §2.3: ALPHA, DIGIT, `-`, `.`, `_`, `~`). Producers
// should not encode them (§2.3, §6.2.2.2), so `/%70ublic` only serves to make two parsers disagree:
// decoded it is `/public`, raw (Express) it is not.
const UNRESERVED_ESCAPE = /%(3[0-9]|[46][1-9a-f]|[57][0-9a]|2[de]|5f|7e)/i
// `%25` followed by two hex digits: once decoded it is still an escape, which an upstream that decodes
// twice (or a framework behind it) would read as another character (`%252e%252e` → `..`).
const DOUBLE_ESCAPE = /%25[0-9a-f]{2}/i
// A `.` or `..` segment, which the upstream would resolve (RFC 3986 §5.2.4).
const DOT_SEGMENT = /\/\.\.?(\/|$)/
// Raw characters that some servers fold into separators or strip (`\` → `/`, `;` path parameters).
const RAW_FORBIDDEN = /[\\;\x00-\x1f\x7f#]/
// The same once decoded: `%3b` is a `;` to a server that decodes before it cuts path parameters.
const DECODED_FORBIDDEN = /[\\;\x00-\x1f\x7f]/

function refuse (message: string): never {
  throw new GateError('PORTVAKT_ERR_BAD_PATH', message)
}

/** How strict checkPath is about the query. */
export interface PathCheckOptions {
  /**
   * Refuse query parameter names that some framework reads as `_method`, that hold a control
   * character or that reach a prototype (default true; query-names.ts). The gate's upstream might
   * honour them; the egress side calls APIs we don't own, where the query is theirs to read.
   */
  refuseMethodOverride?: boolean
  /**
   * Refuse escapes of unreserved characters (default true): the gate routes on the decoded path and
   * its upstream may route on the raw one. Egress routes only on its first segment, taken raw, and
   * the target is not ours, so an encoder that writes `~` as `%7E` (Java's URLEncoder) is let through.
   */
  refuseUnreservedEscapes?: boolean
}

/** Decode a raw path that holds a `%`, refusing escapes that some upstream would read otherwise. */
function decodePath (raw: string, options: PathCheckOptions): string {
  if (ENCODED_SEPARATOR.test(raw)) refuse('the path holds an encoded /, \\ or NUL')
  let path = raw
  try {
    path = decodeURIComponent(raw)
  } catch {
    refuse('the path holds a malformed percent-encoding')
  }
  if (DECODED_FORBIDDEN.test(path)) refuse('the path decodes to a control character, \\ or ;')
  if (DOT_SEGMENT.test(path)) refuse('the path holds a dot segment (. or ..), raw or encoded')
  if (options.refuseUnreservedEscapes !== false && UNRESERVED_ESCAPE.test(raw)) refuse('the path percent-encodes a letter, digit, -, ., _ or ~; send that character as itself (RFC 3986 §2.3)')
  if (DOUBLE_ESCAPE.test(raw)) refuse('the path is percent-encoded twice (%25 followed by two hex digits); send it encoded once')
  return path
}

/** Check a raw request target and return its decoded path; throws PORTVAKT_ERR_BAD_PATH. */
export function checkPath (rawUrl: string, options: PathCheckOptions = {}): string {
  // origin-form only (RFC 9112 §3.2.1): absolute-form and `*` are refused.
  if (rawUrl.charCodeAt(0) !== 47 /* / */) refuse('the request target must be a path starting with /')
  const q = rawUrl.indexOf('?')
  const raw = q === -1 ? rawUrl : rawUrl.slice(0, q)
  if (RAW_FORBIDDEN.test(raw)) refuse('the path holds a character that is not allowed here (\\, ;, # or a control character)')
  if (raw.includes('//')) refuse('the path holds an empty segment (//)')
  let path = raw
  if (raw.includes('%')) path = decodePath(raw, options)
  else if (DOT_SEGMENT.test(raw)) refuse('the path holds a dot segment (. or ..), raw or encoded')
  if (q !== -1 && options.refuseMethodOverride !== false) checkQueryNames(rawUrl.slice(q + 1))
  return path
}
