/**
 * One forwarded request's way through (forward.ts reads its head and starts it): a connection from
 * the pool's slots (or a wait for one, with its deadline), the dispatch on it, the upstream's answer
 * written back with back-pressure, and our own answer when the client is too slow or no connection
 * came free.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Dispatcher, Pool } from 'undici'
import type { RequestBody } from '../http/body.js'
import { bodyTooSlow, GateError } from '../http/errors.js'
import { settleConnection } from '../http/linger.js'
import type { ForwardOptions } from './forward.js'
import { toUpstreamResponseHeaders } from './hop-by-hop.js'
import type { UpstreamSlots } from './slots.js'
import { toUpstreamError } from './upstream-error.js'

/** What every forwarded request shares. */
export interface Forwarding {
  pool: Pool
  slots: UpstreamSlots
  /** which client headers never reach the upstream (headers.ts, createHeaderDrop) */
  drop: (name: string) => boolean
  host: string
  options: ForwardOptions
}

export const noop = (): void => {}
const upstreamBusy = (): GateError => new GateError('PORTVAKT_ERR_UPSTREAM_BUSY', 'every connection to the upstream stayed busy for PORTVAKT_UPSTREAM_QUEUE_TIMEOUT; try again shortly')

// Made only when needed: an Error per request would cost a stack trace on every request.
function gone (): Error {
  return new Error('the client closed the connection')
}

/**
 * One request's way through: its body, its connection, whether the upstream is done with it, and
 * whether we answered it ourselves. A class, so a request allocates no closures for it.
 */
export class Turn {
  controller: Dispatcher.DispatchController | undefined = undefined
  /** the upstream's answer is complete or failed, and the connection given back */
  finished = false
  /** we answered (408, 503): nothing of the upstream's goes out */
  answered = false
  private streamed = false
  private cancelWait = noop

  constructor (readonly f: Forwarding, readonly request: FastifyRequest, readonly reply: FastifyReply, readonly headers: Record<string, string | string[]>) {}

  /** The body is ready: take a connection (or wait for one) and send. */
  send (body: RequestBody): void {
    this.streamed = body.kind === 'stream'
    // A chunked body read whole goes on with its length; a bodiless request with none at all.
    if (body.kind === 'none') delete this.headers['content-length']
    else if (body.kind === 'buffered') this.headers['content-length'] = String(body.bytes.length)
    if (this.f.slots.tryTake(this.streamed)) {
      dispatch(this, body)
      return
    }
    this.cancelWait = this.f.slots.wait(this.streamed, () => {
      this.cancelWait = noop
      dispatch(this, body)
    }, () => {
      if (body.kind === 'stream') body.stream.destroy()
      this.answer(upstreamBusy())
    })
  }

  /** The upstream is done with the connection: give it back, once. */
  finish (): void {
    if (this.finished) return
    this.finished = true
    this.f.slots.give(this.streamed)
  }

  /** Answer ourselves, unless an answer is already out. */
  answer (err: GateError): void {
    this.cancelWait()
    const { reply } = this
    if (this.answered || reply.raw.headersSent || reply.sent || reply.raw.destroyed) return
    this.answered = true
    this.f.options.onUpstreamError(this.request, reply, err)
  }

  /** The client went away before the answer was complete: stop waiting, and stop the upstream request too. */
  gone (): void {
    this.cancelWait()
    if (!this.finished) this.controller?.abort(gone())
  }

  /** The body came slower than the floor rate: 408, and a streamed body is cut short at the upstream. */
  tooSlow (): void {
    this.answer(bodyTooSlow())
    if (!this.finished) this.controller?.abort(bodyTooSlow())
  }
}

/** Send one request with its body on a connection already taken; `turn.finish` gives it back. */
function dispatch (turn: Turn, body: RequestBody): void {
  const { f, request, reply } = turn
  const req: IncomingMessage = request.raw
  const res: ServerResponse = reply.raw
  f.pool.dispatch({
    method: req.method as Dispatcher.HttpMethod,
    path: req.url ?? '/',
    headers: turn.headers,
    body: body.kind === 'none' ? null : body.kind === 'buffered' ? body.bytes : body.stream
  }, {
    onRequestStart (c) {
      turn.controller = c
      if (res.destroyed || turn.answered) c.abort(gone())
    },
    onResponseStart (c, statusCode, upstreamHeaders) {
      // 1xx interim answers (100 Continue) are between the pool and the upstream.
      if (statusCode < 200) return
      if (turn.answered) {
        c.abort(gone())
        return
      }
      const out = toUpstreamResponseHeaders(upstreamHeaders)
      reply.hijack()
      // Draining (the server says), or an answer while the request body is still coming (the
      // connection can't be reused before it is read): the client's connection closes after this answer.
      const draining = f.options.onUpstreamHead?.(request) === true
      if (settleConnection(req, res, f.options.limits, draining)) out.connection = 'close'
      res.writeHead(statusCode, out)
    },
    onResponseData (c, chunk) {
      if (res.destroyed) {
        c.abort(gone())
      } else if (!res.write(chunk)) {
        c.pause()
        res.once('drain', () => { c.resume() })
      }
    },
    onResponseEnd () {
      turn.finish()
      res.end()
    },
    onResponseError (_c, error) {
      turn.finish()
      // We answered ourselves (too slow), or the client left first (we aborted): no one to answer,
      // and the upstream did nothing wrong.
      if (turn.answered || (res.destroyed && !res.headersSent)) return
      if (!res.headersSent && !reply.sent) {
        f.options.onUpstreamError(request, reply, toUpstreamError(error, 'the upstream'))
      } else {
        // Mid-body there is no status left to send: cut the connection so the client sees a truncation.
        res.destroy(error)
      }
    }
  })
}

