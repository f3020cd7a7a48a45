/** Run the built CLI as a child process, as users and Kubernetes do. */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { promisify } from 'node:util'
import type { Test } from 'tap'

const run = promisify(execFile)

/** A running portvakt process with its output so far. */
export interface Running {
  child: ChildProcess
  output: () => string
}

/** Start `node dist/cli.js <args>` and wait until a line of its output matches `ready`; killed on teardown. */
export async function startCli (t: Test, args: string[], env: Record<string, string>, ready: RegExp): Promise<Running> {
  const child = spawn(process.execPath, ['dist/cli.js', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let text = ''
  child.stdout.on('data', (c: Buffer) => { text += c.toString() })
  child.stderr.on('data', (c: Buffer) => { text += c.toString() })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (ready.test(text)) { clearInterval(timer); resolve() }
    }, 25)
    child.on('exit', (code) => { clearInterval(timer); reject(new Error(`portvakt exited with ${code}: ${text}`)) })
  })
  return { child, output: () => text }
}

/** Run `node dist/cli.js <args>` to completion: exit code, stdout, stderr. */
export async function runCli (args: string[], env: Record<string, string> = {}): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['dist/cli.js', ...args], { env: { PATH: process.env.PATH ?? '', ...env } })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

/** Run real curl; returns the status code and body. */
export async function curl (args: string[]): Promise<{ status: number, body: string }> {
  const { stdout } = await run('curl', ['-s', '-w', '\n%{http_code}', ...args])
  const cut = stdout.lastIndexOf('\n')
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) }
}
