/**
 * The upstream pool's connections, counted out before a request is dispatched. undici's pool would
 * queue a request with no deadline while every connection is busy, so a request waits here instead,
 * at most `queueTimeoutMs` (then 503, never a hang), as Envoy's circuit breakers bound pending
 * requests (https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/circuit_breaking).
 * And a request whose body streams (a large upload, sent at the client's pace) may hold only
 * `streams` of them, so bodiless and buffered requests always find a connection however many slow
 * uploads are running.
 */

/** How the pool's connections are shared out. */
export interface SlotLimits {
  /** the pool's size */
  connections: number
  /** at most this many at once for requests whose body streams; below `connections` */
  streams: number
  /** how long a request waits for a connection before it is answered 503 */
  queueTimeoutMs: number
}

/**
 * The defaults (PORTVAKT_UPSTREAM_CONNECTIONS, _STREAMS, _QUEUE_TIMEOUT). 128 connections to one
 * local app are more than a Node or JVM app serves at once; half of them for streamed uploads
 * leaves the other half to every other request; 5 s of waiting is far beyond a healthy app's
 * turnover and well inside a client's own timeout and the ingress's 60 s.
 */
export const DEFAULT_POOL: Readonly<SlotLimits> = Object.freeze({ connections: 128, streams: 64, queueTimeoutMs: 5_000 })

interface Waiter {
  streamed: boolean
  granted: () => void
  timer: NodeJS.Timeout
}

/** The connections in use and the requests waiting for one, first come first served within what fits. */
export class UpstreamSlots {
  private inUse = 0
  private streamsInUse = 0
  // Only ever holds requests that did not fit when they came or since: each release serves them
  // first, so a newcomer that fits never jumps a waiter that would.
  private readonly waiting: Waiter[] = []

  constructor (private readonly limits: SlotLimits) {}

  /** Take a connection at once if one is free for this kind of request; false: `wait` for one. */
  tryTake (streamed: boolean): boolean {
    if (!this.fits(streamed)) return false
    this.hold(streamed)
    return true
  }

  /**
   * Wait for a connection: `granted` runs when one comes free for this request, or `timedOut` after
   * the queue timeout. Returns a function that gives up the wait (the client went away); it does
   * nothing once either has run.
   */
  wait (streamed: boolean, granted: () => void, timedOut: () => void): () => void {
    const waiter: Waiter = {
      streamed,
      granted,
      timer: setTimeout(() => { if (this.remove(waiter)) timedOut() }, this.limits.queueTimeoutMs)
    }
    this.waiting.push(waiter)
    return () => { if (this.remove(waiter)) clearTimeout(waiter.timer) }
  }

  /** Give back a connection taken with `take`; the first waiting request that fits gets it. */
  give (streamed: boolean): void {
    this.inUse--
    if (streamed) this.streamsInUse--
    for (let i = 0; i < this.waiting.length && this.inUse < this.limits.connections;) {
      const waiter = this.waiting[i] as Waiter
      if (!this.fits(waiter.streamed)) {
        i++
        continue
      }
      this.waiting.splice(i, 1)
      clearTimeout(waiter.timer)
      this.hold(waiter.streamed)
      waiter.granted()
    }
  }

  /** Connections in use and requests waiting, for tests and diagnostics. */
  stats (): { inUse: number, streamsInUse: number, waiting: number } {
    return { inUse: this.inUse, streamsInUse: this.streamsInUse, waiting: this.waiting.length }
  }

  private fits (streamed: boolean): boolean {
    return this.inUse < this.limits.connections && (!streamed || this.streamsInUse < this.limits.streams)
  }

  private hold (streamed: boolean): void {
    this.inUse++
    if (streamed) this.streamsInUse++
  }

  private remove (waiter: Waiter): boolean {
    const i = this.waiting.indexOf(waiter)
    if (i === -1) return false
    this.waiting.splice(i, 1)
    return true
  }
}
