/**
 * The floor rate of a request body, after Kestrel's MinRequestBodyDataRate
 * (https://learn.microsoft.com/aspnet/core/fundamentals/servers/kestrel/options#minimum-request-body-data-rate):
 * in every window of `bodyRateWindowMs` the client must send at least `bodyMinBytesPerSecond` times
 * the window (or the rest of a declared body, if less). Per window rather than averaged over the
 * body, so a client cannot send a burst up front and then trickle on that credit. A window in which
 * we held the client back (the upstream not reading, a wait for a connection) is not counted
 * against it.
 */
import type { IncomingMessage } from 'node:http'

/** The floor rate: 0 bytes a second turns it off. */
export interface PaceRules {
  bodyMinBytesPerSecond: number
  bodyRateWindowMs: number
}

/** A running watch on one body. */
export interface Pace {
  /** `n` body bytes arrived */
  count: (n: number) => void
  /** we are holding the client back; this window does not count */
  hold: () => void
  stop: () => void
}

const OFF: Pace = Object.freeze({ count: () => {}, hold: () => {}, stop: () => {} })

/** Watch `req`'s body; `onSlow` is called once, at the end of the first window that falls short. */
export function watchPace (req: IncomingMessage, rules: PaceRules, onSlow: () => void): Pace {
  if (rules.bodyMinBytesPerSecond <= 0) return OFF
  const floor = rules.bodyMinBytesPerSecond * rules.bodyRateWindowMs / 1000
  const declared = req.headers['transfer-encoding'] === undefined ? Number(req.headers['content-length']) : Number.NaN
  let total = 0
  let inWindow = 0
  let held = false
  const timer = setInterval(() => {
    if (held || req.isPaused()) {
      held = false
      inWindow = 0
      return
    }
    const due = Number.isNaN(declared) ? floor : Math.min(floor, declared - total)
    if (inWindow < due) {
      clearInterval(timer)
      onSlow()
      return
    }
    inWindow = 0
  }, rules.bodyRateWindowMs)
  // Never what keeps the process alive.
  timer.unref()
  return {
    count: (n) => { total += n; inWindow += n },
    hold: () => { held = true },
    stop: () => { clearInterval(timer) }
  }
}
