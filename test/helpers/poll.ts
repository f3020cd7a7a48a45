/**
 * The one way tests wait for something another process, socket or timer brings about: poll until
 * it holds. The limit is a deadline for a slow machine, never an assertion on speed; the caller
 * asserts on what comes back.
 */
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'

/** How long to keep polling, and how often (0: on every turn of the event loop). */
export interface PollOptions {
  limitMs?: number
  everyMs?: number
}

/** Read `read` until `holds` says yes or the limit passes; the last value read, either way. */
export async function pollUntil<T> (read: () => T | Promise<T>, holds: (value: T) => boolean, options: PollOptions = {}): Promise<T> {
  const { limitMs = 20_000, everyMs = 50 } = options
  const end = Date.now() + limitMs
  for (;;) {
    const value = await read()
    if (holds(value) || Date.now() > end) return value
    if (everyMs === 0) await nextTurn()
    else await sleep(everyMs)
  }
}

/** Poll `check` until it returns true or the limit passes; whether it did. */
export async function eventually (check: () => Promise<boolean> | boolean, limitMs?: number, everyMs?: number): Promise<boolean> {
  return await pollUntil(check, (ok) => ok, { limitMs, everyMs })
}
