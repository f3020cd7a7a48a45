/**
 * The listeners' limits (the gate's and the egress side's, through server-base.ts), each set on
 * purpose (docs/operations.md "Limits" has the table). None of them bounds the whole life of a
 * request, so a slow but healthy streamed upload or download is never cut: the clocks run while
 * headers are arriving, while a socket is silent, and while a body arrives slower than a floor rate.
 */

/** Timeouts and sizes for a listener. */
export interface ServerLimits {
  /** largest request head (request line + headers) in bytes; more is answered 431 */
  maxHeaderBytes: number
  /** time allowed for a client to send the complete request head (slowloris guard); 408 after */
  headersTimeoutMs: number
  /** how often Node checks the headers clock; bounds how late a 408 can come */
  checkIntervalMs: number
  /** a whole-request deadline; 0 = none, because it would cut long uploads */
  requestTimeoutMs: number
  /** an idle keep-alive connection is closed after this */
  keepAliveTimeoutMs: number
  /** a socket silent this long (no byte either way) is closed */
  idleSocketTimeoutMs: number
  /** a request body up to this size is read whole before anything goes further; a larger one streams once this much is in */
  bodyBufferBytes: number
  /** a body must bring at least this many bytes a second, over each rate window, or it is answered 408; 0 = no floor */
  bodyMinBytesPerSecond: number
  /** the window the rate floor is measured over (also its grace: nothing is refused sooner) */
  bodyRateWindowMs: number
  /** open client connections at most; a connection over it is closed unanswered; 0 = no cap */
  maxConnections: number
  /** after our last byte on a connection we close with a body still coming: how long we go on reading it, at most */
  lingerMs: number
}

/** The defaults; the idle socket timeout follows the upstream timeout (see `deriveLimits`). */
export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  // Node's own default: Maskinporten tokens are ~1 KB, so 16 KiB leaves room for any real client.
  maxHeaderBytes: 16 * 1024,
  // A machine client sends its headers in one go; 15 s forgives a congested link, not a slowloris.
  headersTimeoutMs: 15_000,
  checkIntervalMs: 1_000,
  requestTimeoutMs: 0,
  // Longer than the 60 s idle timeout of NAIS's ingress-nginx upstream keep-alive, so the proxy in
  // front always closes an idle connection before we do and never sends on a socket we just closed.
  keepAliveTimeoutMs: 75_000,
  idleSocketTimeoutMs: 0,
  // API bodies (JSON documents, forms) are a few KB; 64 KiB holds nearly all of them whole, so they
  // take an upstream connection only once complete (as nginx's request buffering does), while a
  // slow client holds at most this much memory. NAIS's ingress refuses bodies over 1 MiB by default.
  bodyBufferBytes: 64 * 1024,
  // Kestrel's MinRequestBodyDataRate: 240 B/s with a 5 s grace period
  // (https://learn.microsoft.com/dotnet/api/microsoft.aspnetcore.server.kestrel.core.kestrelserverlimits.minrequestbodydatarate).
  bodyMinBytesPerSecond: 240,
  bodyRateWindowMs: 5_000,
  // ~8 KB of memory and one descriptor each; far above what the ingress and in-cluster callers hold open.
  maxConnections: 1024,
  // nginx's lingering close (https://nginx.org/en/docs/http/ngx_http_core_module.html#lingering_close):
  // long enough for the client to read the answer before a reset can discard it, short enough that
  // a refused client holds nothing for long.
  lingerMs: 2_000
})

/** The limits for an upstream (or egress) timeout: a silent socket outlives that timeout. */
export function deriveLimits (upstreamTimeoutMs: number, overrides: Partial<ServerLimits> = {}): ServerLimits {
  // The upstream timeout answers 504 after that long without a byte from the upstream; the client
  // socket must stay open at least that long (plus slack) for the 504 to reach the client.
  return { ...DEFAULT_LIMITS, idleSocketTimeoutMs: Math.max(upstreamTimeoutMs + 10_000, 60_000), ...overrides }
}
