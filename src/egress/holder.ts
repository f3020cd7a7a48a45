/**
 * The egress listener follows the route table, which is reloaded with the rest: a reload
 * that adds the first egress targets starts it, one that removes the last stops it. Changes are
 * applied one at a time, each to the table in force when its turn comes.
 */
import { ConfigError } from '../config/errors.js'
import type { EgressStats } from './server.js'
import { startEgress, type EgressListener, type EgressStartOptions } from './start.js'

/** Counters of two listener lifetimes added up, so the metrics never count backwards after a restart. */
function addStats (a: EgressStats, b: EgressStats): EgressStats {
  const requests = structuredClone(a.requests)
  for (const [name, byStatus] of Object.entries(b.requests)) {
    const into = requests[name] ?? (requests[name] = {})
    for (const [status, n] of Object.entries(byStatus)) into[status] = (into[status] ?? 0) + n
  }
  return {
    requests,
    fetches: { ok: a.fetches.ok + b.fetches.ok, error: a.fetches.error + b.fetches.error },
    cacheHits: a.cacheHits + b.cacheHits,
    refreshesSkipped: a.refreshesSkipped + b.refreshesSkipped
  }
}

/** Holds the egress listener, if the table in force has targets. */
export class EgressHolder {
  private running: EgressListener | undefined
  /** a listener being closed, still counting the requests it finishes */
  private closing: EgressListener | undefined
  private queue: Promise<unknown> = Promise.resolve()
  private following = true
  /** counters of listeners stopped by a reload */
  private retired: EgressStats | undefined

  /**
   * `stopTimeoutMs` bounds how long a reload that removes the last target waits for calls in flight
   * (PORTVAKT_SHUTDOWN_TIMEOUT): a long streamed call must not hold the queue, and with it shutdown.
   */
  constructor (private readonly options: EgressStartOptions, private readonly stopTimeoutMs?: number) {}

  /** The listener running now; undefined while the table lists no egress targets. */
  get listener (): EgressListener | undefined {
    return this.running
  }

  /** Start for the table at start-up. Throws ConfigError (NAIS_TOKEN_ENDPOINT unset) or a listen error. */
  async start (): Promise<void> {
    await this.enqueue(async () => { this.running = await startEgress(this.options) })
  }

  /** After a reload: start or stop the listener to match the table. Problems are logged, never thrown: the gate serves on. */
  async follow (): Promise<void> {
    await this.enqueue(async () => {
      if (!this.following) return
      const wanted = this.options.routes().egress.length > 0
      if (wanted && this.running === undefined) await this.startForReload()
      if (!wanted && this.running !== undefined) await this.stopForReload()
    })
  }

  /**
   * Stop following reloads (shutdown has begun); the listener, if any, runs until close(). At once:
   * a change under way finishes in the queue, and close() waits for it, so shutdown is never held here.
   */
  stopFollowing (): void {
    this.following = false
  }

  /** Stop following and close the listener; with `timeoutMs`, requests in flight get that long. */
  async close (timeoutMs?: number): Promise<void> {
    this.stopFollowing()
    await this.enqueue(async () => {})
    await this.stopListener(timeoutMs)
  }

  /** The counters for the metrics endpoint, across restarts; undefined if no listener ever ran. */
  stats (): EgressStats | undefined {
    const parts = [this.retired, this.closing?.stats(), this.running?.stats()].filter((p) => p !== undefined)
    return parts.length === 0 ? undefined : parts.reduce(addStats)
  }

  private async enqueue (step: () => Promise<void>): Promise<void> {
    const done = this.queue.then(step)
    // A failed step must not stop the ones after it; its caller gets the error.
    this.queue = done.catch(() => {})
    await done
  }

  private async startForReload (): Promise<void> {
    try {
      this.running = await startEgress(this.options)
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [(err as Error).message]
      this.options.logger.error({ problems }, 'the route table lists egress targets, but the egress listener cannot start; the gate serves on without it')
    }
  }

  private async stopForReload (): Promise<void> {
    try {
      await this.stopListener(this.stopTimeoutMs)
      this.options.logger.info('egress stopped: the route table lists no egress targets')
    } catch (err) {
      this.options.logger.error({ err: (err as Error).message }, 'the egress listener did not stop cleanly')
    }
  }

  private async stopListener (timeoutMs?: number): Promise<void> {
    const listener = this.running
    if (listener === undefined) return
    this.running = undefined
    this.closing = listener
    try {
      await listener.close(timeoutMs)
    } finally {
      const last = listener.stats()
      this.retired = this.retired === undefined ? last : addStats(this.retired, last)
      this.closing = undefined
    }
  }
}
