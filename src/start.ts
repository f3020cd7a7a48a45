/**
 * Composition: settings → issuer → route table → keys → verifier → server, listening. Shared by
 * `serve` and `dev`; it takes everything as parameters and never reads the process (main.ts does).
 */
import type { FastifyInstance } from 'fastify'
import { KeyStore } from './auth/keys.js'
import { createTokenVerifier } from './auth/token.js'
import { TokenCache, cacheVerifier } from './auth/token-cache.js'
import { resolveIssuer, type Issuer } from './config/discovery.js'
import type { Settings } from './config/env.js'
import { RouteHolder } from './config/route-holder.js'
import type { RouteTable } from './config/routes.js'
import type { Logger } from './log.js'
import { buildServer } from './server.js'

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
  close: () => Promise<void>
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
  const holder = await RouteHolder.load(settings.routesFile)
  const table = holder.current
  holder.onReload((result) => {
    if (result.ok) logger.info({ trigger: result.trigger, routes: describeRoutes(result.table) }, 'route table reloaded')
    else logger.error({ trigger: result.trigger, problems: result.problems }, 'route table reload rejected; the previous table keeps serving')
  })
  const tokenCache = new TokenCache({
    maxEntries: settings.tokenCacheSize,
    maxBytes: TOKEN_CACHE_MAX_BYTES,
    clockToleranceSec: settings.clockToleranceSec,
    maxTokenLifetimeSec: settings.maxTokenLifetimeSec
  })
  const keys = new KeyStore({
    jwksUri: issuer.jwksUri,
    ...settings.jwks,
    fetch: fetchImpl,
    onFetch: (result) => {
      // Fresh keys may have dropped one: cached tokens are checked again against the new set.
      if (result.ok) tokenCache.clear()
      if (result.ok) logger.info({ keys: result.keys, trigger: result.trigger }, 'signing keys fetched')
      else logger.error({ err: result.error.message, trigger: result.trigger, keys: keys.status() }, 'signing keys could not be fetched')
    }
  })
  const verify = cacheVerifier(createTokenVerifier({
    issuer: issuer.issuer,
    algorithms: settings.algorithms,
    clockToleranceSec: settings.clockToleranceSec,
    maxTokenLifetimeSec: settings.maxTokenLifetimeSec
  }, keys.getKey), tokenCache, () => keys.status().ready)
  const app = await buildServer({
    upstream: settings.upstream,
    upstreamTimeoutMs: settings.upstreamTimeoutMs,
    forwardToken: settings.forwardToken,
    routes: () => holder.current,
    verify,
    logger
  })
  keys.start()
  await app.listen({ host: settings.host, port: settings.port })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : settings.port
  logger.info({
    settings: { ...settings, issuerSource: undefined },
    issuer: issuer.issuer,
    jwksUri: issuer.jwksUri,
    routesFile: table.source,
    routes: describeRoutes(table),
    port
  }, 'portvakt started')
  return {
    app,
    keys,
    issuer,
    routes: holder,
    tokenCache,
    port,
    close: async () => {
      keys.stop()
      holder.close()
      await app.close()
    }
  }
}
