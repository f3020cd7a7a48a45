/**
 * A line buffer in front of a file descriptor (stdout), written synchronously in chunks of up to
 * 4 KB: the cheapest way found to get one access line per request out, against pino's SonicBoom
 * (async, and sync, whose write() re-measures the whole pending string each call) and a thread-pool
 * write per chunk (a hand-off and a wake-up each); bench/README.md has the figures.
 *
 * A chunk is whole lines and at most PIPE_BUF (4096) bytes, so each write to a pipe is atomic: in
 * launcher mode the app writes to the same stdout pipe, and a larger write could be split around the
 * app's output, cutting lines of both in half in the pod's log. (One line longer than that is
 * written alone.)
 *
 * Blocking on purpose: when the reader of stdout is slow, writes wait for it (as nginx's access log
 * does) instead of piling lines up in memory until the pod is killed; nothing is lost and memory stays
 * bounded. A non-blocking descriptor (EAGAIN) is waited on in short sleeps. A descriptor that fails
 * for good (EPIPE, EBADF…) loses the lines, never a request: the error is reported once on stderr.
 */
import { writeSync } from 'node:fs'
import type { DestinationStream } from 'pino'

/** The largest write a pipe takes atomically (POSIX PIPE_BUF; 4096 on Linux). */
export const CHUNK_BYTES = 4096
const EAGAIN_WAIT_MS = 5

export interface LineBufferOptions {
  fd: number
  /** the most bytes one write carries, unless a single line is longer (CHUNK_BYTES by default) */
  chunkBytes?: number
  /** told once when the descriptor fails for good (default: a line on stderr) */
  onError?: (err: NodeJS.ErrnoException) => void
  /** the write call (fs.writeSync by default; tests pass one that records each write's size) */
  writeSync?: (fd: number, data: Uint8Array) => number
}

export class LineBuffer implements DestinationStream {
  private pending = ''
  private pendingBytes = 0
  private failed = false
  private readonly fd: number
  private readonly chunkBytes: number
  private readonly onError: (err: NodeJS.ErrnoException) => void
  private readonly writeSync: (fd: number, data: Uint8Array) => number
  private readonly waitCell = new Int32Array(new SharedArrayBuffer(4))

  constructor (options: LineBufferOptions) {
    this.fd = options.fd
    this.chunkBytes = options.chunkBytes ?? CHUNK_BYTES
    this.onError = options.onError ?? reportOnStderr
    this.writeSync = options.writeSync ?? writeSync
  }

  write (line: string): boolean {
    const bytes = Buffer.byteLength(line)
    if (this.pendingBytes + bytes > this.chunkBytes) this.flushSync()
    this.pending += line
    this.pendingBytes += bytes
    if (this.pendingBytes >= this.chunkBytes) this.flushSync()
    return true
  }

  /** Write out what is pending; `done` is called after (pino.flush). */
  flush (done?: (err?: Error) => void): void {
    this.flushSync()
    done?.()
  }

  flushSync (): void {
    if (this.pending === '') return
    let data = Buffer.from(this.pending)
    this.pending = ''
    this.pendingBytes = 0
    if (this.failed) return
    while (data.length > 0) {
      try {
        data = data.subarray(this.writeSync(this.fd, data))
      } catch (err) {
        const error = err as NodeJS.ErrnoException
        if (error.code === 'EAGAIN') {
          Atomics.wait(this.waitCell, 0, 0, EAGAIN_WAIT_MS)
          continue
        }
        this.failed = true
        this.onError(error)
        return
      }
    }
  }
}

function reportOnStderr (err: NodeJS.ErrnoException): void {
  try {
    writeSync(2, `portvakt: log lines can no longer be written (${err.code ?? err.message}); they are dropped from now on\n`)
  } catch {
    // stderr is gone too: nowhere left to say it
  }
}
