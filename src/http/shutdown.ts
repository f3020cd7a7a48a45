/**
 * Graceful shutdown, in the order Kubernetes needs it: readiness goes 503 at once, the listener
 * keeps serving for `delayMs` while the endpoints controller and kube-proxy drop the pod, then it
 * stops accepting and lets in-flight requests finish for up to `timeoutMs` before cutting them.
 */
import type { FastifyInstance } from 'fastify'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'

/** How long to keep serving after the signal, and how long to wait for in-flight requests. */
export interface ShutdownTimes {
  delayMs: number
  timeoutMs: number
}

/** Close `app` and wait for in-flight requests, up to `timeoutMs`; true when they all finished. */
export async function closeWithin (app: FastifyInstance, timeoutMs: number): Promise<boolean> {
  const closed = app.close().then(() => true)
  // close() ends the connections idle at that moment; a keep-alive connection whose response finishes
  // later would otherwise hold the drain open for the whole keep-alive timeout, so sweep until closed.
  const sweep = setInterval(() => { app.server.closeIdleConnections() }, 100)
  const timer = new AbortController()
  const late = sleep(timeoutMs, false, { signal: timer.signal }).catch(() => false)
  const drained = await Promise.race([closed, late])
  clearInterval(sweep)
  timer.abort()
  if (!drained) app.server.closeAllConnections()
  return drained
}

/** What turns readiness off for good (admin/readiness.ts, Readiness). */
export interface ReadinessSwitch {
  startDraining: () => void
}

/** Drain the main listener: not ready, keep serving `delayMs`, then close within `timeoutMs`. */
export async function drainListener (app: FastifyInstance, readiness: ReadinessSwitch, times: ShutdownTimes, logger: Logger): Promise<void> {
  readiness.startDraining()
  logger.info({ delayMs: times.delayMs, timeoutMs: times.timeoutMs }, 'shutdown: not ready; still serving while the pod is removed from the endpoints')
  // Unref'd: the listener keeps a real process alive; a test that never finishes shutting down is not held up.
  await sleep(times.delayMs, undefined, { ref: false })
  logger.info('shutdown: no longer accepting connections; waiting for requests in flight')
  const drained = await closeWithin(app, times.timeoutMs)
  if (drained) logger.info('shutdown: all requests finished')
  else logger.warn({ timeoutMs: times.timeoutMs }, 'shutdown: requests still in flight after PORTVAKT_SHUTDOWN_TIMEOUT were cut')
}
