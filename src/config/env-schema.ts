/**
 * The NAIS environment's one schema (STYLE §2): every variable portvakt reads, piped into the
 * settings object, and the `Settings` type is its output. Reading it (every problem at once) is
 * env.ts; the rules between variables are env-checks.ts.
 */
import { z } from 'zod'
import { ALTINN_ENV, altinnSettings } from './altinn-env.js'
import { algorithms, boolean, duration, httpUrl, logFormat, optionalWholeNumber, passHeaders, port, size, trustedHops, wholeNumber } from './env-values.js'
import type { TracingSettings } from './tracing-env.js'

/**
 * Every variable portvakt reads, each with its own schema (loadSettings parses them one by one).
 * Timeouts start at 100 ms: zero would fail every call, and less is a GC pause on a busy 2-core pod.
 */
export const EnvSchema = z.object({
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
  PORTVAKT_PASS_HEADERS: passHeaders,
  PORTVAKT_TRUSTED_HOPS: trustedHops,
  PORTVAKT_UPSTREAM_TIMEOUT: duration('30s', 100, 3_600_000),
  PORTVAKT_UPSTREAM_CONNECTIONS: wholeNumber('128', 2, 65_536, 'connections'),
  PORTVAKT_UPSTREAM_STREAMS: optionalWholeNumber(1, 65_535, 'connections'),
  PORTVAKT_UPSTREAM_QUEUE_TIMEOUT: duration('5s', 1, 3_600_000),
  PORTVAKT_BODY_BUFFER: size('64KiB', 0, 64 * 1024 * 1024),
  PORTVAKT_BODY_MIN_RATE: wholeNumber('240', 0, 1024 ** 3, 'bytes a second'),
  PORTVAKT_BODY_RATE_WINDOW: duration('5s', 100, 3_600_000),
  PORTVAKT_MAX_CONNECTIONS: wholeNumber('1024', 0, 1_048_576, 'connections'),
  PORTVAKT_TOKEN_CACHE_SIZE: z.string().regex(/^\d+$/, 'write a whole number of entries (0 turns the cache off)').default('10000').transform(Number),
  PORTVAKT_JWKS_TIMEOUT: duration('5s', 100, 60_000),
  PORTVAKT_JWKS_COOLDOWN: duration('30s', 0, 3_600_000),
  PORTVAKT_JWKS_MAX_AGE: duration('10m', 1_000, 86_400_000),
  PORTVAKT_JWKS_STALE_MAX: duration('24h', 0, 604_800_000),
  PORTVAKT_ALLOW_INSECURE_JWKS: boolean('false'),
  PORTVAKT_ADMIN_HOST: z.string().min(1).default('0.0.0.0'),
  PORTVAKT_ADMIN_PORT: port('8079'),
  PORTVAKT_ALLOW_EXPOSED_UPSTREAM: boolean('false'),
  PORTVAKT_UPSTREAM_READY_PATH: z.string().regex(/^\/[^\s#]*$/, 'a path on the upstream, starting with /, e.g. /internal/isready').optional(),
  PORTVAKT_SHUTDOWN_DELAY: duration('5s', 0, 300_000),
  // Zero would SIGKILL the app (launcher mode) and cut every request in flight the moment the delay ends.
  PORTVAKT_SHUTDOWN_TIMEOUT: duration('30s', 100, 3_600_000),
  // Outbound proxy, as NAIS's on-premises `webproxy: true` injects it, in either case; where both are
  // set the lower case wins, as in curl (readProxy).
  http_proxy: z.string().optional(),
  HTTP_PROXY: z.string().optional(),
  https_proxy: z.string().optional(),
  HTTPS_PROXY: z.string().optional(),
  no_proxy: z.string().optional(),
  NAIS_TOKEN_ENDPOINT: httpUrl.optional(),
  PORTVAKT_EGRESS_PORT: port('8083'),
  PORTVAKT_EGRESS_TIMEOUT: duration('30s', 100, 3_600_000),
  PORTVAKT_EGRESS_REFRESH_INTERVAL: duration('10s', 0, 3_600_000),
  NO_PROXY: z.string().optional(),
  ...ALTINN_ENV,
  // Set by NAIS in every pod: messages about outbound traffic then name the access policy it needs.
  NAIS_CLUSTER_NAME: z.string().optional(),
  PORTVAKT_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PORTVAKT_LOG_FORMAT: logFormat
})

/** The variables as the schema reads them. */
export type Env = z.output<typeof EnvSchema>

/** Every variable the settings read, from the schema itself (for "unknown variable" warnings). */
export const SETTING_NAMES: readonly string[] = Object.keys(EnvSchema.shape)

/** The proxy variables, read once for every outbound call: where both cases are set, the lower case wins, as in curl. */
export function readProxy (env: Partial<Env>): { httpProxy: string, httpsProxy: string, noProxy: string } {
  return {
    httpProxy: env.http_proxy ?? env.HTTP_PROXY ?? '',
    httpsProxy: env.https_proxy ?? env.HTTPS_PROXY ?? '',
    noProxy: env.no_proxy ?? env.NO_PROXY ?? ''
  }
}

/** The variables as settings: grouped, named for what they do, frozen. */
export const SettingsSchema = EnvSchema.transform((e) => Object.freeze({
  issuerSource: Object.freeze({
    issuer: e.MASKINPORTEN_ISSUER,
    jwksUri: e.MASKINPORTEN_JWKS_URI,
    wellKnownUrl: e.MASKINPORTEN_WELL_KNOWN_URL,
    /** PORTVAKT_ALLOW_INSECURE_JWKS: a discovered jwks_uri is held to the same http rule */
    allowInsecure: e.PORTVAKT_ALLOW_INSECURE_JWKS
  }),
  routesFile: e.PORTVAKT_ROUTES,
  upstream: e.PORTVAKT_UPSTREAM,
  /** PORTVAKT_ALLOW_EXPOSED_UPSTREAM: readiness does not refuse an app listening beyond loopback (admin/exposure.ts) */
  allowExposedUpstream: e.PORTVAKT_ALLOW_EXPOSED_UPSTREAM,
  host: e.PORTVAKT_HOST,
  port: e.PORTVAKT_PORT,
  clockToleranceSec: e.PORTVAKT_CLOCK_TOLERANCE / 1000,
  maxTokenLifetimeSec: e.PORTVAKT_MAX_TOKEN_LIFETIME / 1000,
  algorithms: Object.freeze(e.PORTVAKT_ALGORITHMS),
  forwardToken: e.PORTVAKT_FORWARD_TOKEN,
  /** other gateways' identity headers the upstream may get from the client (config/dropped-headers.ts) */
  passHeaders: e.PORTVAKT_PASS_HEADERS,
  /** proxies in front whose X-Forwarded-For, -Proto and -Host are passed on (proxy/forwarded-for.ts); 0: none */
  trustedHops: e.PORTVAKT_TRUSTED_HOPS,
  upstreamTimeoutMs: e.PORTVAKT_UPSTREAM_TIMEOUT,
  /** the upstream pool and its share for streamed uploads (proxy/slots.ts); half by default */
  upstreamPool: Object.freeze({ connections: e.PORTVAKT_UPSTREAM_CONNECTIONS, streams: e.PORTVAKT_UPSTREAM_STREAMS ?? Math.floor(e.PORTVAKT_UPSTREAM_CONNECTIONS / 2), queueTimeoutMs: e.PORTVAKT_UPSTREAM_QUEUE_TIMEOUT }),
  /** what both listeners hold a client to: bodies, their pace, open connections (http/limits.ts) */
  listener: Object.freeze({ bodyBufferBytes: e.PORTVAKT_BODY_BUFFER, bodyMinBytesPerSecond: e.PORTVAKT_BODY_MIN_RATE, bodyRateWindowMs: e.PORTVAKT_BODY_RATE_WINDOW, maxConnections: e.PORTVAKT_MAX_CONNECTIONS }),
  /** verified tokens remembered (0: off); see auth/token-cache.ts */
  tokenCacheSize: e.PORTVAKT_TOKEN_CACHE_SIZE,
  jwks: Object.freeze({ timeoutMs: e.PORTVAKT_JWKS_TIMEOUT, cooldownMs: e.PORTVAKT_JWKS_COOLDOWN, maxAgeMs: e.PORTVAKT_JWKS_MAX_AGE, staleMaxMs: e.PORTVAKT_JWKS_STALE_MAX }),
  /** the admin listener: probes and metrics, apart from the proxied path space */
  admin: Object.freeze({ host: e.PORTVAKT_ADMIN_HOST, port: e.PORTVAKT_ADMIN_PORT, upstreamReadyPath: e.PORTVAKT_UPSTREAM_READY_PATH }),
  /** also how long the app (launcher mode) gets between SIGTERM and SIGKILL */
  shutdown: Object.freeze({ delayMs: e.PORTVAKT_SHUTDOWN_DELAY, timeoutMs: e.PORTVAKT_SHUTDOWN_TIMEOUT }),
  /** the proxy for every outbound call (issuer metadata, JWKS, egress); empty strings mean none */
  proxy: Object.freeze(readProxy(e)),
  logLevel: e.PORTVAKT_LOG_LEVEL,
  /** the log lines' shape: nais (logstash's field names, the default) or pino (pino's own) */
  logFormat: e.PORTVAKT_LOG_FORMAT,
  /** NAIS_CLUSTER_NAME: set when running on NAIS */
  clusterName: e.NAIS_CLUSTER_NAME,
  /** the egress side: where tokens come from and where the app calls */
  egress: Object.freeze({
    /** NAIS_TOKEN_ENDPOINT; required only when the route table lists egress targets */
    tokenEndpoint: e.NAIS_TOKEN_ENDPOINT,
    port: e.PORTVAKT_EGRESS_PORT,
    timeoutMs: e.PORTVAKT_EGRESS_TIMEOUT,
    /** at most one skip_cache token fetch per target this often */
    refreshIntervalMs: e.PORTVAKT_EGRESS_REFRESH_INTERVAL
  }),
  /** Altinn's PDP, for routes with `altinn` (config/altinn-env.ts) */
  altinn: altinnSettings(e)
}))

/** Everything portvakt reads from the environment, typed and checked; `tracing` from the OTEL_* variables (tracing-env.ts), undefined when off. */
export type Settings = z.output<typeof SettingsSchema> & { readonly tracing: TracingSettings | undefined }
/** How portvakt finds its issuer: both given, or discovered from RFC 8414 metadata. */
export type IssuerSource = Settings['issuerSource']
/** What both listeners hold a client to. */
export type ListenerSettings = Settings['listener']
/** The Altinn PDP's settings. */
export type AltinnSettings = Settings['altinn']
/** The egress side's settings. */
export type EgressSettings = Settings['egress']
/** The on-premises webproxy as NAIS sets it, named as undici's EnvHttpProxyAgent takes it. */
export type OutboundProxy = Settings['proxy']
