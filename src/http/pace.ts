/**
 * The floor rate of a request body, after Kestrel's MinRequestBodyDataRate
 * (https://learn.microsoft.com/aspnet/core/fundamentals/servers/kestrel/options#minimum-request-body-data-rate):
 * in every window of `bodyRateWindowMs` the client must send at least `bodyMinBytesPerSecond` times
 * the window (or the rest of a declared body, if less). Per window rather than averaged over the
 * body, so a client cannot send a burst up front and then trickle on that credit. A window in which
 * we held the client back (the upstream not reading, a wait for a connection) is not counted
 * against it. The first window starts over when the first byte comes late within it: a client
 * above the floor whose body begins a moment after its head (a write per second from t = 1 s) is not
 * cut for a window it spent mostly before its first byte; one that sends nothing for a window is.
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
  const begun = performance.now()
  const tick = (): void => {
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
  }
  const every = (): NodeJS.Timeout => {
    const t = setInterval(tick, rules.bodyRateWindowMs)
    // Never what keeps the process alive.
    t.unref()
    return t
  }
  let timer = every()
  // A tenth of a window late or more: bytes with the head (nearly every body) keep the first timer.
  const late = rules.bodyRateWindowMs / 10
  return {
    count: (n) => {
      if (total === 0 && n > 0 && performance.now() - begun > late) {
        clearInterval(timer)
        timer = every()
      }
      total += n
      inWindow += n
    },
    hold: () => { held = true },
    stop: () => { clearInterval(timer) }
  }
}
