/**
 * Launcher mode (`portvakt serve -- <app command…>`): portvakt starts the app as its child
 * and fronts it, so one image holds both (a NAIS Application has no field for extra containers).
 *
 * - The child gets `PORT` (the upstream's port) and the rest of the environment; stdio is inherited,
 *   so its stdout/stderr reach the pod's log untouched.
 * - It runs in its own process group (`detached`), so stopping it reaches everything it started, and
 *   whatever the group still holds after the child is gone is killed: no orphan outlives portvakt.
 * - The child is reaped by Node itself (libuv waits on it), so it never lingers as a zombie.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { constants } from 'node:os'
import { RESERVED_PORTS } from '../config/env.js'
import { isLoopbackUrl } from '../config/loopback.js'
import { ConfigError } from '../config/errors.js'

/** How the app ended: its exit code, or the signal that killed it, as one shell-style status. */
export interface AppExit {
  code: number | null
  signal: NodeJS.Signals | null
  /** what portvakt exits with: the code, 128 + signal number, or 127/126 when it could not start */
  status: number
  /** set when the command could not be started at all */
  error: string | undefined
}

/** What the launcher needs; everything is passed in (main.ts reads the process). */
export interface LauncherOptions {
  /** the app command: file and arguments, run without a shell */
  command: readonly string[]
  /** the app's environment; `PORT` is set on top of it */
  env: Record<string, string | undefined>
  /** where the app listens: given to it as PORT, and probed for readiness */
  host: string
  port: number
  /** how long the app gets between SIGTERM and SIGKILL */
  stopTimeoutMs: number
  /** how long one readiness probe waits for a connection */
  probeTimeoutMs?: number
}

/** Where the app must listen in launcher mode: the loopback host and port of PORTVAKT_UPSTREAM. */
export function appAddress (upstream: string): { host: string, port: number } {
  if (!isLoopbackUrl(upstream)) {
    throw new ConfigError('portvakt cannot launch the app', [
      `PORTVAKT_UPSTREAM is ${upstream}; in launcher mode the app runs in this container, so point it at loopback, e.g. http://127.0.0.1:8081`
    ])
  }
  const url = new URL(upstream)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const port = Number(url.port === '' ? '80' : url.port)
  if (RESERVED_PORTS.includes(port)) {
    throw new ConfigError('portvakt cannot launch the app', [`PORTVAKT_UPSTREAM uses port ${port}, which the NAIS platform reserves (7164/7165, 7564-7566); pick another, e.g. 8081`])
  }
  return { host: host === 'localhost' ? '127.0.0.1' : host, port }
}

/** Why a command could not be started, by errno `code` (never Node's message, STYLE §8). */
function describeSpawnError (file: string, code: string | undefined): string {
  if (code === 'ENOENT') return `${file}: no such command (no such file, and not found on PATH); check the command after --`
  if (code === 'EACCES') return `${file}: not executable (a folder, or a file without execute permission: chmod +x it)`
  return `${file} cannot be started (${code ?? 'unknown error'})`
}

function toExitStatus (code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code
  const number = signal === null ? undefined : constants.signals[signal]
  return 128 + (number ?? 0)
}

/** Try one TCP connection; true when something accepts it within `timeoutMs`. */
export async function canConnect (host: string, port: number, timeoutMs: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok) }
    socket.setTimeout(timeoutMs, () => { done(false) })
    socket.once('connect', () => { done(true) })
    socket.once('error', () => { done(false) })
  })
}

/** A running app under portvakt. */
export class Launcher {
  /** resolves once when the app has exited (or could not start) */
  readonly exited: Promise<AppExit>
  private readonly child: ChildProcess
  private result: AppExit | undefined
  private stopping: Promise<AppExit> | undefined

  private constructor (private readonly options: LauncherOptions) {
    const [file, ...args] = options.command
    if (file === undefined) throw new ConfigError('portvakt cannot launch the app', ['name the app command after --, e.g. portvakt serve -- java -jar /app/app.jar'])
    this.child = spawn(file, args, {
      env: { ...options.env, PORT: String(options.port) },
      stdio: 'inherit',
      detached: true
    })
    this.exited = new Promise((resolve) => {
      // 'error' with no pid means the command never ran: 127 when not found, else 126, as a shell says.
      this.child.once('error', (err: NodeJS.ErrnoException) => {
        if (this.child.pid !== undefined) return
        this.finish({ code: null, signal: null, status: err.code === 'ENOENT' ? 127 : 126, error: describeSpawnError(file, err.code) }, resolve)
      })
      this.child.once('exit', (code, signal) => {
        this.finish({ code, signal, status: toExitStatus(code, signal), error: undefined }, resolve)
      })
    })
  }

  /** Start the app; it runs until it exits or `stop()` ends it. */
  static start (options: LauncherOptions): Launcher {
    return new Launcher(options)
  }

  /** The app's process id (undefined if it could not start). */
  get pid (): number | undefined {
    return this.child.pid
  }

  /** How the app ended, once it has. */
  get exit (): AppExit | undefined {
    return this.result
  }

  private finish (result: AppExit, resolve: (exit: AppExit) => void): void {
    if (this.result !== undefined) return
    this.result = result
    // Anything the app left running in its group would be an orphan once portvakt exits: end it.
    this.signalGroup('SIGKILL')
    resolve(result)
  }

  private signalGroup (signal: NodeJS.Signals): void {
    const pid = this.child.pid
    if (pid === undefined) return
    try {
      process.kill(-pid, signal)
    } catch {
      // ESRCH: the group is already empty.
    }
  }

  /** For the readiness probe: the app is running and accepts connections on its port. */
  async upstreamReady (): Promise<boolean> {
    if (this.result !== undefined || this.stopping !== undefined) return false
    return await canConnect(this.options.host, this.options.port, this.options.probeTimeoutMs ?? 1000)
  }

  /** Resolve once the app accepts connections (true), or once it has exited (false). */
  async waitUntilReady (intervalMs = 200): Promise<boolean> {
    for (;;) {
      if (await this.upstreamReady()) return true
      if (this.result !== undefined || this.stopping !== undefined) return false
      const exited = await Promise.race([
        this.exited.then(() => true),
        new Promise<false>((resolve) => { setTimeout(resolve, intervalMs, false).unref() })
      ])
      if (exited) return false
    }
  }

  /** SIGTERM to the app's group, SIGKILL after the timeout; resolves with how the app ended. */
  async stop (): Promise<AppExit> {
    if (this.result !== undefined) return this.result
    this.stopping ??= (async () => {
      this.signalGroup('SIGTERM')
      const timer = setTimeout(() => { this.signalGroup('SIGKILL') }, this.options.stopTimeoutMs)
      const result = await this.exited
      clearTimeout(timer)
      return result
    })()
    return await this.stopping
  }
}
