/** Issuer and JWKS URI: as configured, or discovered from RFC 8414 metadata (MASKINPORTEN_WELL_KNOWN_URL). */
import { ConfigError } from './errors.js'
import { isLoopbackUrl, type IssuerSource } from './env.js'

/** The issuer portvakt trusts and where its keys are. */
export interface Issuer {
  issuer: string
  jwksUri: string
}

async function fetchMetadata (url: string, timeoutMs: number, fetchImpl: typeof fetch): Promise<Record<string, unknown>> {
  let response: Response
  try {
    response = await fetchImpl(url, { redirect: 'error', signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } })
  } catch (err) {
    // An abort's own message ("The operation was aborted due to timeout") names neither the limit nor its setting.
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms (PORTVAKT_JWKS_TIMEOUT)` : (err as Error).message
    throw new ConfigError('cannot read the issuer metadata', [`MASKINPORTEN_WELL_KNOWN_URL (${url}): ${why}; check the URL and outbound access (HTTPS_PROXY, NO_PROXY)`])
  }
  if (response.status !== 200) {
    await response.body?.cancel()
    throw new ConfigError('cannot read the issuer metadata', [`MASKINPORTEN_WELL_KNOWN_URL (${url}) answered ${response.status}`])
  }
  const json: unknown = await response.json().catch(() => undefined)
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

/** Resolve the issuer; fetches the metadata only when a value is missing, and refuses contradictions. */
export async function resolveIssuer (source: IssuerSource, timeoutMs: number, fetchImpl: typeof fetch = fetch): Promise<Issuer> {
  if (source.issuer !== undefined && source.jwksUri !== undefined) return { issuer: source.issuer, jwksUri: source.jwksUri }
  const url = source.wellKnownUrl as string
  const meta = await fetchMetadata(url, timeoutMs, fetchImpl)
  const problems: string[] = []
  const { issuer, jwks_uri: jwksUri } = meta
  if (typeof issuer !== 'string' || issuer === '') problems.push(`the metadata at ${url} has no issuer; set MASKINPORTEN_ISSUER`)
  if (typeof jwksUri !== 'string' || jwksUri === '') problems.push(`the metadata at ${url} has no jwks_uri; set MASKINPORTEN_JWKS_URI`)
  // The rule env.ts applies to a configured URL holds for a discovered one too: keys over plain
  // http to another host could be swapped in transit, and with them every token's signature.
  else if (source.jwksUri === undefined && !source.allowInsecure && !isSecureJwksUri(jwksUri)) {
    problems.push(`the metadata at ${url} names jwks_uri ${jwksUri}, not https and not loopback; set MASKINPORTEN_JWKS_URI, or PORTVAKT_ALLOW_INSECURE_JWKS=true if you really mean it`)
  }
  if (source.issuer !== undefined && typeof issuer === 'string' && issuer !== source.issuer) {
    problems.push(`MASKINPORTEN_ISSUER is ${source.issuer} but the metadata at ${url} says ${issuer}; unset one or make them agree`)
  }
  if (problems.length > 0) throw new ConfigError('the issuer settings do not agree', problems)
  return { issuer: source.issuer ?? (issuer as string), jwksUri: source.jwksUri ?? (jwksUri as string) }
}
