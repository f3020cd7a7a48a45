/**
 * Shared pieces of the fuzz properties: how many runs, and models of the upstream's own
 * path handling (decoding once, not at all, or twice) to hold portvakt's routing decision against;
 * the letter-case models are in case-routers.ts.
 */
import fc from 'fast-check'

/**
 * Runs per property: `bounded` in `npm test`, times FUZZ_SCALE in `npm run fuzz` (which sets it to
 * 20). Read here, in a test helper, because it tunes the test run, not portvakt.
 */
export function fuzzRuns (bounded: number): number {
  const scale = Number(process.env.FUZZ_SCALE)
  return Number.isFinite(scale) && scale > 1 ? Math.round(bounded * scale) : bounded
}

/** Segments that hit routes, dot segments, encodings and separators more often than chance would. */
const SEGMENT = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('api', 'v1', 'arbeidsforhold', 'rapport', 'skjema', 'public', 'internal', 'isalive', 'API', 'Public', 'publicx', '') },
  { weight: 3, arbitrary: fc.constantFrom('.', '..', '%2e', '%2E', '%2e%2e', '%2E%2e', '.%2e', '%2e.', '...', '%252e%252e', '%c0%ae', '%u002e') },
  { weight: 3, arbitrary: fc.constantFrom('%2f', '%2F', '%5c', '%5C', '%00', '%25', '%', '%zz', ';', ';x=1', '%3b', '%3B', '..%3b', '\\', '#', '%23', '?', '%3f', '&', '%20', ' ', '\t', '\u00e6', '%c3%a6', '%ff') },
  // Escapes of unreserved characters spell route names another way (`%70ublic` is `public` decoded,
  // not raw); `%25` escapes decode to escapes again.
  { weight: 2, arbitrary: fc.constantFrom('%70ublic', '%70UBLIC', '%50ublic', 'publi%63', '%61pi', '%41PI', '%69nternal', 'v%31', '%2D', '%5f', '%7e', '%7E', '%2570ublic', '%2561pi', '%252f', '%2541') },
  // Other letter cases of route names, ASCII and the Unicode characters that fold onto ASCII letters
  // (ı, İ, i with a combining dot, the Kelvin sign, ſ), percent-encoded as UTF-8.
  { weight: 3, arbitrary: fc.constantFrom('admin', 'Admin', 'ADMIN', 'adm%C4%B1n', 'adm%C4%B0n', 'admi%CC%87n', 'kontakt', 'KONTAKT', '%E2%84%AAontakt', 'dup', 'Dup', 'DUP', 'V1', 'ARBEIDSFORHOLD', '%C5%BFkjema', 'SKJEMA', 'publ%C4%B1c', 'PUBLIC', '%C4%B0nternal', 'ISALIVE', 'Rapport') },
  { weight: 2, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('a', '.', '/', '%', '2', 'e', 'f', '5', 'c', ';', '\\'), maxLength: 8 }) }
)

/** Raw request targets: mostly origin-form, with an optional query, sometimes joined oddly. */
export const rawTarget = fc.tuple(
  fc.array(SEGMENT, { minLength: 0, maxLength: 6 }),
  fc.option(fc.constantFrom('x=1', '_method=DELETE', 'a=%2e%2e/b', 'q=/../public'), { nil: undefined }),
  fc.constantFrom('/', '/', '/', '//', 'http://h/', '')
).map(([segments, query, lead]) => lead + segments.join('/') + (query === undefined ? '' : `?${query}`))

// Route names in other letter cases (raw and as UTF-8 escapes of the Unicode look-alikes), and
// names no route has, so most targets reach a route and the case models have something to choose.
const CASE_SEGMENT = fc.constantFrom('api', 'API', 'Api', 'admin', 'Admin', 'ADMIN', 'adm%C4%B1n', 'adm%C4%B0n', 'admi%CC%87n', 'kontakt', 'Kontakt', '%E2%84%AAontakt',
  'dup', 'Dup', 'DUP', 'v1', 'V1', 'arbeidsforhold', 'Arbeidsforhold', 'skjema', '%C5%BFkjema', 'public', 'Public', 'publ%C4%B1c', 'internal', '%C4%B0nternal', 'isalive', 'x', 'X', '%C3%A6', '%C3%86', '')

/** Request targets made of route names in many letter cases. */
export const caseTarget = fc.tuple(fc.constantFrom('api', 'api', 'api', 'API', 'public', 'Public', 'internal'), fc.array(CASE_SEGMENT, { maxLength: 3 }), fc.option(fc.constantFrom('x=1', 'Admin=1'), { nil: undefined }))
  .map(([first, segments, query]) => `/${[first, ...segments].join('/')}${query === undefined ? '' : `?${query}`}`)

/** RFC 3986 §5.2.4 remove_dot_segments on an already decoded path. */
function removeDotSegments (path: string): string {
  const out: string[] = []
  const parts = path.split('/')
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i] as string
    const last = i === parts.length - 1
    if (part === '..') { out.pop(); if (last) out.push('') } else if (part === '.') { if (last) out.push('') } else out.push(part)
  }
  return '/' + out.join('/')
}

/** How an upstream decodes the path before it routes: not at all (Express), once (most), or twice. */
export type Decoding = 'raw' | 'once' | 'twice'

/** Percent-decode once; undefined when the escapes are malformed. */
function decodeOnce (text: string): string | undefined {
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

/**
 * The path a lenient upstream serves for `rawTarget`: it cuts the query and fragment, percent-decodes
 * (as `decoding` says), reads `\` as `/`, merges `//` and resolves dot segments. Undefined when it
 * would refuse the target. A second decoding that fails keeps the first one's result.
 */
export function modelUpstreamPath (rawTarget: string, decoding: Decoding = 'once'): string | undefined {
  let target = rawTarget
  if (/^https?:\/\//i.test(target)) target = target.replace(/^https?:\/\/[^/]*/i, '')
  const cut = target.search(/[?#]/)
  const raw = cut === -1 ? target : target.slice(0, cut)
  if (!raw.startsWith('/')) return undefined
  let decoded: string | undefined = raw
  if (decoding !== 'raw') decoded = decodeOnce(raw)
  if (decoded === undefined) return undefined
  if (decoding === 'twice') decoded = decodeOnce(decoded) ?? decoded
  return removeDotSegments(decoded.replace(/\\/g, '/').replace(/\/{2,}/g, '/'))
}
