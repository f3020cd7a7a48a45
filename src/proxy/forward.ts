/**
 * Forwarding to the upstream on an undici pool, without @fastify/reply-from: same method, path and
 * query as received, our header hygiene applied last, no retries. The request body is read first
 * (http/body.ts: whole when small, else its first buffer-full), then a pool connection is taken
 * (slots.ts: with a deadline, and only a share of them for streamed bodies), then the request is
 * dispatched and the answer streamed back with back-pressure. Why not reply-from: its per-request
 * URL building, header copies and Readable wrapping cost more than the auth gate itself
 * (bench/README.md); dispatching straight to the pool and writing the upstream's answer to the
 * socket is the leaner path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Pool, type Dispatcher } from 'undici'
import { METHODS } from '../config/route-schema.js'
import { readBody, type BodyRules, type RequestBody } from '../http/body.js'
import { bodyTooSlow, GateError } from '../http/errors.js'
import { settleConnection, type LingerLimits } from '../http/linger.js'
import { toUpstreamRequestHeaders } from './headers.js'
import { toUpstreamResponseHeaders } from './hop-by-hop.js'
import { UpstreamSlots, type SlotLimits } from './slots.js'
import { toUpstreamError } from './upstream-error.js'

/** How to reach the upstream. */
export interface ForwardOptions {
  upstream: string
  upstreamTimeoutMs: number
  forwardToken: boolean
  /** how request bodies are read, and how a connection is closed with a body still coming */
  limits: BodyRules & LingerLimits
  /** the pool's size, its share for streamed bodies, and the wait for a connection */
  pool: SlotLimits
  /** answer a refusal (set by the server, which owns error responses) */
  onUpstreamError: (request: FastifyRequest, reply: FastifyReply, error: GateError) => void
  /** told when the upstream's head is in, before it is written; true: close the client's connection after it */
  onUpstreamHead?: (request: FastifyRequest) => boolean
}

/** What every forwarded request shares. */
interface Forwarding {
  pool: Pool
  slots: UpstreamSlots
  host: string
  options: ForwardOptions
}

const noop = (): void => {}
const upstreamBusy = (): GateError => new GateError('PORTVAKT_ERR_UPSTREAM_BUSY', 'every connection to the upstream stayed busy for PORTVAKT_UPSTREAM_QUEUE_TIMEOUT; try again shortly')

/** One request's way through: its connection, whether it is done, and whether we answered it ourselves. */
interface Turn {
  controller: Dispatcher.DispatchController | undefined
  /** the upstream's answer is complete or failed; the connection is given back */
  finish: () => void
  finished: boolean
  /** we answered (408, 503): nothing of the upstream's goes out */
  answered: boolean
}

// Made only when needed: an Error per request would cost a stack trace on every request.
function gone (): Error {
  return new Error('the client closed the connection')
}

/** Send one request with its body on a connection already taken; `turn.finish` gives it back. */
function dispatch (f: Forwarding, request: FastifyRequest, reply: FastifyReply, headers: Record<string, string | string[]>, body: RequestBody, turn: Turn): void {
  const req: IncomingMessage = request.raw
  const res: ServerResponse = reply.raw
  f.pool.dispatch({
    method: req.method as Dispatcher.HttpMethod,
    path: req.url ?? '/',
    headers,
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

/** Forward one request; answers through `reply` until the upstream's head arrives, then on the raw socket. */
function forwardOne (f: Forwarding, request: FastifyRequest, reply: FastifyReply): void {
  const req: IncomingMessage = request.raw
  const res: ServerResponse = reply.raw
  const headers = toUpstreamRequestHeaders(req.headers, {
    claims: request.portvakt?.claims,
    remoteAddress: req.socket.remoteAddress,
    host: req.headers.host,
    forwardToken: f.options.forwardToken
  }) as Record<string, string | string[]>
  headers.host = f.host
  let streamed = false
  let cancelWait = noop
  const turn: Turn = {
    controller: undefined,
    finished: false,
    answered: false,
    finish: () => {
      if (turn.finished) return
      turn.finished = true
      f.slots.give(streamed)
    }
  }
  const answer = (err: GateError): void => {
    cancelWait()
    if (turn.answered || res.headersSent || reply.sent || res.destroyed) return
    turn.answered = true
    f.options.onUpstreamError(request, reply, err)
  }
  // The client went away before the answer was complete: stop waiting, and stop the upstream request too.
  res.on('close', () => {
    cancelWait()
    if (!turn.finished) turn.controller?.abort(gone())
  })
  readBody(req, res, f.options.limits, {
    ready: (body) => {
      streamed = body.kind === 'stream'
      // A chunked body read whole goes on with its length; a bodiless request with none at all.
      if (body.kind === 'none') delete headers['content-length']
      else if (body.kind === 'buffered') headers['content-length'] = String(body.bytes.length)
      cancelWait = f.slots.take(streamed, () => {
        cancelWait = noop
        dispatch(f, request, reply, headers, body, turn)
      }, () => {
        if (body.kind === 'stream') body.stream.destroy()
        answer(upstreamBusy())
      })
    },
    slow: () => {
      answer(bodyTooSlow())
      // A streamed body cut short: the upstream sees its request end unfinished.
      if (!turn.finished) turn.controller?.abort(bodyTooSlow())
    },
    // The client left before its body was in: nothing was sent on, and no one is left to answer.
    failed: noop
  })
}

/** Register the catch-all forwarding routes on `app` (its own encapsulated context). */
export async function registerForwarding (app: FastifyInstance, options: ForwardOptions): Promise<void> {
  const upstream = new URL(options.upstream)
  const pool = new Pool(upstream.origin, {
    connections: options.pool.connections,
    pipelining: 1,
    keepAliveTimeout: 4_000,
    headersTimeout: options.upstreamTimeoutMs,
    bodyTimeout: options.upstreamTimeoutMs
  })
  const f: Forwarding = { pool, slots: new UpstreamSlots(options.pool), host: upstream.host, options }
  await app.register(async (scope) => {
    // Bodies are read here: the server base registers no parser (http/server-base.ts).
    scope.addHook('onClose', async () => { await pool.close() })
    // A callback handler (not async): the reply is sent later, by forwardOne.
    const handler = (request: FastifyRequest, reply: FastifyReply): void => { forwardOne(f, request, reply) }
    // The methods a route may list; others never reach forwarding (405).
    scope.route({ method: [...METHODS], url: '/', handler })
    scope.route({ method: [...METHODS], url: '/*', handler })
  })
}
