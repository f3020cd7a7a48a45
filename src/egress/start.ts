/**
 * Composition of the egress side: settings → dispatcher → token client → listener on 127.0.0.1.
 * Started only when the route table lists egress targets (holder.ts starts and stops it as reloads
 * change that); everything comes in as parameters.
 */
import type { Dispatcher } from 'undici'
import type { EgressSettings } from '../config/env.js'
import { ConfigError } from '../config/errors.js'
import { describeProxyUrl } from '../config/proxy-url.js'
import type { RouteTable } from '../config/routes.js'
import type { Logger } from '../observe/log.js'
import { listenOrExplain } from '../http/listen-error.js'
import { closeWithin } from '../http/shutdown.js'
import { buildEgressServer, type EgressServer, type EgressStats } from './server.js'
import { TokenClient } from './token-client.js'

/** Loopback only, never configurable: nothing outside the pod may borrow our tokens (issue 8). */
export const EGRESS_HOST = '127.0.0.1'

/** A running egress listener. */
export interface EgressListener {
  port: number
  stats: () => EgressStats
  /** stop; with `timeoutMs`, requests in flight get that long to finish before they are cut */
  close: (timeoutMs?: number) => Promise<void>
}

/** What the egress side is started with; `dispatcher` and `fetch` default to proxy-aware ones from the settings. */
export interface EgressStartOptions {
  settings: EgressSettings
  routes: () => RouteTable
  logger: Logger
  dispatcher?: Dispatcher
  fetch?: typeof fetch
}

// undici is loaded only when egress is configured: it adds about a second to every start on a busy node.
async function loadUndici (): Promise<typeof import('undici')> {
  return await import('undici')
}

/** The dispatcher for outbound calls: through the webproxy when one is set, NO_PROXY honoured. */
export async function createDispatcher (proxy: EgressSettings['proxy']): Promise<Dispatcher> {
  const { Agent, EnvHttpProxyAgent } = await loadUndici()
  if (proxy.http === '' && proxy.https === '') return new Agent({ connections: 128 })
  // Every value is passed explicitly: undici would otherwise read process.env itself (STYLE §1).
  return new EnvHttpProxyAgent({ httpProxy: proxy.http, httpsProxy: proxy.https, noProxy: proxy.no, connections: 128 })
}

/** What logs (and `check`) say about the egress targets: no secrets in them, so all of it. */
export function describeEgress (table: RouteTable): object[] {
  return table.egress.map((e) => ({ name: e.name, url: e.url, target: e.target, resource: e.resource }))
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
  const dispatcher = options.dispatcher ?? await createDispatcher(options.settings.proxy)
  const undiciFetch = (await loadUndici()).fetch
  // undici's own fetch, so token fetches take the same dispatcher (and webproxy) as the calls.
  const fetchImpl = options.fetch ?? (async (input, init) => await undiciFetch(input as string, { ...init, dispatcher } as Parameters<typeof undiciFetch>[1]) as unknown as Response)
  const tokens = new TokenClient({ endpoint, fetch: fetchImpl, timeoutMs: options.settings.timeoutMs, refreshIntervalMs: options.settings.refreshIntervalMs })
  const server: EgressServer = await buildEgressServer({
    targets: () => options.routes().egressByName,
    tokens,
    dispatcher,
    timeoutMs: options.settings.timeoutMs,
    logger: options.logger
  })
  const where = { portVariable: 'PORTVAKT_EGRESS_PORT', hostVariable: undefined, host: EGRESS_HOST, port: options.settings.port }
  try {
    await listenOrExplain(where, async () => await server.app.listen({ host: EGRESS_HOST, port: options.settings.port }))
  } catch (err) {
    // A reload retries with a new server and dispatcher; this pair must not stay behind.
    await server.app.close()
    if (options.dispatcher === undefined) await dispatcher.close()
    throw err
  }
  const address = server.app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : options.settings.port
  const proxy = options.settings.proxy
  options.logger.info({ port, host: EGRESS_HOST, tokenEndpoint: endpoint, proxy: describeProxyUrl(proxy.https !== '' ? proxy.https : proxy.http), noProxy: proxy.no || undefined, egress: describeEgress(table) }, 'egress listening')
  return {
    port,
    stats: server.stats,
    close: async (timeoutMs?: number) => {
      const drained = timeoutMs === undefined ? await server.app.close().then(() => true) : await closeWithin(server.app, timeoutMs)
      if (options.dispatcher !== undefined) return
      // Calls cut at the deadline may still have a target answering: drop those connections too.
      if (drained) await dispatcher.close()
      else await dispatcher.destroy()
    }
  }
}
