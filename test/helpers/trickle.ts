/**
 * A client that sends its body slowly, on a real TCP connection: a request head, optionally a first
 * burst of body, then one byte (or one one-byte chunk) every `everyMs`, for a bounded number of
 * bytes. It reads everything the server answers and notes when and how the connection ended, so a
 * test can assert on "answered, then closed by the server within a bound".
 */
import { connect, type Socket } from 'node:net'
import { parseAnswer, type Answer } from './attack.js'

/** How a trickle goes. */
export interface TrickleOptions {
  /** body bytes sent at once right after the head */
  first?: Buffer
  /** the pause between trickled bytes */
  everyMs: number
  /** trickled bytes at most (the loop is bounded) */
  maxBytes: number
  /** send each byte as a chunk of a chunked body (the head must say Transfer-Encoding: chunked) */
  chunked?: boolean
  /** a safety net: the client gives up (and says so) after this long */
  limitMs?: number
}

/** How a trickled request ended. */
export interface TrickleEnd {
  answer: Answer
  /** ms from connecting until the connection ended */
  ms: number
  /** true when the server ended it (FIN or reset); false when the client gave up */
  byServer: boolean
  /** trickled bytes written before the end */
  sent: number
}

/** A running trickle. */
export interface Trickle {
  socket: Socket
  /** everything received so far, as text */
  received: () => string
  ended: Promise<TrickleEnd>
  /** stop sending and close from our side (teardown) */
  stop: () => void
}

/** Start one trickling client against `url`. */
export function startTrickle (url: string, head: string, options: TrickleOptions): Trickle {
  const { hostname, port } = new URL(url)
  // Half-open allowed: like a client that ignores our FIN, it goes on sending until we cut it off.
  const socket = connect({ port: Number(port), host: hostname, allowHalfOpen: true })
  const chunks: Buffer[] = []
  const started = performance.now()
  let sent = 0
  let gaveUp = false
  socket.on('data', (chunk: Buffer) => { chunks.push(chunk) })
  socket.on('error', () => { /* a reset ends it too; `ended` says so */ })
  // The server's FIN: a client with nothing left to send closes its side too; one still trickling
  // goes on until the server cuts it off (its next write meets a reset).
  socket.on('end', () => { if (sent >= options.maxBytes) socket.end() })
  socket.write(head)
  if (options.first !== undefined) socket.write(options.first)
  const timer = setInterval(() => {
    if (sent >= options.maxBytes || !socket.writable) {
      clearInterval(timer)
      return
    }
    socket.write(options.chunked === true ? '1\r\nx\r\n' : 'x')
    sent++
  }, options.everyMs)
  const net = setTimeout(() => { gaveUp = true; socket.destroy() }, options.limitMs ?? 30_000)
  const ended = new Promise<TrickleEnd>((resolve) => {
    socket.on('close', () => {
      clearInterval(timer)
      clearTimeout(net)
      resolve({ answer: parseAnswer(Buffer.concat(chunks).toString('latin1')), ms: performance.now() - started, byServer: !gaveUp, sent })
    })
  })
  return {
    socket,
    received: () => Buffer.concat(chunks).toString('latin1'),
    ended,
    stop: () => {
      gaveUp = true
      clearInterval(timer)
      clearTimeout(net)
      socket.destroy()
    }
  }
}
