/**
 * The rules between variables, which no one variable's schema can check: each returns its problems,
 * naming the variable to set (STYLE §3), and all of them run even when a value failed its schema.
 */
import { checkAltinnEnv } from './altinn-env.js'
import { formatDuration } from './duration.js'
import { readProxy, type Env } from './env-schema.js'
import { isLoopbackUrl } from './loopback.js'
import { maskProxyUrl } from './proxy-url.js'

/** MASKINPORTEN_*: the issuer given or discoverable, its keys over https unless told otherwise. */
function checkIssuerSource (env: Partial<Env>, isSet: (name: string) => boolean): string[] {
  const problems: string[] = []
  const { MASKINPORTEN_ISSUER: issuer, MASKINPORTEN_JWKS_URI: jwks, MASKINPORTEN_WELL_KNOWN_URL: wellKnown } = env
  // A variable set to a bad value is reported by the schema already; here it counts as set, so the
  // user is not told to set what they did set.
  const [hasIssuer, hasJwks, hasWellKnown] = ['MASKINPORTEN_ISSUER', 'MASKINPORTEN_JWKS_URI', 'MASKINPORTEN_WELL_KNOWN_URL'].map(isSet)
  if (hasWellKnown !== true && (hasIssuer !== true || hasJwks !== true)) {
    if (hasIssuer !== true && hasJwks !== true) {
      problems.push('set MASKINPORTEN_ISSUER and MASKINPORTEN_JWKS_URI, or MASKINPORTEN_WELL_KNOWN_URL (NAIS sets all three when spec.maskinporten.enabled is true)')
    } else {
      const missing = hasIssuer !== true ? 'MASKINPORTEN_ISSUER' : 'MASKINPORTEN_JWKS_URI'
      problems.push(`${missing}: not set; set it, or MASKINPORTEN_WELL_KNOWN_URL to discover it`)
    }
  }
  // An unreadable PORTVAKT_ALLOW_INSECURE_JWKS allows nothing: fail closed.
  if (env.PORTVAKT_ALLOW_INSECURE_JWKS !== true) {
    for (const [name, href] of [['MASKINPORTEN_JWKS_URI', jwks], ['MASKINPORTEN_WELL_KNOWN_URL', wellKnown]] as const) {
      if (href !== undefined && href.startsWith('http:') && !isLoopbackUrl(href)) {
        problems.push(`${name}: plain http to a host that is not loopback (${href}); use https, or set PORTVAKT_ALLOW_INSECURE_JWKS=true if you really mean it`)
      }
    }
  }
  return problems
}

// The listeners and what each is for; port 0 means "any free port", which never clashes.
const LISTENERS = [
  ['PORTVAKT_ADMIN_PORT', 'the admin listener needs a port of its own'],
  ['PORTVAKT_EGRESS_PORT', 'the egress listener needs a port of its own (checked even when the route table lists no egress yet); set another, or 0']
] as const

/** No two listeners on one port. */
function checkPorts (env: Partial<Env>): string[] {
  const problems: string[] = []
  const taken: Array<[string, number | undefined]> = [['PORTVAKT_PORT', env.PORTVAKT_PORT]]
  for (const [name, what] of LISTENERS) {
    const port = env[name]
    for (const [other, otherPort] of taken) {
      if (port !== undefined && port !== 0 && port === otherPort) problems.push(`${name}: ${port} is also ${other}; ${what}`)
    }
    taken.push([name, port])
  }
  return problems
}

// Keys older than STALE_MAX are not used; below MAX_AGE they would expire before their scheduled refresh.
function checkKeyAges (env: Partial<Env>, present: Record<string, string | undefined>): string[] {
  const { PORTVAKT_JWKS_STALE_MAX: staleMax, PORTVAKT_JWKS_MAX_AGE: maxAge } = env
  if (staleMax === undefined || maxAge === undefined || staleMax >= maxAge) return []
  const said = (name: string, ms: number): string => present[name] ?? formatDuration(ms)
  return [`PORTVAKT_JWKS_STALE_MAX: ${said('PORTVAKT_JWKS_STALE_MAX', staleMax)} is shorter than PORTVAKT_JWKS_MAX_AGE (${said('PORTVAKT_JWKS_MAX_AGE', maxAge)}): the keys would be too old to use before their scheduled refresh, and every request a 503; set it to ${formatDuration(maxAge)} or more`]
}

/** The streamed-upload share leaves the pool some connections. */
function checkStreams (env: Partial<Env>): string[] {
  const { PORTVAKT_UPSTREAM_STREAMS: streams, PORTVAKT_UPSTREAM_CONNECTIONS: connections } = env
  if (streams === undefined || connections === undefined || streams < connections) return []
  return [`PORTVAKT_UPSTREAM_STREAMS: ${streams} leaves none of the ${connections} upstream connections (PORTVAKT_UPSTREAM_CONNECTIONS) to requests without a streamed body; set it below ${connections}`]
}

/** A proxy variable holds an http(s) URL. */
function checkProxy (name: string, href: string): string[] {
  if (href === '') return []
  try {
    const url = new URL(href)
    if (url.protocol === 'http:' || url.protocol === 'https:') return []
  } catch {}
  return [`${name}: "${maskProxyUrl(href)}" is not an http(s) proxy URL; write e.g. http://webproxy.nais:8088`]
}

/** Every rule between variables over what parsed (`env`) and what was set (`present`), in a fixed order. */
export function checkBetweenVariables (env: Partial<Env>, present: Record<string, string | undefined>): string[] {
  const proxy = readProxy(env)
  return [...checkIssuerSource(env, (name) => present[name] !== undefined), ...checkPorts(env), ...checkStreams(env), ...checkKeyAges(env, present), ...checkAltinnEnv(env), ...checkProxy('HTTP_PROXY', proxy.httpProxy), ...checkProxy('HTTPS_PROXY', proxy.httpsProxy)]
}
