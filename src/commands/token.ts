/** `portvakt token`: ask the running dev issuer for a token, in the NAIS token endpoint's format. */
import { isCompactJws } from '../auth/compact-jws.js'
import { ConfigError } from '../config/errors.js'
import { findFieldProblems } from '../dev/token-request.js'
import { partyRequestFields, type PartyFlags } from './token-flags.js'

/** What to ask the dev issuer for. */
export interface TokenCommandOptions extends PartyFlags {
  /** the dev issuer's base URL, e.g. http://127.0.0.1:8090 */
  issuerUrl: string
  scopes: readonly string[]
  audience?: string | undefined
  orgno?: string | undefined
  expiresIn?: number | undefined
  /** skip_cache: a new token even if a cached one is still valid */
  fresh?: boolean
}

// The token request's fields and the flags that set them: a problem is told by the flag the user typed.
const FLAGS: Readonly<Record<string, string>> = {
  target: '--scope',
  resource: '--audience',
  consumer_orgno: '--orgno',
  expires_in: '--expires',
  skip_cache: '--fresh',
  supplier: '--supplier',
  authorization_details: '--systemuser-org',
  system_id: '--system-id',
  systemuser_id: '--systemuser-id'
}

/** The token endpoint's request body for these options (the NAIS token endpoint's fields). */
function requestBody (options: Omit<TokenCommandOptions, 'issuerUrl'>): Record<string, unknown> {
  const body: Record<string, unknown> = { identity_provider: 'maskinporten', target: options.scopes.join(' ') }
  if (options.audience !== undefined) body.resource = options.audience
  if (options.orgno !== undefined) body.consumer_orgno = options.orgno
  if (options.expiresIn !== undefined) body.expires_in = options.expiresIn
  if (options.fresh === true) body.skip_cache = true
  return Object.assign(body, partyRequestFields(options))
}

/**
 * What is wrong with the options, by the dev issuer's own rules and named by their flags
 * (`--orgno: an orgno is 9 digits`), or undefined; checked before any request, so a typo is a usage error.
 */
export function checkTokenOptions (options: Omit<TokenCommandOptions, 'issuerUrl'>): string | undefined {
  const problems = findFieldProblems(requestBody(options)).map((p) => `${FLAGS[p.field] ?? p.field}: ${p.message}`)
  return problems.length === 0 ? undefined : problems.join('; ')
}

function fail (problem: string): never {
  throw new ConfigError('portvakt token: no token', [problem])
}

// The issuer URL comes from PORTVAKT_DEV_ISSUER_PORT (http://127.0.0.1:<port>). A value that is no port
// makes no URL ("abc") or one with credentials ("8090@elsewhere", host elsewhere): refuse both, naming
// the variable, rather than print "Invalid URL" or send the request somewhere else.
function findTokenEndpoint (issuerUrl: string): string {
  const url = URL.canParse(issuerUrl) ? new URL(issuerUrl) : undefined
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') {
    fail(`PORTVAKT_DEV_ISSUER_PORT: the dev issuer address ${issuerUrl} is not valid; set it to a port number (1-65535), the one portvakt dev's issuer listens on (default 8090)`)
  }
  return new URL('/token', url).href
}

/** Get a token from the dev issuer; throws ConfigError saying what to do when it can't. */
export async function requestDevToken (options: TokenCommandOptions, fetchImpl: typeof fetch = fetch): Promise<string> {
  if (options.scopes.length === 0) fail('give at least one --scope, e.g. --scope nav:arbeid:arbeidsforhold.read')
  const endpoint = findTokenEndpoint(options.issuerUrl)
  const body = requestBody(options)
  let response: Response
  try {
    response = await fetchImpl(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000)
    })
  } catch (err) {
    const code = ((err as { cause?: { code?: string } }).cause?.code) ?? (err as Error).name
    fail(`the dev issuer at ${options.issuerUrl} is not running (${code}); start it with "npm run dev" (or "portvakt dev"), or set PORTVAKT_DEV_ISSUER_PORT to the port it listens on`)
  }
  const json = await response.json().catch(() => undefined) as Record<string, unknown> | undefined
  if (response.status !== 200) {
    const why = typeof json?.error_description === 'string' ? `${String(json.error)}: ${json.error_description}` : `HTTP ${response.status}`
    fail(`the dev issuer at ${options.issuerUrl} refused: ${why}`)
  }
  const token = json?.access_token
  if (typeof token !== 'string' || !isCompactJws(token)) fail(`${endpoint} did not answer with an access_token; is it a portvakt dev issuer?`)
  return token
}
