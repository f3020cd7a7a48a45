/**
 * The app reachable around the gate: an app on 127.0.0.1 behind portvakt is safe only while it
 * listens on loopback alone. Bound to 0.0.0.0, `::` or the pod IP on the upstream's port, anything
 * that reaches the pod calls it directly, forged identity headers and all. The pod's containers
 * share one network namespace, so its listening sockets (listening-sockets.ts) show the app's too,
 * in launcher and serve mode alike. Checked at start and on every readiness probe; logged once
 * per change of state, not per probe. Other ports beyond loopback that are not portvakt's own or
 * the platform's (a second connector, Spring Boot's `management.server.port` without its address)
 * serve the app around portvakt too, but they could as well be another container's on purpose: a
 * warning line names them, and readiness is not refused for them.
 */
import { endianness } from 'node:os'
import { describeFileError } from '../config/file-error.js'
// pino's type, not observe/log.ts's re-export: the logger is handed in.
import type { Logger } from 'pino'
import { isLoopbackUrl } from '../config/loopback.js'
import { describeAddress, isLoopbackAddress, parseListeningSockets } from './listening-sockets.js'

/** Reads `/proc/net/tcp` or `/proc/net/tcp6` (main.ts gives the real one; tests may give text). */
export type ReadSocketTable = (table: 'tcp' | 'tcp6') => Promise<string>

/** What the check is built from. */
export interface ExposureOptions {
  /** PORTVAKT_UPSTREAM */
  upstream: string
  /** PORTVAKT_ALLOW_EXPOSED_UPSTREAM: the team's NetworkPolicy keeps the port closed */
  allowExposed: boolean
  read: ReadSocketTable
  logger: Logger
  /** portvakt's own listening ports (gate, admin): never warned about */
  ownPorts?: readonly number[]
}

// NAIS's own sidecars' ports (Texas, Wonderwall), which the platform reserves in every pod.
const PLATFORM_PORTS = [7164, 7165, 7564, 7565, 7566]

const HOW_TO_BIND = 'bind it to 127.0.0.1 (Ktor: host = "127.0.0.1"; Spring Boot: server.address=127.0.0.1; ' +
  'others: listen on 127.0.0.1 at the port in PORT), or set PORTVAKT_ALLOW_EXPOSED_UPSTREAM=true if a NetworkPolicy keeps the port closed'

/** What listens beyond loopback: the upstream's addresses on `port`, and other ports' as `address:port`. */
interface Exposure { upstream: string[], others: string[] }

/** The listeners beyond loopback, from both tables; tcp6 may be missing (IPv6 off). */
async function exposedAddresses (read: ReadSocketTable, port: number, skip: readonly number[]): Promise<Exposure> {
  const tcp = await read('tcp')
  const tcp6 = await read('tcp6').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return ''
    throw err
  })
  const littleEndian = endianness() === 'LE'
  const beyond = [...parseListeningSockets(tcp, littleEndian), ...parseListeningSockets(tcp6, littleEndian)].filter((s) => !isLoopbackAddress(s.address))
  const others = beyond.filter((s) => s.port !== port && !skip.includes(s.port)).map((s) => describeAddress(s.address, s.port))
  return { upstream: [...new Set(beyond.filter((s) => s.port === port).map((s) => s.address))].sort(), others: [...new Set(others)].sort() }
}

/** Warns when the other ports beyond loopback change to a set that is not empty; nothing while they stay the same. */
function othersWarner (logger: Logger): (others: string[]) => void {
  let known = ''
  return (others) => {
    const now = others.join(' ')
    if (now === known) return
    known = now
    if (others.length > 0) logger.warn({ listeners: others }, `other ports listen beyond loopback in this pod: ${others.join(', ')}; if one is the app's (a second connector, Spring Boot's management.server.port without management.server.address), anything that reaches the pod calls it around portvakt: bind it to 127.0.0.1 or close it with a NetworkPolicy`)
  }
}

/** The upstream's port, from its URL. */
function portOf (upstream: string): number {
  const url = new URL(upstream)
  return Number(url.port === '' ? (url.protocol === 'https:' ? '443' : '80') : url.port)
}

/** Logs a change of the exposed addresses (an error line, or an info line once back on loopback); nothing while they stay the same. */
function changeLogger (logger: Logger, port: number): (addresses: string[]) => void {
  let known = ''
  return (addresses) => {
    const now = addresses.join(' ')
    if (now === known) return
    known = now
    if (addresses.length === 0) {
      logger.info({ port }, `the app listens on loopback only on port ${port} now; /isready no longer refuses for it`)
    } else {
      const where = addresses.map((a) => describeAddress(a, port)).join(', ')
      logger.error({ port, addresses }, `the app listens on ${where}, not only on loopback: anything that reaches the pod on port ${port} skips portvakt; ${HOW_TO_BIND}. /isready answers 503 until then`)
    }
  }
}

/**
 * Start the check, or skip it (undefined) when it can't mean anything: the upstream is not on
 * loopback (the app is elsewhere), the setting allows exposure (a warning says so), or the socket
 * tables can't be read (not Linux; a warning says so). The returned check answers a readiness
 * reason, or undefined while the app listens on loopback only.
 */
export async function startExposureCheck (options: ExposureOptions): Promise<(() => Promise<string | undefined>) | undefined> {
  const { logger, read } = options
  if (!isLoopbackUrl(options.upstream)) return undefined
  const port = portOf(options.upstream)
  if (options.allowExposed) {
    logger.warn({ port }, `PORTVAKT_ALLOW_EXPOSED_UPSTREAM=true: /isready does not check whether the app listens beyond loopback on port ${port}; only a NetworkPolicy keeps callers from reaching it around portvakt`)
    return undefined
  }
  const skip = [...(options.ownPorts ?? []), ...PLATFORM_PORTS]
  let exposure: Exposure
  try {
    exposure = await exposedAddresses(read, port, skip)
  } catch (err) {
    logger.warn({ err: describeFileError(err) }, `the listening sockets can't be read (/proc/net/tcp): /isready can't tell whether the app listens beyond loopback on port ${port}, so it does not check`)
    return undefined
  }
  let unreadable = false
  const report = changeLogger(logger, port)
  const warnOthers = othersWarner(logger)
  if (exposure.upstream.length > 0) report(exposure.upstream)
  warnOthers(exposure.others)
  return async () => {
    try {
      exposure = await exposedAddresses(read, port, skip)
      unreadable = false
    } catch (err) {
      // A read failing now (once it worked) says nothing about the app: keep what was last seen.
      if (!unreadable) logger.warn({ err: describeFileError(err) }, 'the listening sockets could not be read; readiness keeps the last state seen')
      unreadable = true
    }
    report(exposure.upstream)
    warnOthers(exposure.others)
    const exposed = exposure.upstream
    return exposed.length === 0 ? undefined : `the app listens on ${exposed.map((a) => describeAddress(a, port)).join(', ')}, beyond loopback; bind it to 127.0.0.1 (the error log says how)`
  }
}
