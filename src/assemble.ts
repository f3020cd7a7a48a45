/**
 * Assembly: settings → issuer → route table → policy → token check → servers, every part built and
 * wired, nothing listening yet (lifecycle.ts opens and closes them; start.ts is the whole start).
 */
import { Readiness } from './admin/readiness.js'
import { startAltinn } from './altinn/start.js'
import { buildAdminServer } from './admin/server.js'
import { deriveLimits } from './http/limits.js'
import type { FetchResult, KeyStore } from './auth/keys.js'
import { createPolicy } from './auth/policy.js'
import { createTokenCheck } from './auth/token-check.js'
import { resolveIssuer } from './config/discovery.js'
import { FetchFailure, naisOutboundHint } from './config/fetch-failure.js'
import type { Settings } from './config/env.js'
import { RouteHolder } from './config/route-holder.js'
import { EgressHolder } from './egress/holder.js'
import { buildServer } from './gate/server.js'
import type { Logger } from './observe/log.js'
import { createMetrics, type Metrics } from './observe/metrics.js'
import { startTracing, type Tracing } from './observe/tracing.js'
import type { Gateway } from './start.js'

/** The parts startGateway wires together, before anything listens. */
export type Parts = Omit<Gateway, 'port' | 'adminPort' | 'egress' | 'close' | 'shutdown' | 'closeEgress'> & { egressHolder: EgressHolder, tracing: Tracing | undefined }

/** How long close() gives the spans still queued to go out. */
export const TRACE_FLUSH_MS = 2_000

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

/** Start tracing first (nothing of the SDK is loaded when it is off), so the issuer's metadata fetch is traced too; then every other part. */
export async function assemble (settings: Settings, logger: Logger, fetchImpl: typeof fetch): Promise<Parts> {
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
