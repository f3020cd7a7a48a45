/** The connection cap of a listener (server-base.ts puts it on every one). */
import type { Server } from 'node:http'
import type { Duplex } from 'node:stream'
// pino's type, not observe/log.ts's re-export: the logger is handed in.
import type { Logger } from 'pino'

/**
 * The connection cap: Node closes a connection over `server.maxConnections` as soon as it is
 * accepted, unanswered (https://nodejs.org/api/net.html#servermaxconnections), as Kestrel's
 * MaxConcurrentConnections does: answering would mean reading and writing on the sockets the cap
 * is there to spare, and the ingress in front retries a connection error on another pod, where a
 * 503 it would pass on. So that sockets that only sit there (idle keep-alive, or never a request:
 * cheap for anyone who can reach the port) cannot fill it, the connection that takes the last
 * place first closes every idle one (`closeIdleConnections`), as nginx reuses idle keep-alive
 * connections when out of worker_connections; the cap then closes new connections only while all
 * are busy with a request, each of which the headers timeout and the body rate floor bound. One
 * warning line per 10 s at most says how often the cap was reached and how many were closed.
 */
export function capConnections (server: Server, max: number, log: Logger): void {
  if (max <= 0) return
  server.maxConnections = max
  let open = 0
  let reached = 0
  let dropped = 0
  let lastLine = Number.NEGATIVE_INFINITY
  const report = (): void => {
    if (performance.now() - lastLine < 10_000) return
    log.warn({ dropped, reached, maxConnections: max }, 'connection cap reached: idle connections are closed, new connections are closed unanswered while every connection is busy; raise PORTVAKT_MAX_CONNECTIONS if this is real traffic')
    dropped = 0
    reached = 0
    lastLine = performance.now()
  }
  // Before Node's own listener: the new socket is not in Node's list yet, so it is not closed as idle.
  server.prependListener('connection', (socket: Duplex) => {
    open++
    socket.once('close', () => { open-- })
    if (open < max) return
    // Sockets closed here leave `open` only when their close event comes, a tick later.
    server.closeIdleConnections()
    reached++
    report()
  })
  // Over the cap with idle ones left (they went idle after the last place was taken): close them, so the next one gets in.
  server.on('drop', () => {
    dropped++
    server.closeIdleConnections()
    report()
  })
}
