/**
 * Composition of the egress side: settings → outbound client → token client → listener on
 * 127.0.0.1. Started only when the route table lists egress targets (holder.ts starts and stops it
 * as reloads change that); everything comes in as parameters.
 */
import type { EgressSettings, ListenerSettings, OutboundProxy } from '../config/env.js'
import { ConfigError } from '../config/errors.js'
import { describeProxyUrl } from '../config/proxy-url.js'
import type { RouteTable } from '../config/routes.js'
import { createOutboundHttp, EGRESS_CLIENT_OPTIONS } from '../http/client.js'
import { listenOrExplain } from '../http/listen-error.js'
import { closeWithin } from '../http/shutdown.js'
import type { Logger } from '../observe/log.js'
import { describeEgress } from '../observe/start-log.js'
import { buildEgressServer, type EgressStats } from './server.js'
import { TokenClient } from './token-client.js'

/** Loopback only, never configurable: nothing outside the pod may borrow our tokens. */
export const EGRESS_HOST = '127.0.0.1'

/** A running egress listener. */
export interface EgressListener {
  port: number
  stats: () => EgressStats
  /** stop; with `timeoutMs`, requests in flight get that long to finish before they are cut */
  close: (timeoutMs?: number) => Promise<void>
}

/** What the egress side is started with. */
export interface EgressStartOptions {
  settings: EgressSettings
  /** the webproxy for the calls and the token fetches (settings.proxy) */
  proxy: OutboundProxy
  /** what the listener holds the app's requests to (bodies, their pace, connections), as the gate's; the defaults when unset */
  limits?: ListenerSettings
  routes: () => RouteTable
  logger: Logger
}

/** Start the egress listener when the table lists targets; undefined otherwise. Throws ConfigError. */
export async function startEgress (options: EgressStartOptions): Promise<EgressListener | undefined> {
  const table = options.routes()
  if (table.egress.length === 0) return undefined
  const endpoint = options.settings.tokenEndpoint
  if (endpoint === undefined) {
    throw new ConfigError('portvakt cannot start; fix these environment variables', [
      `NAIS_TOKEN_ENDPOINT: not set, but ${table.source} lists egress targets; NAIS sets it when spec.maskinporten.enabled is true (locally: portvakt dev's token endpoint)`
    ])
  }
  // One client for the calls and the token fetches, so both take the same webproxy.
  const outbound = createOutboundHttp(options.proxy, EGRESS_CLIENT_OPTIONS)
  const tokens = new TokenClient({ endpoint, fetch: outbound.fetch, timeoutMs: options.settings.timeoutMs, refreshIntervalMs: options.settings.refreshIntervalMs })
  const server = await buildEgressServer({
    targets: () => options.routes().egressByName,
    tokens,
    dispatcher: outbound.dispatcher,
    timeoutMs: options.settings.timeoutMs,
    logger: options.logger,
    limits: options.limits
  })
  const where = { portVariable: 'PORTVAKT_EGRESS_PORT', hostVariable: undefined, host: EGRESS_HOST, port: options.settings.port }
  try {
    await listenOrExplain(where, async () => await server.app.listen({ host: EGRESS_HOST, port: options.settings.port }))
  } catch (err) {
    // A reload retries with a new server and client; this pair must not stay behind.
    await server.app.close()
    await outbound.close()
    throw err
  }
  const address = server.app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : options.settings.port
  const { proxy } = options
  options.logger.info({ port, host: EGRESS_HOST, tokenEndpoint: endpoint, proxy: describeProxyUrl(proxy.httpsProxy !== '' ? proxy.httpsProxy : proxy.httpProxy), noProxy: proxy.noProxy || undefined, egress: describeEgress(table) }, 'egress listening')
  return {
    port,
    stats: server.stats,
    close: async (timeoutMs?: number) => {
      const drained = timeoutMs === undefined ? await server.app.close().then(() => true) : await closeWithin(server.app, timeoutMs)
      // Calls cut at the deadline may still have a target answering: drop those connections too.
      if (drained) await outbound.close()
      else await outbound.destroy()
    }
  }
}
