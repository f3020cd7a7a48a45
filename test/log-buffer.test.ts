import t, { type Test } from 'tap'
import { spawn, execFile } from 'node:child_process'
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { LineBuffer } from '../src/observe/log-buffer.js'
import { createLogger } from '../src/observe/log.js'

const root = resolve(import.meta.dirname, '..')

function fileSink (t: Test): { fd: number, text: () => string } {
  const file = join(t.testdir(), 'out.log')
  const fd = openSync(file, 'w')
  t.teardown(() => { closeSync(fd) })
  return { fd, text: () => readFileSync(file, 'utf8') }
}

t.test('lines wait until the next would overflow the chunk; a write is whole lines, never over the chunk', async (t) => {
  const sink = fileSink(t)
  const buffer = new LineBuffer({ fd: sink.fd, chunkBytes: 100 })
  const line = (n: number): string => `${String(n).padStart(39, '-')}\n` // 40 bytes
  buffer.write(line(1))
  buffer.write(line(2))
  t.equal(sink.text(), '', '80 bytes pending: nothing written yet')
  buffer.write(line(3))
  t.equal(sink.text(), line(1) + line(2), 'a third line would make 120 bytes: the two go out, the third waits')
  buffer.write(line(4))
  t.equal(sink.text(), line(1) + line(2))
  buffer.flushSync()
  t.equal(sink.text(), line(1) + line(2) + line(3) + line(4), 'flushSync writes what is pending')
  buffer.flushSync()
  t.equal(sink.text(), line(1) + line(2) + line(3) + line(4), 'nothing pending: nothing written')
  buffer.write('x'.repeat(99) + '\n')
  t.equal(sink.text().length, 260, 'a line that fills the chunk exactly goes out at once')
  const long = 'y'.repeat(250) + '\n'
  buffer.write(long)
  t.ok(sink.text().endsWith(long), 'a line longer than the chunk is written alone, whole')
})

t.test('the chunk is counted in bytes: with non-ASCII lines no write passes it, and nothing is cut', async (t) => {
  const sink = fileSink(t)
  const buffer = new LineBuffer({ fd: sink.fd, chunkBytes: 75 })
  const line = 'blåbærsyltetøy ✓ ærlig\n' // 23 characters, 29 bytes
  const seen: number[] = []
  let before = 0
  for (let i = 0; i < 20; i++) {
    buffer.write(line)
    const now = Buffer.byteLength(sink.text())
    if (now > before) seen.push(now - before)
    before = now
  }
  buffer.flushSync()
  t.equal(sink.text(), line.repeat(20))
  t.same(seen, Array(9).fill(58), 'every write was two whole lines, 58 bytes (counting characters, 69 for three, would have let a third in)')
})

/** The real fs.writeSync, recording what each call was given (bytes, and whether it ended a line). */
function recordingWrite (): { writeSync: (fd: number, data: Uint8Array) => number, writes: Array<{ bytes: number, wholeLines: boolean }> } {
  const writes: Array<{ bytes: number, wholeLines: boolean }> = []
  return {
    writes,
    writeSync: (fd, data) => {
      writes.push({ bytes: data.length, wholeLines: data[data.length - 1] === 0x0a })
      return writeSync(fd, data)
    }
  }
}

t.test('every write is whole lines and at most the chunk, the default chunk being PIPE_BUF (4096 bytes)', async (t) => {
  const sink = fileSink(t)
  const recorder = recordingWrite()
  const buffer = new LineBuffer({ fd: sink.fd, writeSync: recorder.writeSync })
  let expected = ''
  for (let i = 0; i < 5000; i++) {
    // 60–260 bytes, some of them non-ASCII, as access lines with long or encoded paths would be
    const line = `{"i":${i},"path":"/api/${'ø'.repeat(i % 50)}${'x'.repeat((i * 7) % 100)}"}\n`
    expected += line
    buffer.write(line)
  }
  buffer.flushSync()
  t.equal(sink.text(), expected, 'every line, in order')
  t.ok(recorder.writes.length > 1, `${recorder.writes.length} writes`)
  t.same(recorder.writes.filter((w) => w.bytes > 4096 || !w.wholeLines), [], 'none over 4096 bytes, none ending mid-line')
  t.ok(recorder.writes.slice(0, -1).every((w) => w.bytes > 4096 - 400), 'each full chunk filled to within one line of the limit')
})

t.test('a line longer than the chunk goes out in a write of its own, after what was pending', async (t) => {
  const sink = fileSink(t)
  const recorder = recordingWrite()
  const buffer = new LineBuffer({ fd: sink.fd, chunkBytes: 100, writeSync: recorder.writeSync })
  const short = 'short line\n'
  const long = 'y'.repeat(250) + '\n'
  buffer.write(short)
  buffer.write(long)
  buffer.write(short)
  buffer.flushSync()
  t.equal(sink.text(), short + long + short)
  t.same(recorder.writes.map((w) => w.bytes), [11, 251, 11], 'the pending line, the long line alone, the next line')
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

t.test('a reader that is slow on a non-blocking descriptor gets every byte, in order (EAGAIN is waited on)', async (t) => {
  // A child's stdout pipe is a socket pair whose parent end libuv made non-blocking; the parent writes
  // into it and the child reads it back (from its own fd 1) only after a pause, so the socket's
  // buffer fills and writes meet EAGAIN until the reader catches up.
  const out = join(t.testdir(), 'read-back')
  const reader = spawn('sh', ['-c', `sleep 0.5; cat <&1 > '${out}'`], { stdio: ['ignore', 'pipe', 'inherit'] })
  const fd = (reader.stdout as unknown as { _handle: { fd: number } })._handle.fd
  t.ok(fd > 2, 'the parent end of the pipe has a descriptor')
  const buffer = new LineBuffer({ fd })
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
  const buffer = new LineBuffer({ fd, chunkBytes: 10, onError: (err) => { errors.push(err.code ?? '?') } })
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
  const onExit = await node("import { createLogger } from './dist/observe/log.js'; const l = createLogger('info'); l.info('before exit'); process.exit(3)")
  t.equal(onExit.code, 3)
  t.match(onExit.stdout, /"msg":"before exit"/, 'process.exit()')
  const onCrash = await node("import { createLogger } from './dist/observe/log.js'; const l = createLogger('info'); l.error('the reason'); setTimeout(() => { throw new Error('boom') })")
  t.equal(onCrash.code, 1)
  t.match(onCrash.stdout, /"msg":"the reason"/, 'an uncaught exception')
  t.match(onCrash.stderr, /boom/)
  const quiet = await node("import { createLogger } from './dist/observe/log.js'; const l = createLogger('info'); l.info('at the end of the loop')")
  t.match(quiet.stdout, /"msg":"at the end of the loop"/, 'the event loop running out')
})

t.test('stdout closed under a running process: one line on stderr, the process goes on', async (t) => {
  const script = "import { createLogger } from './dist/observe/log.js'; const l = createLogger('info'); " +
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

t.test('sharing a pipe with another writer (launcher mode): no line of either is cut, even when the pipe is full', async (t) => {
  // The shell's `|` makes a real pipe; the reader starts late so both writers block on a full pipe,
  // which is when a write over PIPE_BUF may be split around the other writer's output.
  const dir = t.testdir()
  const out = join(dir, 'out')
  const ours = "import { LineBuffer } from './dist/observe/log-buffer.js'; const b = new LineBuffer({ fd: 1 }); " +
    "for (let i = 0; i < 20000; i++) b.write(JSON.stringify({ from: 'portvakt', i, pad: 'p'.repeat(80) }) + '\\n'); b.flushSync()"
  const app = "const { writeSync } = require('node:fs'); " +
    "for (let i = 0; i < 20000; i++) writeSync(1, JSON.stringify({ from: 'app', i, pad: 'a'.repeat(60) }) + '\\n')"
  const q = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`
  // tap puts its process-tracking loader in every child's NODE_OPTIONS, and that loader opens stdout
  // as a stream, which makes the shared pipe non-blocking (portvakt itself never does: checked in
  // /proc/<pid>/fdinfo); the app, writing with plain writeSync as most apps do, would die of EAGAIN.
  const script = `unset NODE_OPTIONS; ( ${q(process.execPath)} --input-type=module -e ${q(ours)} & ${q(process.execPath)} -e ${q(app)}; wait ) | ( sleep 0.5; cat > ${q(out)} )`
  const { stderr } = await run('sh', ['-c', script], { cwd: root })
  t.equal(stderr, '', 'neither writer complained')
  const lines = readFileSync(out, 'utf8').split('\n').slice(0, -1)
  const parsed = lines.map((line) => { try { return JSON.parse(line) as { from: string, i: number } } catch { return undefined } })
  t.equal(parsed.filter((line) => line === undefined).length, 0, 'every line parses')
  t.equal(lines.length, 40_000, 'all lines of both arrived')
  const ordered = (from: string): boolean => parsed.filter((l) => l?.from === from).every((l, n) => l?.i === n)
  t.ok(ordered('portvakt') && ordered('app'), "each writer's lines in its own order")
})
