/**
 * Readiness: ready only with a route table in force, usable signing keys and (when configured) an
 * upstream that answers its own readiness path with 2xx, so one NAIS readiness probe covers both
 * containers of the pod. Not ready from the moment shutdown starts, so the endpoints drop the pod
 * before the listener stops accepting.
 */
import type { KeyStatus } from '../auth/keys.js'
import { formatDuration } from '../config/duration.js'
import { describeFetchFailure } from '../config/fetch-failure.js'

/** What readiness looks at. */
export interface ReadinessOptions {
  keys: () => KeyStatus
  /** true while a route table is in force */
  routesLoaded: () => boolean
  /** the upstream's readiness URL; undefined to skip that check */
  upstreamReadyUrl: string | undefined
  upstreamTimeoutMs: number
}

/** The answer /isready gives, as JSON. */
export interface ReadinessReport {
  ready: boolean
  /** why not ready; empty when ready */
  reasons: string[]
}

/** Tracks readiness; `startDraining()` makes it answer not-ready for good. */
export class Readiness {
  private draining = false
  private readonly extraChecks: Array<() => Promise<string | undefined>> = []

  constructor (private readonly opts: ReadinessOptions) {}

  /** Add a condition (e.g. launcher mode's "the app accepts connections"): it answers a reason, or undefined when fine. */
  addCheck (check: () => Promise<string | undefined>): void {
    this.extraChecks.push(check)
  }

  /** Shutdown has begun: answer not-ready from now on. */
  startDraining (): void {
    this.draining = true
  }

  /** Whether shutdown has begun. */
  get isDraining (): boolean {
    return this.draining
  }

  /** Check every condition and say which ones fail. */
  async check (): Promise<ReadinessReport> {
    const reasons: string[] = []
    if (this.draining) reasons.push('shutting down')
    if (!this.opts.routesLoaded()) reasons.push('no route table loaded')
    const keys = this.opts.keys()
    if (!keys.ready) {
      const why = keys.ageMs === undefined ? 'the signing keys have not been fetched yet' : 'the signing keys are too old to use'
      reasons.push(keys.lastError === undefined ? why : `${why} (${keys.lastError})`)
    }
    for (const extra of reasons.length === 0 ? this.extraChecks : []) {
      const problem = await extra()
      if (problem !== undefined) reasons.push(problem)
    }
    if (reasons.length === 0 && this.opts.upstreamReadyUrl !== undefined) {
      const problem = await this.checkUpstream(this.opts.upstreamReadyUrl)
      if (problem !== undefined) reasons.push(problem)
    }
    return { ready: reasons.length === 0, reasons }
  }

  private async checkUpstream (url: string): Promise<string | undefined> {
    try {
      // Global fetch on purpose: the upstream is on localhost and must never go through HTTP(S)_PROXY.
      const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(this.opts.upstreamTimeoutMs) })
      await response.body?.cancel()
      if (response.status >= 200 && response.status < 300) return undefined
      return `the upstream's readiness path answered ${response.status}`
    } catch (err) {
      const why = (err as Error).name === 'TimeoutError' ? `no answer within ${formatDuration(this.opts.upstreamTimeoutMs)}` : describeFetchFailure(err, url).reason
      return `the upstream's readiness path (PORTVAKT_UPSTREAM_READY_PATH) could not be reached: ${why}`
    }
  }
}
