/**
 * The one way tests run processes: the built `portvakt` (dist/cli.js, or the single executable),
 * curl and the shell, as real children the way Kubernetes and users run them: a real environment,
 * real signals, output read as it comes. `spawnProcess` for a child that keeps running, `runToEnd`
 * for one that is run to its end.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import { makeKey } from './keys.js'
import { close, startJwksServer } from './servers.js'
import { TEST_ISSUER, tokenFactory } from './tokens.js'

const execFileAsync = promisify(execFile)

/** The repository root (tap runs from it). */
export const ROOT = process.cwd()
/** The built CLI (npm test builds it first). */
export const CLI = join(ROOT, 'dist', 'cli.js')

/** A TCP port that was free a moment ago, for a child that must be told its port in advance. */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  return typeof address === 'object' && address !== null ? address.port : 0
}

/** How a child is started. */
export interface SpawnOptions {
  /** added to the child's environment */
  env?: Record<string, string>
  cwd?: string
  /**
   * Start from this process's environment (without PORTVAKT_*, MASKINPORTEN_* and NAIS_CLUSTER_NAME,
   * which would change what portvakt does) instead of PATH alone. tap's NODE_OPTIONS then reaches
   * the child, so its coverage counts; never for the single executable, which must run without Node.
   */
  inheritEnv?: boolean
}

/** The environment a child starts with (see SpawnOptions.inheritEnv). */
export function childEnv (options: SpawnOptions): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin' }
  if (options.inheritEnv === true) {
    for (const [name, value] of Object.entries(process.env)) {
      if (!name.startsWith('PORTVAKT_') && !name.startsWith('MASKINPORTEN_') && name !== 'NAIS_CLUSTER_NAME') base[name] = value
    }
  }
  return { ...base, ...options.env }
}

/** A running child under test. */
export interface CliRun {
  child: ChildProcess
  /** everything written so far */
  stdout: () => string
  stderr: () => string
  /** stdout read as JSON lines (portvakt's logs) */
  logs: () => Array<Record<string, unknown>>
  /** resolves with the first line of `stream` (stdout by default) that matches; rejects if the child ends first */
  waitFor: (pattern: RegExp | string, stream?: 'stdout' | 'stderr') => Promise<string>
  /** resolves with the exit status (128 + n when killed by signal n) */
  exited: Promise<number>
}

const SIGNALS: Readonly<Record<string, number>> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }

/** Start `command args`; killed at the end of `t` if still running. */
export function spawnProcess (t: Test, command: string, args: readonly string[], options: SpawnOptions = {}): CliRun {
  const child = spawn(command, args, { cwd: options.cwd, env: childEnv(options), stdio: ['ignore', 'pipe', 'pipe'] })
  const text = { stdout: '', stderr: '' }
  const waiters: Array<{ matches: (line: string) => boolean, stream: 'stdout' | 'stderr', resolve: (line: string) => void, reject: (e: Error) => void }> = []
  const check = (): void => {
    for (const w of [...waiters]) {
      const line = text[w.stream].split('\n').find(w.matches)
      if (line !== undefined) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line) }
    }
  }
  child.stdout?.on('data', (chunk: Buffer) => { text.stdout += chunk.toString(); check() })
  child.stderr?.on('data', (chunk: Buffer) => { text.stderr += chunk.toString(); check() })
  const exited = new Promise<number>((resolve) => {
    child.once('close', (code, signal) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`${command} ended before printing what was awaited\nstdout:\n${text.stdout}\nstderr:\n${text.stderr}`))
      resolve(code ?? 128 + (signal === null ? 0 : SIGNALS[signal] ?? 0))
    })
  })
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  return {
    child,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    logs: () => text.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
    waitFor: async (pattern, stream = 'stdout') => await new Promise((resolve, reject) => {
      const matches = typeof pattern === 'string' ? (line: string) => line.includes(pattern) : (line: string) => pattern.test(line)
      waiters.push({ matches, stream, resolve, reject })
      check()
    }),
    exited
  }
}

/** `spawnProcess` with the environment as its own argument (the single-executable test's form). */
export function runCli (t: Test, command: string, args: readonly string[], env: Record<string, string>, cwd?: string): CliRun {
  return spawnProcess(t, command, args, { env, cwd })
}

/** Start `node dist/cli.js <args>` for the length of `t`. */
export function startPortvakt (t: Test, args: readonly string[], options: SpawnOptions = {}): CliRun {
  return spawnProcess(t, process.execPath, [CLI, ...args], options)
}

/** What a command run to its end printed, and how it exited (null: killed, or timed out). */
export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Run a command to its end, 30 s at most; never rejects on a non-zero exit. */
export async function runToEnd (command: string, args: readonly string[], options: SpawnOptions = {}): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, { cwd: options.cwd, env: childEnv(options), timeout: 30_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: unknown, stdout?: string, stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : null, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

/** Run `node dist/cli.js <args>` to its end. */
export async function runPortvakt (args: readonly string[], options: SpawnOptions = {}): Promise<RunResult> {
  return await runToEnd(process.execPath, [CLI, ...args], options)
}

/** Run real curl with `args`; the status code and body. */
export async function curl (args: readonly string[]): Promise<{ status: number, body: string }> {
  const { stdout } = await execFileAsync('curl', ['-s', '-w', '\n%{http_code}', ...args])
  const cut = stdout.lastIndexOf('\n')
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) }
}

/** The port from portvakt's "portvakt started" log line. */
export function startedPort (line: string): number {
  return (JSON.parse(line) as { port: number }).port
}

/** A `portvakt serve` child that has started, and where it listens. */
export interface ServeRun extends CliRun {
  url: string
  adminUrl: string
}

/** Start `portvakt serve` on loopback, port 0, with `env`, and wait for its start-up line. */
export async function startServe (t: Test, env: Record<string, string>): Promise<ServeRun> {
  const run = startPortvakt(t, ['serve'], {
    inheritEnv: true,
    env: { PORTVAKT_HOST: '127.0.0.1', PORTVAKT_PORT: '0', PORTVAKT_ADMIN_HOST: '127.0.0.1', PORTVAKT_ADMIN_PORT: '0', ...env }
  })
  // Either shape (PORTVAKT_LOG_FORMAT): nais by default, pino's when a test asks for it.
  const started = JSON.parse(await run.waitFor(/"(?:message|msg)":"portvakt started"/)) as { port: number, adminPort: number }
  return { ...run, url: `http://127.0.0.1:${started.port}`, adminUrl: `http://127.0.0.1:${started.adminPort}` }
}

/** What `launchPortvakt` needs: how to run portvakt, the app command, extra env, a working directory. */
export interface LaunchOptions {
  /** the portvakt command (default: node dist/cli.js) */
  portvakt?: readonly string[]
  /** the app command after `serve --` (default: node test/fixtures/app.js) */
  app?: readonly string[]
  env?: Record<string, string>
  cwd?: string
}

/** `portvakt serve -- <app>` against a real JWKS server, with a key to mint tokens for it. */
export async function launchPortvakt (t: Test, options: LaunchOptions = {}): Promise<{ run: CliRun, appPort: number, mint: ReturnType<typeof tokenFactory> }> {
  const key = await makeKey()
  const jwks = await startJwksServer([key.jwk])
  t.teardown(async () => { await close(jwks.server) })
  const appPort = await freePort()
  const [command, ...args] = options.portvakt ?? [process.execPath, CLI]
  const app = options.app ?? [process.execPath, join(ROOT, 'test', 'fixtures', 'app.js')]
  const run = runCli(t, command as string, [...args, 'serve', '--', ...app], {
    MASKINPORTEN_ISSUER: TEST_ISSUER,
    MASKINPORTEN_JWKS_URI: `${jwks.url}/jwks`,
    PORTVAKT_ROUTES: join(ROOT, 'config', 'routes.yaml'),
    PORTVAKT_HOST: '127.0.0.1',
    PORTVAKT_PORT: '0',
    PORTVAKT_ADMIN_PORT: '0',
    PORTVAKT_SHUTDOWN_DELAY: '0s',
    PORTVAKT_UPSTREAM: `http://127.0.0.1:${appPort}`,
    ...options.env
  }, options.cwd)
  return { run, appPort, mint: tokenFactory(key) }
}

/** Whether a process is still running (a zombie is not: it has ended and awaits its parent). */
export function isRunning (pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}
