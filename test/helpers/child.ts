/** The built portvakt (`node dist/cli.js serve`) as a child process, for signal and exit-code tests. */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import type { Test } from 'tap'

/** A running child portvakt and what it has logged. */
export interface ChildGate {
  child: ChildProcess
  url: string
  adminUrl: string
  logs: Array<Record<string, unknown>>
  /** resolves with the exit code (or signal name) */
  exited: Promise<number | string>
}

/** Start `dist/cli.js serve` with `env` and wait for its start-up line; killed at teardown if still running. */
export async function startChild (t: Test, env: Record<string, string>): Promise<ChildGate> {
  const child = spawn(process.execPath, ['dist/cli.js', 'serve'], {
    env: { ...process.env, PORTVAKT_HOST: '127.0.0.1', PORTVAKT_PORT: '0', PORTVAKT_ADMIN_HOST: '127.0.0.1', PORTVAKT_ADMIN_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string)
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  const logs: Array<Record<string, unknown>> = []
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  let buffer = ''
  const started = new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      let newline
      while ((newline = buffer.indexOf('\n')) !== -1) {
        const line = JSON.parse(buffer.slice(0, newline)) as Record<string, unknown>
        buffer = buffer.slice(newline + 1)
        logs.push(line)
        if (line.msg === 'portvakt started') resolve(line)
      }
    })
    void exited.then((code) => { reject(new Error(`portvakt exited (${code}) before starting: ${stderr}`)) })
  })
  const line = await started
  return { child, url: `http://127.0.0.1:${line.port as number}`, adminUrl: `http://127.0.0.1:${line.adminPort as number}`, logs, exited }
}
