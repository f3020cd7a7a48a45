/**
 * Composition: settings → issuer → route table → keys → verifier → server, listening. Shared by
 * `serve` and `dev`; it takes everything as parameters and never reads the process (main.ts does).
 */
import type { FastifyInstance } from 'fastify'
import { Readiness } from './admin/readiness.js'
import { buildAdminServer } from './admin/server.js'
import { KeyStore } from './auth/keys.js'
import { createPolicy } from './auth/policy.js'
import { createTokenVerifier } from './auth/verify.js'
import { TokenCache, cacheVerifier } from './auth/token-cache.js'
import { resolveIssuer, type Issuer } from './config/discovery.js'
import type { Settings } from './config/env.js'
import { describeProxyUrl } from './config/proxy-url.js'
import { RouteHolder } from './config/route-holder.js'
import type { RouteTable } from './config/routes.js'
import { EgressHolder } from './egress/holder.js'
import { describeEgress, type EgressListener } from './egress/start.js'
import type { Logger } from './observe/log.js'
import { listenOrExplain } from './http/listen-error.js'
import { createMetrics, type Metrics } from './observe/metrics.js'
import { buildServer } from './gate/server.js'
import { drainListener } from './http/shutdown.js'

// 10,000 entries of ordinary claims take ~7 MB; this caps odd ones (long scope lists) too.
const TOKEN_CACHE_MAX_BYTES = 16 * 1024 * 1024

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
  /** the egress listener (issue 8) while the route table in force lists egress targets */
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

/** The settings for the start-up log: proxies masked (host shown, credentials never) and left out when unset. */
function describeSettings (settings: Settings): object {
  const { proxy } = settings
  return {
    ...settings,
    issuerSource: undefined,
    proxy: { httpProxy: describeProxyUrl(proxy.httpProxy), httpsProxy: describeProxyUrl(proxy.httpsProxy), noProxy: proxy.noProxy || undefined }
  }
}

function portOf (app: FastifyInstance, fallback: number): number {
  const address = app.server.address()
  return typeof address === 'object' && address !== null ? address.port : fallback
}

/** What the start-up log line says about the route table. */
export function describeRoutes (table: RouteTable): object[] {
  return table.routes.map((r) => ({
    route: r.id,
    public: r.public || undefined,
    scopes: r.scopes === undefined ? undefined : `${r.scopes.mode === 'any' ? 'anyOf ' : ''}${r.scopes.list.join(' ')}`,
    audience: r.audience,
    consumers: r.consumers === undefined ? undefined : [...r.consumers]
  }))
}

/** Start portvakt with `settings`; throws ConfigError on bad settings or routes. */
export async function startGateway (settings: Settings, logger: Logger, fetchImpl: typeof fetch = fetch): Promise<Gateway> {
  const issuer = await resolveIssuer(settings.issuerSource, settings.jwks.timeoutMs, fetchImpl)
  if (issuer.unchecked !== undefined) {
    logger.warn({ problem: issuer.unchecked }, 'MASKINPORTEN_ISSUER and MASKINPORTEN_JWKS_URI are used as set, unchecked: they could not be compared with the metadata at MASKINPORTEN_WELL_KNOWN_URL (problem says why)')
  }
  const holder = await RouteHolder.load(settings.routesFile)
  const table = holder.current
  // Declared before the key store so its fetch callback can count; `keys` is read only at scrape time.
  const metrics: Metrics = createMetrics(() => keys.status())
  holder.onReload(metrics.observeReload)
  const egress = new EgressHolder({ settings: settings.egress, proxy: settings.proxy, routes: () => holder.current, logger }, settings.shutdown.timeoutMs)
  holder.onReload((result) => {
    if (result.ok) logger.info({ trigger: result.trigger, routes: describeRoutes(result.table), egress: describeEgress(result.table) }, 'route table reloaded')
    else logger.error({ trigger: result.trigger, problems: result.problems }, 'route table reload rejected; the previous table keeps serving')
    // The listener follows the table: started by the first egress targets, stopped when none are left.
    if (result.ok) void egress.follow()
  })
  const policy = createPolicy({ issuer: issuer.issuer, algorithms: settings.algorithms, clockToleranceSec: settings.clockToleranceSec, maxTokenLifetimeSec: settings.maxTokenLifetimeSec })
  const tokenCache = new TokenCache({ maxEntries: settings.tokenCacheSize, maxBytes: TOKEN_CACHE_MAX_BYTES, policy })
  const keys = new KeyStore({
    jwksUri: issuer.jwksUri,
    algorithms: policy.algorithms,
    ...settings.jwks,
    fetch: fetchImpl,
    onFetch: (result) => {
      metrics.observeJwksFetch(result)
      // Fresh keys may have dropped one: cached tokens are checked again against the new set.
      if (result.ok) tokenCache.clear()
      if (result.ok) logger.info({ keys: result.keys, trigger: result.trigger }, 'signing keys fetched')
      else logger.error({ err: result.error.message, trigger: result.trigger, keys: keys.status(), servingLastGoodKeys: keys.status().stale }, 'signing keys could not be fetched')
    }
  })
  const verify = cacheVerifier(createTokenVerifier(policy, keys.getKey, { keys }), tokenCache, keys)
  const app = await buildServer({
    upstream: settings.upstream,
    upstreamTimeoutMs: settings.upstreamTimeoutMs,
    forwardToken: settings.forwardToken,
    routes: () => holder.current,
    verify,
    logger,
    onRequestDone: metrics.observeRequest,
    draining: () => readiness.isDraining
  })
  const readiness: Readiness = new Readiness({
    keys: () => keys.status(),
    routesLoaded: () => holder.current.routes.length > 0 || holder.current.egress.length > 0,
    upstreamReadyUrl: settings.admin.upstreamReadyPath === undefined ? undefined : new URL(settings.admin.upstreamReadyPath, settings.upstream).href,
    upstreamTimeoutMs: Math.min(settings.upstreamTimeoutMs, 5_000)
  })
  const admin = buildAdminServer({ readiness, registry: metrics.registry })
  keys.start()
  metrics.watchStats({ tokenCache: () => tokenCache.stats(), egress: () => egress.stats() })
  try {
    await listenOrExplain({ portVariable: 'PORTVAKT_ADMIN_PORT', hostVariable: 'PORTVAKT_ADMIN_HOST', ...settings.admin }, async () => await admin.listen({ host: settings.admin.host, port: settings.admin.port }))
    await egress.start()
    // Watched only once egress has started: a reload in between would start a second listener.
    holder.watch()
    await listenOrExplain({ portVariable: 'PORTVAKT_PORT', hostVariable: 'PORTVAKT_HOST', host: settings.host, port: settings.port }, async () => await app.listen({ host: settings.host, port: settings.port }))
  } catch (err) {
    // A port in use must not leave the other listeners, the key schedule or the watch behind.
    keys.stop()
    holder.close()
    await Promise.allSettled([app.close(), admin.close(), egress.close()])
    throw err
  }
  const port = portOf(app, settings.port)
  const closeEgress = async (timeoutMs = settings.shutdown.timeoutMs): Promise<void> => {
    const running = egress.listener !== undefined
    await egress.close(timeoutMs)
    if (running) logger.info('shutdown: egress listener closed')
  }
  logger.info({
    settings: describeSettings(settings),
    issuer: issuer.issuer,
    jwksUri: issuer.jwksUri,
    routesFile: table.source,
    routes: describeRoutes(table),
    egress: describeEgress(table),
    port,
    adminPort: portOf(admin, settings.admin.port)
  }, 'portvakt started')
  return {
    app,
    keys,
    issuer,
    routes: holder,
    tokenCache,
    port,
    admin,
    adminPort: portOf(admin, settings.admin.port),
    readiness,
    metrics,
    get egress () {
      return egress.listener
    },
    close: async () => {
      keys.stop()
      holder.close()
      await app.close()
      await admin.close()
      await egress.close()
    },
    shutdown: async (options = {}) => {
      // From here on a reload changes nothing about the egress listener.
      egress.stopFollowing()
      // One deadline for the drain and the egress close after it, so the worst case stays delay +
      // timeout, as the README's grace-period arithmetic says.
      const deadline = Date.now() + settings.shutdown.delayMs + settings.shutdown.timeoutMs
      await drainListener(app, readiness, settings.shutdown, logger)
      keys.stop()
      holder.close()
      await admin.close()
      if (options.keepEgress !== true) await closeEgress(Math.max(0, deadline - Date.now()))
    },
    closeEgress
  }
}
