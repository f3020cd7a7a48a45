/**
 * When the key store fetches on its own: at once, then every `maxAgeMs`; after a failed fetch it
 * retries sooner, the delay doubling from `retryBaseMs` up to `retryMaxMs`, until one succeeds.
 * The timers are unref'd, so a schedule never keeps the process alive.
 */

/** Why a fetch happened. */
export type FetchTrigger = 'start' | 'schedule' | 'unknown_kid' | 'bad_signature' | 'retry'

/** The next retry delay after a failure: `baseMs` first, then doubling, never above `maxMs`. */
export function nextRetryDelay (previousMs: number, baseMs = 1_000, maxMs = 30_000): number {
  return Math.min(Math.max(previousMs * 2, baseMs), maxMs)
}

/** The fetch a schedule runs, and its intervals. */
export interface RefreshScheduleOptions {
  refresh: (trigger: FetchTrigger) => Promise<void>
  /** the interval between fetches that succeed */
  maxAgeMs: number
  /** the first retry delay after a failed fetch; doubles per failure (the key store's default: 1 s) */
  retryBaseMs: number
  /** the longest retry delay (the key store's default: 30 s) */
  retryMaxMs: number
}

/** Runs the scheduled fetches from `start()` until `stop()`. */
export class RefreshSchedule {
  private timer: NodeJS.Timeout | undefined
  private backoffMs = 0
  private stopped = false

  constructor (private readonly options: RefreshScheduleOptions) {}

  /** Fetch at once, then on the schedule. */
  start (): void {
    this.next(0, 'start')
  }

  /** No timer after this; a fetch under way that ends sets none either. */
  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private next (delayMs: number, trigger: FetchTrigger): void {
    clearTimeout(this.timer)
    if (this.stopped) return
    const { refresh, maxAgeMs, retryBaseMs, retryMaxMs } = this.options
    this.timer = setTimeout(() => {
      refresh(trigger).then(() => {
        this.backoffMs = 0
        this.next(maxAgeMs, 'schedule')
      }, () => {
        this.backoffMs = nextRetryDelay(this.backoffMs, retryBaseMs, retryMaxMs)
        this.next(this.backoffMs, trigger === 'start' ? 'start' : 'retry')
      })
    }, delayMs)
    this.timer.unref()
  }
}
