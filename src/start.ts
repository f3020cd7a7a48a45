/**
 * Composition: settings → issuer → route table → policy → token check → servers, listening. Shared
 * by `serve` and `dev`; it takes everything as parameters and never reads the process (main.ts does).
 */
import type { FastifyInstance } from 'fastify'
import { startExposureCheck, type ReadSocketTable } from './admin/exposure.js'
import { Readiness } from './admin/readiness.js'
import { startAltinn, type AltinnSide } from './altinn/start.js'
import { buildAdminServer } from './admin/server.js'
import { deriveLimits } from './http/limits.js'
import type { FetchResult, KeyStore } from './auth/keys.js'
import { createPolicy } from './auth/policy.js'
import { createTokenCheck } from './auth/token-check.js'
import type { TokenCache } from './auth/token-cache.js'
import { resolveIssuer, type Issuer } from './config/discovery.js'
import { ConfigError } from './config/errors.js'
import { FetchFailure, naisOutboundHint } from './config/fetch-failure.js'
import type { Settings } from './config/env.js'
import { RouteHolder } from './config/route-holder.js'
import type { RouteTable } from './config/routes.js'
import { EgressHolder } from './egress/holder.js'
import type { EgressListener } from './egress/start.js'
import { buildServer } from './gate/server.js'
import { collectProblems, listenOrExplain } from './http/listen-error.js'
import { drainListener } from './http/shutdown.js'
import type { Logger } from './observe/log.js'
import { createMetrics, type Metrics } from './observe/metrics.js'
import { startTracing, type Tracing } from './observe/tracing.js'
import { describeEgress, describeRoutes, describeSettings } from './observe/start-log.js'
import { portvaktVersion } from './version.js'

/** A running portvakt. */
export interface Gateway {
  app: FastifyInstance
  keys: KeyStore
  issuer: Issuer
  /** the route table in force, reloadable */
  routes: RouteHolder
  /** verified tokens; `stats()` gives hit/miss counts for metrics */
  tokenCache: TokenCache
  /** the port it listens on (useful with port 0) */
  port: number
  /** the admin listener (probes, metrics) and its port */
  admin: FastifyInstance
  adminPort: number
  readiness: Readiness
  metrics: Metrics
  /** Altinn's PDP for routes with `altinn`; undefined when PORTVAKT_ALTINN_URL is unset */
  altinn: AltinnSide | undefined
  /** the egress listener while the route table in force lists egress targets */
  readonly egress: EgressListener | undefined
  /** stop at once (tests) */
  close: () => Promise<void>
  /**
   * Stop gracefully: not ready, keep serving PORTVAKT_SHUTDOWN_DELAY, drain up to
   * PORTVAKT_SHUTDOWN_TIMEOUT. With `keepEgress`, the egress listener stays open for closeEgress().
   */
  shutdown: (options?: { keepEgress?: boolean }) => Promise<void>
  /** Close the egress listener, giving calls in flight up to PORTVAKT_SHUTDOWN_TIMEOUT. */
  closeEgress: () => Promise<void>
}

/** The parts startGateway wires together, before anything listens. */
type Parts = Omit<Gateway, 'port' | 'adminPort' | 'egress' | 'close' | 'shutdown' | 'closeEgress'> & { egressHolder: EgressHolder, tracing: Tracing | undefined }

function portOf (app: FastifyInstance, fallback: number): number {
  const address = app.server.address()
  return typeof address === 'object' && address !== null ? address.port : fallback
}

/**
 * Log and count each key fetch; the keys left out of a new document, one line each. On NAIS, a
 * failure that looks like blocked outbound traffic says which policy it may need.
 */
function reportKeyFetch (logger: Logger, metrics: Metrics, onNais: boolean): (result: FetchResult, keys: KeyStore) => void {
  return (result, keys) => {
    metrics.observeJwksFetch(result)
    if (!result.ok) {
      const hint = onNais && result.error instanceof FetchFailure ? naisOutboundHint(result.error) : undefined
      logger.error({ err: result.error.message, hint, trigger: result.trigger, keys: keys.status(), servingLastGoodKeys: keys.status().stale }, 'signing keys could not be fetched')
      return
    }
    const { outcome, leftOut } = result.fetched
    logger.info({ keys: result.keys, trigger: result.trigger, outcome }, 'signing keys fetched')
    if (outcome === 'same') return
    for (const key of leftOut) {
      if (key.secret) logger.error({ kid: key.kid, index: key.index, reason: key.reason }, 'the JWKS publishes a private or secret key: left out; rotate it at the issuer')
      else logger.warn({ kid: key.kid, index: key.index, reason: key.reason }, 'signing key left out of the JWKS in use')
    }
  }
}

/** What `portvakt check` warns about the table, logged once it is in force. */
function warnAboutRoutes (logger: Logger, table: RouteTable): void {
  if (table.warnings.length > 0) logger.warn({ warnings: table.warnings }, 'the route table in force has warnings (portvakt check shows them too)')
}

/** Log and count each reload; the egress listener follows the table (started by its first targets, stopped when none are left). */
function followReloads (parts: Parts, logger: Logger): void {
  parts.routes.onReload(parts.metrics.observeReload)
  parts.routes.onReload((result) => {
    if (!result.ok) {
      logger.error({ trigger: result.trigger, problems: result.problems }, 'route table reload rejected; the previous table keeps serving')
      return
    }
    logger.info({ trigger: result.trigger, routes: describeRoutes(result.table), egress: describeEgress(result.table) }, 'route table reloaded')
    warnAboutRoutes(logger, result.table)
    void parts.egressHolder.follow()
  })
}

/** Start tracing first (nothing of the SDK is loaded when it is off), so the issuer's metadata fetch is traced too; then every other part. */
async function assemble (settings: Settings, logger: Logger, fetchImpl: typeof fetch): Promise<Parts> {
  const tracing = await startTracing(settings.tracing, logger)
  try {
    return await assembleParts(settings, logger, fetchImpl, tracing)
  } catch (err) {
    await tracing?.shutdown(TRACE_FLUSH_MS)
    throw err
  }
}

/** Resolve the issuer, load the routes and build every part; nothing listens yet. */
async function assembleParts (settings: Settings, logger: Logger, fetchImpl: typeof fetch, tracing: Tracing | undefined): Promise<Parts> {
  const issuer = await resolveIssuer(settings.issuerSource, settings.jwks.timeoutMs, tracing?.traceFetch(fetchImpl, 'metadata') ?? fetchImpl)
  if (issuer.unchecked !== undefined) {
    logger.warn({ problem: issuer.unchecked }, 'MASKINPORTEN_ISSUER and MASKINPORTEN_JWKS_URI are used as set, unchecked: they could not be compared with the metadata at MASKINPORTEN_WELL_KNOWN_URL (problem says why)')
  }
  const routes = await RouteHolder.load(settings.routesFile)
  const metrics = createMetrics()
  const altinn = await startAltinn({ settings: settings.altinn, tokenEndpoint: settings.egress.tokenEndpoint, proxy: settings.proxy, table: routes.current, logger, onCall: metrics.observeAltinnCall })
  const policy = createPolicy({ issuer: issuer.issuer, algorithms: settings.algorithms, clockToleranceSec: settings.clockToleranceSec, maxTokenLifetimeSec: settings.maxTokenLifetimeSec })
  const { keys, tokenCache, verify } = createTokenCheck({ policy, jwksUri: issuer.jwksUri, jwks: settings.jwks, cacheSize: settings.tokenCacheSize, fetch: tracing?.traceFetch(fetchImpl, 'jwks') ?? fetchImpl, proxy: settings.proxy, onFetch: reportKeyFetch(logger, metrics, settings.clusterName !== undefined) })
  const egressHolder = new EgressHolder({ settings: settings.egress, proxy: settings.proxy, limits: settings.listener, routes: () => routes.current, logger, tracing }, settings.shutdown.timeoutMs)
  const readiness = new Readiness({
    keys: () => keys.status(),
    routesLoaded: () => routes.current.routes.length > 0 || routes.current.egress.length > 0,
    upstreamReadyUrl: settings.admin.upstreamReadyPath === undefined ? undefined : new URL(settings.admin.upstreamReadyPath, settings.upstream).href,
    upstreamTimeoutMs: Math.min(settings.upstreamTimeoutMs, 5_000)
  })
  const app = await buildServer({
    upstream: settings.upstream,
    upstreamTimeoutMs: settings.upstreamTimeoutMs,
    forwardToken: settings.forwardToken,
    passHeaders: settings.passHeaders,
    trustedHops: settings.trustedHops,
    limits: settings.listener,
    pool: settings.upstreamPool,
    routes: () => routes.current,
    verify,
    altinn: altinn?.decider,
    logger,
    onRequestDone: metrics.observeRequest,
    draining: () => readiness.isDraining,
    tracing
  })
  // The readiness check's upstream probe is bounded at 5 s, as above.
  const admin = buildAdminServer({ readiness, registry: metrics.registry, logger, limits: deriveLimits(5_000, settings.listener) })
  metrics.watchKeys(() => keys.status())
  metrics.watchStats({ tokenCache: () => tokenCache.stats(), egress: () => egressHolder.stats(), spansDropped: () => tracing?.dropped() ?? {}, altinn: () => altinn?.decider.stats() })
  return { app, keys, issuer, routes, tokenCache, admin, readiness, metrics, egressHolder, tracing, altinn }
}

/**
 * Open the listeners: admin, egress (when the table lists targets), then the gate. Each is tried
 * even when one before it failed, so every port in use is named in one run (STYLE §3); on any
 * failure everything is closed again.
 */
async function listenAll (parts: Parts, settings: Settings): Promise<void> {
  parts.keys.start()
  try {
    const problems = await collectProblems([
      async () => { await listenOrExplain({ portVariable: 'PORTVAKT_ADMIN_PORT', hostVariable: 'PORTVAKT_ADMIN_HOST', ...settings.admin }, async () => await parts.admin.listen({ host: settings.admin.host, port: settings.admin.port })) },
      async () => { await parts.egressHolder.start() },
      async () => { await listenOrExplain({ portVariable: 'PORTVAKT_PORT', hostVariable: 'PORTVAKT_HOST', host: settings.host, port: settings.port }, async () => await parts.app.listen({ host: settings.host, port: settings.port })) }
    ])
    if (problems.length > 0) throw new ConfigError('portvakt cannot start; fix these environment variables', problems)
    // Watched only once egress has started: a reload in between would start a second listener.
    parts.routes.watch()
  } catch (err) {
    // A port in use must not leave the other listeners, the key schedule or the watch behind.
    parts.keys.stop()
    parts.routes.close()
    await Promise.allSettled([parts.app.close(), parts.admin.close(), parts.egressHolder.close(), parts.altinn?.close(), parts.tracing?.shutdown(TRACE_FLUSH_MS)])
    throw err
  }
}

/** How long close() gives the spans still queued to go out. */
const TRACE_FLUSH_MS = 2_000

/** The ways a running gateway stops. */
function stopsOf (parts: Parts, settings: Settings, logger: Logger): Pick<Gateway, 'close' | 'shutdown' | 'closeEgress'> {
  const { egressHolder } = parts
  const closeEgress = async (timeoutMs = settings.shutdown.timeoutMs): Promise<void> => {
    const running = egressHolder.listener !== undefined
    const started = Date.now()
    await egressHolder.close(timeoutMs)
    if (running) logger.info('shutdown: egress listener closed')
    // Last: the spans of the last requests, both sides', go out within what is left of the deadline.
    await parts.tracing?.shutdown(Math.max(0, timeoutMs - (Date.now() - started)))
  }
  return {
    close: async () => {
      parts.keys.stop()
      parts.routes.close()
      await parts.app.close()
      await parts.admin.close()
      await egressHolder.close()
      await parts.altinn?.close()
      await parts.tracing?.shutdown(TRACE_FLUSH_MS)
    },
    shutdown: async (options = {}) => {
      // From here on a reload changes nothing about the egress listener.
      egressHolder.stopFollowing()
      // One deadline for the drain and the egress close after it, so the worst case stays delay +
      // timeout, as the README's grace-period arithmetic says.
      const deadline = Date.now() + settings.shutdown.delayMs + settings.shutdown.timeoutMs
      await drainListener(parts.app, parts.readiness, settings.shutdown, logger)
      parts.keys.stop()
      parts.routes.close()
      await parts.admin.close()
      await parts.altinn?.close()
      if (options.keepEgress !== true) await closeEgress(Math.max(0, deadline - Date.now()))
    },
    closeEgress
  }
}

/**
 * Start portvakt with `settings`; throws ConfigError on bad settings or routes. With
 * `readSocketTable` (main.ts gives /proc/net), readiness also checks the app listens on loopback only.
 */
export async function startGateway (settings: Settings, logger: Logger, fetchImpl: typeof fetch = fetch, readSocketTable?: ReadSocketTable): Promise<Gateway> {
  const parts = await assemble(settings, logger, fetchImpl)
  followReloads(parts, logger)
  await listenAll(parts, settings)
  const { egressHolder, ...rest } = parts
  const port = portOf(parts.app, settings.port)
  const adminPort = portOf(parts.admin, settings.admin.port)
  const table = parts.routes.current
  logger.info({
    version: portvaktVersion(),
    // The runtime's version answers "is this pod on a Node with that fix?" (the executable embeds its own).
    node: process.version,
    settings: describeSettings(settings),
    issuer: parts.issuer.issuer,
    jwksUri: parts.issuer.jwksUri,
    routesFile: table.source,
    routes: describeRoutes(table),
    egress: describeEgress(table),
    port,
    adminPort
  }, 'portvakt started')
  const exposure = readSocketTable === undefined ? undefined : await startExposureCheck({ upstream: settings.upstream, allowExposed: settings.allowExposedUpstream, read: readSocketTable, logger, ownPorts: [port, adminPort] })
  if (exposure !== undefined) parts.readiness.addCheck(exposure)
  warnAboutRoutes(logger, table)
  return {
    ...rest,
    port,
    adminPort,
    get egress () { return egressHolder.listener },
    ...stopsOf(parts, settings, logger)
  }
}
