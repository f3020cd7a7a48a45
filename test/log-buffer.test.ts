import t, { type Test } from 'tap'
import { spawn, execFile } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { LineBuffer } from '../src/log-buffer.js'
import { createLogger } from '../src/log.js'

const root = resolve(import.meta.dirname, '..')

function fileSink (t: Test): { fd: number, text: () => string } {
  const file = join(t.testdir(), 'out.log')
  const fd = openSync(file, 'w')
  t.teardown(() => { closeSync(fd) })
  return { fd, text: () => readFileSync(file, 'utf8') }
}

t.test('lines wait until a chunk is full, then go out in one piece, in order', async (t) => {
  const sink = fileSink(t)
  const buffer = new LineBuffer({ fd: sink.fd, chunkChars: 100 })
  const line = (n: number): string => `${String(n).padStart(39, '-')}\n` // 40 characters
  buffer.write(line(1))
  buffer.write(line(2))
  t.equal(sink.text(), '', '80 characters pending: nothing written yet')
  buffer.write(line(3))
  t.equal(sink.text(), line(1) + line(2) + line(3), 'the chunk is full: all three written')
  buffer.write(line(4))
  t.equal(sink.text(), line(1) + line(2) + line(3))
  buffer.flushSync()
  t.equal(sink.text(), line(1) + line(2) + line(3) + line(4), 'flushSync writes what is pending')
  buffer.flushSync()
  t.equal(sink.text(), line(1) + line(2) + line(3) + line(4), 'nothing pending: nothing written')
})

t.test('pino writes through it; logger.flush() puts the last line out before its callback', async (t) => {
  const sink = fileSink(t)
  const logger = createLogger('info', new LineBuffer({ fd: sink.fd }))
  logger.info({ route: 'api', authorization: 'Bearer secret' }, 'access')
  t.equal(sink.text(), '', 'one short line stays in the buffer')
  await new Promise<void>((resolve) => { logger.flush(() => { resolve() }) })
  const line = JSON.parse(sink.text()) as Record<string, unknown>
  t.match(line, { msg: 'access', route: 'api', authorization: '[redacted]', app: 'portvakt' })
})

t.test('non-ASCII text is written whole (a chunk is cut by characters, written as bytes)', async (t) => {
  const sink = fileSink(t)
  const buffer = new LineBuffer({ fd: sink.fd, chunkChars: 10 })
  const text = 'blåbærsyltetøy – ærlig talt ✓\n'.repeat(50)
  for (const part of text.match(/.{1,7}/gs) ?? []) buffer.write(part)
  buffer.flushSync()
  t.equal(sink.text(), text)
})

t.test('a reader that is slow on a non-blocking descriptor gets every byte, in order (EAGAIN is waited on)', async (t) => {
  // A child's stdout pipe is a socket pair whose parent end libuv made non-blocking; the parent writes
  // into it and the child reads it back (from its own fd 1) only after a pause, so the socket's
  // buffer fills and writes meet EAGAIN until the reader catches up.
  const out = join(t.testdir(), 'read-back')
  const reader = spawn('sh', ['-c', `sleep 0.5; cat <&1 > '${out}'`], { stdio: ['ignore', 'pipe', 'inherit'] })
  const fd = (reader.stdout as unknown as { _handle: { fd: number } })._handle.fd
  t.ok(fd > 2, 'the parent end of the pipe has a descriptor')
  const buffer = new LineBuffer({ fd, chunkChars: 64 * 1024 })
  const lines: string[] = []
  for (let i = 0; i < 40_000; i++) {
    const line = `{"n":${i},"pad":"${'x'.repeat(40)}"}\n`
    lines.push(line)
    buffer.write(line)
  }
  buffer.flushSync()
  const exited = new Promise((resolve) => reader.once('exit', resolve))
  reader.stdout?.destroy() // end of data for cat
  await exited
  const got = readFileSync(out, 'utf8')
  t.equal(got.length, lines.join('').length, `all ${lines.length} lines (${got.length} bytes) arrived`)
  t.ok(got === lines.join(''), 'in order, unaltered')
})

t.test('a descriptor that fails for good: told once, the lines dropped, no throw into the caller', async (t) => {
  const file = join(t.testdir({ 'read-only': '' }), 'read-only')
  const fd = openSync(file, 'r') // writes fail with EBADF
  t.teardown(() => { closeSync(fd) })
  const errors: string[] = []
  const buffer = new LineBuffer({ fd, chunkChars: 10, onError: (err) => { errors.push(err.code ?? '?') } })
  t.doesNotThrow(() => { buffer.write('first line of many\n') })
  t.doesNotThrow(() => { buffer.write('second line\n') })
  buffer.flushSync()
  t.same(errors, ['EBADF'], 'reported once, not per line')
  t.equal(readFileSync(file, 'utf8'), '')
})

// Processes using the built logger on their real stdout (npm test builds dist/ first).
const run = promisify(execFile)
async function node (script: string): Promise<{ stdout: string, stderr: string, code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: root })
    return { stdout, stderr, code: 0 }
  } catch (err) {
    const e = err as { stdout: string, stderr: string, code: number }
    return { stdout: e.stdout, stderr: e.stderr, code: e.code }
  }
}

t.test('the process logger puts its pending lines out when the process ends', async (t) => {
  const onExit = await node("import { createLogger } from './dist/log.js'; const l = createLogger('info'); l.info('before exit'); process.exit(3)")
  t.equal(onExit.code, 3)
  t.match(onExit.stdout, /"msg":"before exit"/, 'process.exit()')
  const onCrash = await node("import { createLogger } from './dist/log.js'; const l = createLogger('info'); l.error('the reason'); setTimeout(() => { throw new Error('boom') })")
  t.equal(onCrash.code, 1)
  t.match(onCrash.stdout, /"msg":"the reason"/, 'an uncaught exception')
  t.match(onCrash.stderr, /boom/)
  const quiet = await node("import { createLogger } from './dist/log.js'; const l = createLogger('info'); l.info('at the end of the loop')")
  t.match(quiet.stdout, /"msg":"at the end of the loop"/, 'the event loop running out')
})

t.test('stdout closed under a running process: one line on stderr, the process goes on', async (t) => {
  const script = "import { createLogger } from './dist/log.js'; const l = createLogger('info'); " +
    "process.stdin.once('data', () => { for (let i = 0; i < 2000; i++) l.info({ i }, 'line'); process.stderr.write('still running\\n') })"
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  child.stdout.destroy() // the reader of its stdout is gone: writes fail with EPIPE
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  child.stdin.end('go\n')
  t.equal(await exited, 0, 'exits normally')
  t.match(stderr, /log lines can no longer be written \(EPIPE\); they are dropped from now on/)
  t.equal(stderr.match(/can no longer be written/g)?.length, 1, 'said once')
  t.match(stderr, /still running/)
})
