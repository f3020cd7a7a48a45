/**
 * Outbound HTTP for the JWKS and the issuer metadata. Node's global fetch ignores HTTPS_PROXY,
 * HTTP_PROXY and NO_PROXY, which NAIS injects on-premises (`webproxy: true`), so we use undici's
 * EnvHttpProxyAgent as the dispatcher. The proxy values are passed in (read by main.ts via
 * settings), never taken from the process here; empty strings stop undici looking at process.env.
 */
import { EnvHttpProxyAgent, fetch as undiciFetch } from 'undici'
import type { OutboundProxy } from '../config/env.js'

/** A fetch for outbound calls and the way to release its connections. */
export interface OutboundHttp {
  fetch: typeof fetch
  close: () => Promise<void>
}

/** Build the outbound fetch: through the configured proxy, with a connect timeout of `timeoutMs`. */
export function createOutboundHttp (proxy: OutboundProxy, timeoutMs: number): OutboundHttp {
  const dispatcher = new EnvHttpProxyAgent({
    httpProxy: proxy.httpProxy,
    httpsProxy: proxy.httpsProxy,
    noProxy: proxy.noProxy,
    connect: { timeout: timeoutMs },
    // Plain http targets go to the proxy as absolute-form requests, as curl sends them; https
    // targets are always tunnelled with CONNECT.
    proxyTunnel: false,
    // A JWKS fetch every few minutes needs no pool; keep one idle socket briefly, then let go.
    connections: 2,
    keepAliveTimeout: 4_000
  })
  const outbound = (async (input: string | URL, init?: RequestInit) => {
    return await undiciFetch(input, { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher })
  }) as unknown as typeof fetch
  return { fetch: outbound, close: async () => { await dispatcher.close() } }
}
