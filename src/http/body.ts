/**
 * Reading a request body before it goes further, as nginx's request buffering does, in memory and
 * bounded (https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_request_buffering): a
 * body up to `bodyBufferBytes` is read whole, so it takes an upstream connection only once complete
 * (and can be sent twice, for the egress side's retry); a larger one streams, but only once its
 * first `bodyBufferBytes` are in. Either way the client keeps up a floor rate or the body is
 * reported slow (pace.ts). `Expect: 100-continue` is answered here, when the body is wanted: a
 * request refused before this point never has its body sent.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { PassThrough, type Readable } from 'node:stream'
import { watchPace, type PaceRules } from './pace.js'

/** A request body as it can be sent on: nothing, the bytes in hand, or a stream whose first buffer-full is in. */
export type RequestBody = { kind: 'none' } | { kind: 'buffered', bytes: Buffer } | { kind: 'stream', stream: Readable }

/** How a body is read. */
export interface BodyRules extends PaceRules {
  bodyBufferBytes: number
}

/** What reading a body can come to. */
export interface BodyEvents {
  /** the body can be sent on */
  ready: (body: RequestBody) => void
  /** the client sent slower than the floor rate; a stream given to `ready` is destroyed right after */
  slow: () => void
  /** the client went away, or its body broke, before `ready` */
  failed: (err: Error) => void
}

const NONE: RequestBody = Object.freeze({ kind: 'none' })

/** Whether the client sent a body (RFC 9112 §6.3: Transfer-Encoding, or a non-zero Content-Length). */
export function hasBody (headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0')
}

/** Read `req`'s body by `rules`; exactly one of `ready` and `failed` is called, and `slow` at most once. */
export function readBody (req: IncomingMessage, res: ServerResponse, rules: BodyRules, events: BodyEvents): void {
  if (!hasBody(req.headers)) {
    events.ready(NONE)
    return
  }
  // The server base takes over Node's automatic 100 Continue (server-base.ts), so it is sent now.
  if (req.headers.expect !== undefined && !res.headersSent) res.writeContinue()
  const chunks: Buffer[] = []
  let held = 0
  let stream: PassThrough | undefined
  let settled = false
  const pace = watchPace(req, rules, () => {
    stop()
    events.slow()
    stream?.destroy(new Error('the request body arrived slower than the floor rate'))
  })
  const toStream = (): void => {
    const out = new PassThrough()
    stream = out
    // It is destroyed with an error when the client goes or turns slow, perhaps before anyone reads
    // it (a request waiting for a connection): the error is handled where it is caused, never thrown.
    out.on('error', () => {})
    for (const chunk of chunks) out.write(chunk)
    chunks.length = 0
    // The pipe's back-pressure, by hand: the client's pace is not measured while we hold it back.
    out.on('drain', () => { req.resume() })
    // Destroyed by the sender (the upstream failed or answered and went): nothing more goes into it.
    out.once('close', () => { if (!req.complete) stop() })
    if (out.writableNeedDrain) { req.pause(); pace.hold() }
    settled = true
    events.ready({ kind: 'stream', stream: out })
  }
  const onData = (chunk: Buffer): void => {
    pace.count(chunk.length)
    if (stream !== undefined) {
      if (!stream.write(chunk)) { req.pause(); pace.hold() }
      return
    }
    chunks.push(chunk)
    held += chunk.length
    if (held > rules.bodyBufferBytes) toStream()
  }
  const onEnd = (): void => {
    stop()
    if (stream !== undefined) {
      stream.end()
      return
    }
    settled = true
    events.ready({ kind: 'buffered', bytes: chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks, held) })
  }
  const onGone = (err?: Error): void => {
    if (req.complete) return
    stop()
    const error = err ?? new Error('the client closed the connection before its body was complete')
    if (stream !== undefined) stream.destroy(error)
    else if (!settled) { settled = true; events.failed(error) }
  }
  let stopped = false
  const stop = (): void => {
    stopped = true
    pace.stop()
    req.off('data', onData).off('end', onEnd).off('close', onGone)
  }
  // Node emits 'error' on a request cut off mid-body only if someone listened when it was cut, and
  // emits it a tick later: this listener stays, so that error never goes unhandled.
  req.on('error', (err) => { if (!stopped) onGone(err) })
  req.on('data', onData).on('end', onEnd).on('close', onGone)
}
