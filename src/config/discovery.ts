/** Issuer and JWKS URI: as configured, or discovered from RFC 8414 metadata (MASKINPORTEN_WELL_KNOWN_URL). */
import { formatDuration } from './duration.js'
import { ConfigError } from './errors.js'
import { describeFetchFailure } from './fetch-failure.js'
import type { IssuerSource } from './env.js'
import { isLoopbackUrl } from './loopback.js'
import { BodyTooLarge, readCapped } from './read-capped.js'

// RFC 8414 metadata is a few KB; as much as a JWKS is the most any issuer's could be.
const MAX_METADATA_BYTES = 1024 * 1024

/** The issuer portvakt trusts and where its keys are. */
export interface Issuer {
  issuer: string
  jwksUri: string
  /**
   * Set when all three variables were given but could not be compared (metadata unreadable, or without the fields):
   * why. The two given are used as they are (the start-up log warns with this).
   */
  unchecked?: string
}

async function fetchMetadata (url: string, timeoutMs: number, fetchImpl: typeof fetch): Promise<Record<string, unknown>> {
  let response: Response
  try {
    response = await fetchImpl(url, { redirect: 'error', signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } })
  } catch (err) {
    // An abort's own message ("The operation was aborted due to timeout") names neither the limit nor its setting.
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${formatDuration(timeoutMs)} (PORTVAKT_JWKS_TIMEOUT)` : describeFetchFailure(err, url).reason
    throw new ConfigError('cannot read the issuer metadata', [`MASKINPORTEN_WELL_KNOWN_URL (${url}): ${why}; check the URL and outbound access (HTTPS_PROXY, NO_PROXY)`])
  }
  if (response.status !== 200) {
    await response.body?.cancel()
    throw new ConfigError('cannot read the issuer metadata', [`MASKINPORTEN_WELL_KNOWN_URL (${url}) answered ${response.status}`])
  }
  let json: unknown
  try {
    json = JSON.parse(await readCapped(response, MAX_METADATA_BYTES, 'the metadata'))
  } catch (err) {
    if (err instanceof BodyTooLarge) throw new ConfigError('cannot read the issuer metadata', [`MASKINPORTEN_WELL_KNOWN_URL (${url}): ${err.message}`])
    // The head came in time but the body did not: a timeout, not a document that isn't JSON.
    if ((err as Error).name === 'TimeoutError') throw new ConfigError('cannot read the issuer metadata', [`MASKINPORTEN_WELL_KNOWN_URL (${url}): the body did not arrive within ${formatDuration(timeoutMs)} (PORTVAKT_JWKS_TIMEOUT)`])
    json = undefined
  }
  if (typeof json !== 'object' || json === null) throw new ConfigError('cannot read the issuer metadata', [`MASKINPORTEN_WELL_KNOWN_URL (${url}) did not answer a JSON object`])
  return json as Record<string, unknown>
}

function isSecureJwksUri (href: string): boolean {
  let url: URL
  try {
    url = new URL(href)
  } catch {
    return false
  }
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackUrl(href))
}

// The normalised form of a URL, so https://x/jwk and https://X/jwk agree as the settings read them (env-values.ts).
function normaliseUrl (href: string): string {
  return URL.canParse(href) ? new URL(href).href : href
}

/** What the given variables and the metadata at `url` disagree on, naming both sides. */
function findDisagreements (source: IssuerSource, url: string, issuer: unknown, jwksUri: unknown): string[] {
  const problems: string[] = []
  const where = `MASKINPORTEN_WELL_KNOWN_URL (${url})`
  if (source.issuer !== undefined && typeof issuer === 'string' && issuer !== source.issuer) {
    problems.push(`MASKINPORTEN_ISSUER is ${source.issuer} but the metadata at ${where} says issuer ${issuer}; unset one or make them agree (an iss is compared exactly)`)
  }
  if (source.jwksUri !== undefined && typeof jwksUri === 'string' && normaliseUrl(jwksUri) !== source.jwksUri) {
    problems.push(`MASKINPORTEN_JWKS_URI is ${source.jwksUri} but the metadata at ${where} says jwks_uri ${jwksUri}; unset one or make them agree`)
  }
  return problems
}

/**
 * All three variables set (as NAIS sets them): the two given are enough to verify tokens, so an
 * unreadable metadata document does not stop the start (a Maskinporten blip must not become a crash
 * loop); it is compared when it can be read, and a contradiction does stop it.
 */
async function checkAgainstMetadata (source: IssuerSource & { issuer: string, jwksUri: string, wellKnownUrl: string }, timeoutMs: number, fetchImpl: typeof fetch): Promise<Issuer> {
  let meta: Record<string, unknown>
  try {
    meta = await fetchMetadata(source.wellKnownUrl, timeoutMs, fetchImpl)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return { issuer: source.issuer, jwksUri: source.jwksUri, unchecked: err.problems.join('; ') }
  }
  const problems = findDisagreements(source, source.wellKnownUrl, meta.issuer, meta.jwks_uri)
  if (problems.length > 0) throw new ConfigError('the issuer settings do not agree', problems)
  // A document without the two fields compared nothing: say so, as for one that could not be read.
  const missing = ['issuer', 'jwks_uri'].filter((field) => typeof meta[field] !== 'string')
  if (missing.length > 0) return { issuer: source.issuer, jwksUri: source.jwksUri, unchecked: `the metadata at MASKINPORTEN_WELL_KNOWN_URL (${source.wellKnownUrl}) has no ${missing.join(' or ')}` }
  return { issuer: source.issuer, jwksUri: source.jwksUri }
}

/**
 * Resolve the issuer. With MASKINPORTEN_WELL_KNOWN_URL set, its metadata supplies what is missing
 * and must agree with what is given (README: "they must agree"); without it, the two given are used.
 */
export async function resolveIssuer (source: IssuerSource, timeoutMs: number, fetchImpl: typeof fetch = fetch): Promise<Issuer> {
  const { issuer: givenIssuer, jwksUri: givenJwksUri, wellKnownUrl } = source
  if (givenIssuer !== undefined && givenJwksUri !== undefined) {
    if (wellKnownUrl === undefined) return { issuer: givenIssuer, jwksUri: givenJwksUri }
    return await checkAgainstMetadata({ ...source, issuer: givenIssuer, jwksUri: givenJwksUri, wellKnownUrl }, timeoutMs, fetchImpl)
  }
  const url = wellKnownUrl as string
  const meta = await fetchMetadata(url, timeoutMs, fetchImpl)
  const problems: string[] = []
  const { issuer, jwks_uri: jwksUri } = meta
  if (typeof issuer !== 'string' || issuer === '') problems.push(`the metadata at ${url} has no issuer; set MASKINPORTEN_ISSUER`)
  if (typeof jwksUri !== 'string' || jwksUri === '') problems.push(`the metadata at ${url} has no jwks_uri; set MASKINPORTEN_JWKS_URI`)
  // The rule env-checks.ts applies to a configured URL holds for a discovered one too: keys over plain
  // http to another host could be swapped in transit, and with them every token's signature.
  else if (source.jwksUri === undefined && !source.allowInsecure && !isSecureJwksUri(jwksUri)) {
    problems.push(`the metadata at ${url} names jwks_uri ${jwksUri}, not https and not loopback; set MASKINPORTEN_JWKS_URI, or PORTVAKT_ALLOW_INSECURE_JWKS=true if you really mean it`)
  }
  problems.push(...findDisagreements(source, url, issuer, jwksUri))
  if (problems.length > 0) throw new ConfigError('the issuer settings do not agree', problems)
  return { issuer: source.issuer ?? (issuer as string), jwksUri: source.jwksUri ?? (jwksUri as string) }
}
