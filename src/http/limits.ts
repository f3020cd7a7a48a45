/**
 * The listeners' limits (the gate's and the egress side's, through server-base.ts), each set on
 * purpose (README "Limits" says the same in prose). None of
 * them bounds the whole life of a request, so a slow but healthy streamed upload or download is
 * never cut: the only clocks run while headers are arriving or while a socket is silent.
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
  idleSocketTimeoutMs: 0
})

/** The limits for an upstream (or egress) timeout: a silent socket outlives that timeout. */
export function deriveLimits (upstreamTimeoutMs: number, overrides: Partial<ServerLimits> = {}): ServerLimits {
  // The upstream timeout answers 504 after that long without a byte from the upstream; the client
  // socket must stay open at least that long (plus slack) for the 504 to reach the client.
  return { ...DEFAULT_LIMITS, idleSocketTimeoutMs: Math.max(upstreamTimeoutMs + 10_000, 60_000), ...overrides }
}
