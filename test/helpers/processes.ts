/** Child processes for CLI tests: `node dist/cli.js` as a user runs it, and free ports to give it. */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { resolve } from 'node:path'
import type { Test } from 'tap'

/** The built CLI (npm test builds it first). */
export const CLI = resolve('dist/cli.js')

/** A port nothing listens on right now (the OS's pick for port 0, released again). */
export async function findFreePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  return port
}

/** What a finished command printed and how it exited. */
export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** The environment for a child: this one without anything that would change what portvakt does. */
export function cleanEnv (extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('PORTVAKT_') && !name.startsWith('MASKINPORTEN_') && name !== 'NAIS_CLUSTER_NAME') env[name] = value
  }
  return { ...env, ...extra }
}

/** Run a command to its end (never rejects on a non-zero exit). */
export async function run (file: string, args: string[], env: Record<string, string> = {}, cwd?: string): Promise<RunResult> {
  return await new Promise((resolve) => {
    execFile(file, args, { env: cleanEnv(env), cwd, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
      resolve({ code, stdout, stderr })
    })
  })
}

/** Run `node dist/cli.js <args>`. */
export async function runCli (args: string[], env: Record<string, string> = {}, cwd?: string): Promise<RunResult> {
  return await run(process.execPath, [CLI, ...args], env, cwd)
}

/** A long-running child whose output is collected; killed in `t`'s teardown. */
export interface Daemon {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  /** resolves when stderr has shown `text`; rejects if the child exits first */
  waitFor: (text: string) => Promise<void>
  exited: Promise<number | null>
}

/** Start `node dist/cli.js <args>` in the background for the length of `t`. */
export function startCli (t: Test, args: string[], env: Record<string, string>, cwd?: string): Daemon {
  const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(env), cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  const waiters: Array<() => void> = []
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { err += chunk.toString(); for (const w of waiters) w() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code) }))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  })
  const waitFor = async (text: string): Promise<void> => await new Promise((resolve, reject) => {
    const check = (): void => { if (err.includes(text)) resolve() }
    waiters.push(check)
    check()
    void exited.then((code) => { reject(new Error(`portvakt exited (${String(code)}) before "${text}":\n${err}`)) })
  })
  return { child, stdout: () => out, stderr: () => err, waitFor, exited }
}
