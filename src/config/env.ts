/**
 * NAIS environment → typed, frozen settings. One zod schema per input (STYLE §2); the `Settings`
 * type is derived from it. Every problem is reported at once, naming the variable to set (§3).
 */
import { z } from 'zod'
import { ConfigError } from './errors.js'
import { parseDuration } from './duration.js'
import { isLoopbackUrl } from './loopback.js'
import { maskProxyUrl } from './proxy-url.js'

export { isLoopbackUrl }

/** Ports the NAIS platform's own sidecars use in every pod; we must never listen on them. */
export const RESERVED_PORTS: readonly number[] = [7164, 7165, 7564, 7565, 7566]

/** Signing algorithms we accept a token with: asymmetric only, never `none` or HS*. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const

function duration (fallback: string, min: number, max: number) {
  return z.string().default(fallback).transform((text, ctx) => {
    const ms = parseDuration(text)
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration; write e.g. 500ms, 5s, 10m or 24h` })
      return z.NEVER
    }
    if (ms < min || ms > max) {
      ctx.addIssue({ code: 'custom', message: `${text} is out of range (${min} ms to ${max} ms)` })
      return z.NEVER
    }
    return ms
  })
}

function port (fallback: string) {
  return z.string().default(fallback).transform((text, ctx) => {
    const n = Number(text)
    if (!/^\d+$/.test(text) || n < 0 || n > 65535) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a port number (0-65535)` })
      return z.NEVER
    }
    if (RESERVED_PORTS.includes(n)) {
      ctx.addIssue({ code: 'custom', message: `${n} is reserved by the NAIS platform (7164/7165, 7564-7566); pick another port` })
      return z.NEVER
    }
    return n
  })
}

function boolean (fallback: 'true' | 'false') {
  return z.string().default(fallback).transform((text, ctx) => {
    const lower = text.trim().toLowerCase()
    if (lower === 'true' || lower === '1' || lower === 'yes') return true
    if (lower === 'false' || lower === '0' || lower === 'no') return false
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a boolean; write true or false` })
    return z.NEVER
  })
}

const httpUrl = z.string().transform((text, ctx) => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not an absolute URL` })
    return z.NEVER
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    ctx.addIssue({ code: 'custom', message: `"${text}" must be an http(s) URL` })
    return z.NEVER
  }
  return url.href
})

const algorithms = z.string().default('RS256').transform((text, ctx) => {
  const list = text.split(',').map((a) => a.trim()).filter((a) => a !== '')
  const allowed: readonly string[] = ASYMMETRIC_ALGORITHMS
  const bad = list.filter((a) => !allowed.includes(a))
  if (list.length === 0 || bad.length > 0) {
    ctx.addIssue({ code: 'custom', message: `${bad.length > 0 ? `unsupported ${bad.join(', ')}` : 'empty'}; use a comma-separated list of ${allowed.join(', ')} (never none or HS*)` })
    return z.NEVER
  }
  return list
})

const EnvSchema = z.object({
  MASKINPORTEN_ISSUER: z.string().min(1).optional(),
  MASKINPORTEN_JWKS_URI: httpUrl.optional(),
  MASKINPORTEN_WELL_KNOWN_URL: httpUrl.optional(),
  PORTVAKT_ROUTES: z.string().min(1).default('config/routes.yaml'),
  PORTVAKT_UPSTREAM: httpUrl.prefault('http://127.0.0.1:8081').refine((href) => new URL(href).pathname === '/' && new URL(href).search === '', 'give the origin only (http://127.0.0.1:8081): the upstream sees the same path we authorise'),
  PORTVAKT_HOST: z.string().min(1).default('0.0.0.0'),
  PORTVAKT_PORT: port('8080'),
  PORTVAKT_CLOCK_TOLERANCE: duration('5s', 0, 300_000),
  PORTVAKT_MAX_TOKEN_LIFETIME: duration('680s', 1_000, 86_400_000),
  PORTVAKT_ALGORITHMS: algorithms,
  PORTVAKT_FORWARD_TOKEN: boolean('true'),
  PORTVAKT_UPSTREAM_TIMEOUT: duration('30s', 1, 3_600_000),
  PORTVAKT_TOKEN_CACHE_SIZE: z.string().regex(/^\d+$/, 'write a whole number of entries (0 turns the cache off)').default('10000').transform(Number),
  PORTVAKT_JWKS_TIMEOUT: duration('5s', 1, 60_000),
  PORTVAKT_JWKS_COOLDOWN: duration('30s', 0, 3_600_000),
  PORTVAKT_JWKS_MAX_AGE: duration('10m', 1_000, 86_400_000),
  PORTVAKT_JWKS_STALE_MAX: duration('24h', 0, 604_800_000),
  PORTVAKT_ALLOW_INSECURE_JWKS: boolean('false'),
  PORTVAKT_ADMIN_HOST: z.string().min(1).default('0.0.0.0'),
  PORTVAKT_ADMIN_PORT: port('8079'),
  PORTVAKT_UPSTREAM_READY_PATH: z.string().regex(/^\/[^\s#]*$/, 'a path on the upstream, starting with /, e.g. /internal/isready').optional(),
  PORTVAKT_SHUTDOWN_DELAY: duration('5s', 0, 300_000),
  PORTVAKT_SHUTDOWN_TIMEOUT: duration('30s', 0, 3_600_000),
  // Outbound proxy, as NAIS's on-premises `webproxy: true` injects it; lower case wins, as in curl.
  http_proxy: z.string().optional(),
  HTTP_PROXY: z.string().optional(),
  https_proxy: z.string().optional(),
  HTTPS_PROXY: z.string().optional(),
  no_proxy: z.string().optional(),
  NAIS_TOKEN_ENDPOINT: httpUrl.optional(),
  PORTVAKT_EGRESS_PORT: port('8083'),
  PORTVAKT_EGRESS_TIMEOUT: duration('30s', 1, 3_600_000),
  PORTVAKT_EGRESS_REFRESH_INTERVAL: duration('10s', 0, 3_600_000),
  NO_PROXY: z.string().optional(),
  PORTVAKT_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')
})

type Env = z.output<typeof EnvSchema>

/** How portvakt finds its issuer: both given, or discovered from RFC 8414 metadata. */
export interface IssuerSource {
  issuer: string | undefined
  jwksUri: string | undefined
  wellKnownUrl: string | undefined
  /** PORTVAKT_ALLOW_INSECURE_JWKS: a discovered jwks_uri is held to the same http rule */
  allowInsecure: boolean
}

/** Everything portvakt reads from the environment, typed and checked. */
export interface Settings {
  issuerSource: IssuerSource
  routesFile: string
  upstream: string
  host: string
  port: number
  clockToleranceSec: number
  maxTokenLifetimeSec: number
  algorithms: readonly string[]
  forwardToken: boolean
  upstreamTimeoutMs: number
  /** how long the app (launcher mode) gets between SIGTERM and SIGKILL */
  shutdownTimeoutMs: number
  /** verified tokens remembered (0: off); see auth/token-cache.ts */
  tokenCacheSize: number
  jwks: { timeoutMs: number, cooldownMs: number, maxAgeMs: number, staleMaxMs: number, allowInsecure: boolean }
  /** the admin listener: probes and metrics, apart from the proxied path space */
  admin: { host: string, port: number, upstreamReadyPath: string | undefined }
  shutdown: { delayMs: number, timeoutMs: number }
  /** the proxy for every outbound call (issuer metadata, JWKS, egress); empty strings mean none */
  proxy: OutboundProxy
  logLevel: Env['PORTVAKT_LOG_LEVEL']
  egress: EgressSettings
}

/** The egress side (issue 8): where tokens come from, where the app calls, how to go out. */
export interface EgressSettings {
  /** NAIS_TOKEN_ENDPOINT; required only when the route table lists egress targets */
  tokenEndpoint: string | undefined
  port: number
  timeoutMs: number
  /** at most one skip_cache token fetch per target this often */
  refreshIntervalMs: number
}

/** The on-premises webproxy as NAIS sets it, named as undici's EnvHttpProxyAgent takes it. */
export interface OutboundProxy {
  httpProxy: string
  httpsProxy: string
  noProxy: string
}

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

function checkProxy (name: string, href: string): string[] {
  if (href === '') return []
  try {
    const url = new URL(href)
    if (url.protocol === 'http:' || url.protocol === 'https:') return []
  } catch {}
  return [`${name}: "${maskProxyUrl(href)}" is not an http(s) proxy URL; write e.g. http://webproxy.nais:8088`]
}

/**
 * Parse each variable on its own, so one bad value does not hide the checks between variables
 * (issuer, ports): the user learns everything to fix in one run (STYLE §3).
 */
function parseEachVariable (present: Record<string, string | undefined>): { env: Partial<Env>, problems: string[] } {
  const env: Record<string, unknown> = {}
  const problems: string[] = []
  for (const [name, schema] of Object.entries(EnvSchema.shape)) {
    const parsed = (schema as z.ZodType).safeParse(present[name])
    if (parsed.success) env[name] = parsed.data
    else problems.push(...parsed.error.issues.map((i) => `${[name, ...i.path].join('.')}: ${i.message}`))
  }
  return { env: env as Partial<Env>, problems }
}

/** Read settings from an environment map; throws ConfigError naming every variable to fix. */
export function loadSettings (env: Record<string, string | undefined>): Settings {
  // Empty values count as unset, as they do in a Kubernetes env entry with no value.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  // Proxy variables come in both cases (curl reads the lower-case ones); the upper case wins.
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY']) present[name] ??= present[name.toLowerCase()]
  const { env: partial, problems } = parseEachVariable(present)
  const proxy = {
    httpProxy: partial.http_proxy ?? partial.HTTP_PROXY ?? '',
    httpsProxy: partial.https_proxy ?? partial.HTTPS_PROXY ?? '',
    noProxy: partial.no_proxy ?? partial.NO_PROXY ?? ''
  }
  problems.push(...checkIssuerSource(partial, (name) => present[name] !== undefined), ...checkPorts(partial), ...checkProxy('HTTP_PROXY', proxy.httpProxy), ...checkProxy('HTTPS_PROXY', proxy.httpsProxy))
  if (problems.length > 0) throw new ConfigError('portvakt cannot start; fix these environment variables', problems)
  // Every variable parsed (none had a problem), so the partial is whole.
  const e = partial as Env
  return Object.freeze({
    issuerSource: Object.freeze({ issuer: e.MASKINPORTEN_ISSUER, jwksUri: e.MASKINPORTEN_JWKS_URI, wellKnownUrl: e.MASKINPORTEN_WELL_KNOWN_URL, allowInsecure: e.PORTVAKT_ALLOW_INSECURE_JWKS }),
    routesFile: e.PORTVAKT_ROUTES,
    upstream: e.PORTVAKT_UPSTREAM,
    host: e.PORTVAKT_HOST,
    port: e.PORTVAKT_PORT,
    clockToleranceSec: e.PORTVAKT_CLOCK_TOLERANCE / 1000,
    maxTokenLifetimeSec: e.PORTVAKT_MAX_TOKEN_LIFETIME / 1000,
    algorithms: Object.freeze(e.PORTVAKT_ALGORITHMS),
    forwardToken: e.PORTVAKT_FORWARD_TOKEN,
    upstreamTimeoutMs: e.PORTVAKT_UPSTREAM_TIMEOUT,
    shutdownTimeoutMs: e.PORTVAKT_SHUTDOWN_TIMEOUT,
    tokenCacheSize: e.PORTVAKT_TOKEN_CACHE_SIZE,
    jwks: Object.freeze({
      timeoutMs: e.PORTVAKT_JWKS_TIMEOUT,
      cooldownMs: e.PORTVAKT_JWKS_COOLDOWN,
      maxAgeMs: e.PORTVAKT_JWKS_MAX_AGE,
      staleMaxMs: e.PORTVAKT_JWKS_STALE_MAX,
      allowInsecure: e.PORTVAKT_ALLOW_INSECURE_JWKS
    }),
    admin: Object.freeze({ host: e.PORTVAKT_ADMIN_HOST, port: e.PORTVAKT_ADMIN_PORT, upstreamReadyPath: e.PORTVAKT_UPSTREAM_READY_PATH }),
    shutdown: Object.freeze({ delayMs: e.PORTVAKT_SHUTDOWN_DELAY, timeoutMs: e.PORTVAKT_SHUTDOWN_TIMEOUT }),
    proxy: Object.freeze(proxy),
    logLevel: e.PORTVAKT_LOG_LEVEL,
    egress: Object.freeze({
      tokenEndpoint: e.NAIS_TOKEN_ENDPOINT,
      port: e.PORTVAKT_EGRESS_PORT,
      timeoutMs: e.PORTVAKT_EGRESS_TIMEOUT,
      refreshIntervalMs: e.PORTVAKT_EGRESS_REFRESH_INTERVAL
    })
  })
}
