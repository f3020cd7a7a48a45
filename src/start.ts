/**
 * Start a portvakt: assemble its parts (assemble.ts), follow reloads and open the listeners
 * (lifecycle.ts), log the resolved configuration once. Shared by `serve` and `dev`; it takes
 * everything as parameters and never reads the process (main.ts does).
 */
import type { FastifyInstance } from 'fastify'
import { startExposureCheck, type ReadSocketTable } from './admin/exposure.js'
import type { Readiness } from './admin/readiness.js'
import type { AltinnSide } from './altinn/start.js'
import type { KeyStore } from './auth/keys.js'
import type { TokenCache } from './auth/token-cache.js'
import type { Issuer } from './config/discovery.js'
import type { Settings } from './config/env.js'
import type { RouteHolder } from './config/route-holder.js'
import type { EgressListener } from './egress/start.js'
import type { Logger } from './observe/log.js'
import type { Metrics } from './observe/metrics.js'
import { describeEgress, describeRoutes, describeSettings } from './observe/start-log.js'
import { portvaktVersion } from './version.js'
import { assemble } from './assemble.js'
import { followReloads, listenAll, stopsOf, warnAboutRoutes } from './lifecycle.js'

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

function portOf (app: FastifyInstance, fallback: number): number {
  const address = app.server.address()
  return typeof address === 'object' && address !== null ? address.port : fallback
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
