/**
 * Run the built `portvakt` (dist/cli.js, or the single executable) as a real child process, the way
 * Kubernetes would: real env, real signals, stdout/stderr read line by line.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import type { Test } from 'tap'
import { makeKey } from './keys.js'
import { close, startJwksServer } from './servers.js'
import { TEST_ISSUER, tokenFactory } from './tokens.js'

/** The repository root (tap runs from it). */
export const ROOT = process.cwd()

/** A portvakt process under test. */
export interface CliRun {
  child: ChildProcess
  /** everything written so far */
  stdout: () => string
  stderr: () => string
  /** resolves with the first stdout line matching `pattern` (rejects if the process ends first) */
  waitFor: (pattern: RegExp) => Promise<string>
  /** resolves with the exit status (128 + n when killed by a signal) */
  exited: Promise<number>
}

/** A TCP port that was free a moment ago, for the app's PORT (portvakt itself listens on port 0). */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  return typeof address === 'object' && address !== null ? address.port : 0
}

/** Start `command args` with `env` added to a clean environment; killed at test end if still running. */
export function runCli (t: Test, command: string, args: readonly string[], env: Record<string, string>, cwd?: string): CliRun {
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  let err = ''
  const waiters: Array<{ pattern: RegExp, resolve: (line: string) => void, reject: (e: Error) => void }> = []
  const check = (): void => {
    for (const w of [...waiters]) {
      const line = out.split('\n').find((l) => w.pattern.test(l))
      if (line !== undefined) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line) }
    }
  }
  child.stdout?.on('data', (chunk: Buffer) => { out += chunk.toString(); check() })
  child.stderr?.on('data', (chunk: Buffer) => { err += chunk.toString() })
  const exited = new Promise<number>((resolve) => {
    child.once('close', (code, signal) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`portvakt ended before printing ${String(w.pattern)}\nstdout:\n${out}\nstderr:\n${err}`))
      resolve(code ?? 128 + (signal === null ? 0 : ({ SIGTERM: 15, SIGKILL: 9, SIGINT: 2 } as Record<string, number>)[signal] ?? 0))
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
    stdout: () => out,
    stderr: () => err,
    waitFor: async (pattern) => await new Promise((resolve, reject) => { waiters.push({ pattern, resolve, reject }); check() }),
    exited
  }
}

/** The port from portvakt's "portvakt started" log line. */
export function startedPort (line: string): number {
  return (JSON.parse(line) as { port: number }).port
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
  const [command, ...args] = options.portvakt ?? [process.execPath, join(ROOT, 'dist', 'cli.js')]
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
