/**
 * The one proxy-aware outbound HTTP client, for the issuer's metadata and JWKS and for the egress
 * side (its calls and its token fetches). Node's global fetch ignores HTTPS_PROXY, HTTP_PROXY and
 * NO_PROXY, which NAIS injects on-premises (`webproxy: true`), so calls go through undici's
 * EnvHttpProxyAgent when a proxy is set. The proxy values are passed in (main.ts reads them into
 * settings), never taken from the process here: empty strings stop undici looking at process.env.
 */
import { Agent, EnvHttpProxyAgent, fetch as undiciFetch, type Dispatcher } from 'undici'
import type { OutboundProxy } from '../config/env.js'

/** How a client's connections are kept. */
export interface OutboundClientOptions {
  /** connections per origin */
  connections: number
  connectTimeoutMs?: number
  /** how long an idle connection is kept (undici's default when unset) */
  keepAliveTimeoutMs?: number
  /**
   * Plain-http targets through a proxy: a CONNECT tunnel (true, as for https), or absolute-form
   * requests to the proxy, as curl sends them (false). https targets are always tunnelled.
   */
  tunnelPlainHttp: boolean
}

/** A dispatcher for outbound calls, a fetch that uses it, and the ways to release its connections. */
export interface OutboundHttp {
  dispatcher: Dispatcher
  fetch: typeof fetch
  /** let calls in flight finish, then close */
  close: () => Promise<void>
  /** cut every connection now */
  destroy: () => Promise<void>
}

/** For the issuer: a JWKS fetch every few minutes needs no pool; one idle socket is kept briefly. */
export function issuerClientOptions (connectTimeoutMs: number): OutboundClientOptions {
  return { connections: 2, connectTimeoutMs, keepAliveTimeoutMs: 4_000, tunnelPlainHttp: false }
}

/** For egress calls and their token fetches: a pool for the app's traffic. */
export const EGRESS_CLIENT_OPTIONS: Readonly<OutboundClientOptions> = Object.freeze({ connections: 128, tunnelPlainHttp: true })

function createDispatcher (proxy: OutboundProxy, options: OutboundClientOptions): Dispatcher {
  const agent = {
    connections: options.connections,
    ...(options.connectTimeoutMs === undefined ? {} : { connect: { timeout: options.connectTimeoutMs } }),
    ...(options.keepAliveTimeoutMs === undefined ? {} : { keepAliveTimeout: options.keepAliveTimeoutMs })
  }
  if (proxy.httpProxy === '' && proxy.httpsProxy === '') return new Agent(agent)
  // Every value is passed explicitly: undici would otherwise read process.env itself (STYLE §1).
  return new EnvHttpProxyAgent({ ...agent, httpProxy: proxy.httpProxy, httpsProxy: proxy.httpsProxy, noProxy: proxy.noProxy, proxyTunnel: options.tunnelPlainHttp })
}

/** Build an outbound client: through the proxy when one is set, NO_PROXY honoured. */
export function createOutboundHttp (proxy: OutboundProxy, options: OutboundClientOptions): OutboundHttp {
  const dispatcher = createDispatcher(proxy, options)
  // undici's own fetch, so every call takes this dispatcher (and proxy).
  const outbound = (async (input: string | URL, init?: RequestInit) => {
    return await undiciFetch(input, { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher })
  }) as unknown as typeof fetch
  return { dispatcher, fetch: outbound, close: async () => { await dispatcher.close() }, destroy: async () => { await dispatcher.destroy() } }
}
