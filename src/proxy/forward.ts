/**
 * Forwarding to the upstream on an undici pool, without @fastify/reply-from: same method, path and
 * query as received, bodies streamed both ways with back-pressure, our header hygiene applied last,
 * no retries. Why not reply-from: its per-request URL building, header copies and Readable wrapping
 * cost more than the auth gate itself (bench/README.md); dispatching straight to the pool and
 * writing the upstream's answer to the socket is the leaner path.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Pool, type Dispatcher } from 'undici'
import { METHODS } from '../config/route-schema.js'
import type { GateError } from '../http/errors.js'
import { createHeaderDrop, toUpstreamRequestHeaders } from './headers.js'
import { toUpstreamResponseHeaders } from './hop-by-hop.js'
import { toUpstreamError } from './upstream-error.js'

/** How to reach the upstream. */
export interface ForwardOptions {
  upstream: string
  upstreamTimeoutMs: number
  forwardToken: boolean
  /** other gateways' headers let through, each in its one spelling (PORTVAKT_PASS_HEADERS) */
  passHeaders: readonly string[]
  /** PORTVAKT_TRUSTED_HOPS: above 0 the proxy in front's X-Forwarded-For, -Proto and -Host are passed on */
  trustedHops?: number
  /** map an upstream failure to a response (set by the server, which owns error responses) */
  onUpstreamError: (request: FastifyRequest, reply: FastifyReply, error: GateError) => void
  /** told when the upstream's head is in, before it is written; true: close the client's connection after it */
  onUpstreamHead?: (request: FastifyRequest) => boolean
}

/** Whether the client sent a body (RFC 9112 §6.3: Transfer-Encoding, or a non-zero Content-Length). */
function hasBody (headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0')
}

/** Forward one request; answers through `reply` until the upstream's head arrives, then on the raw socket. */
function forwardOne (pool: Pool, options: ForwardOptions, drop: (name: string) => boolean, upstream: URL, request: FastifyRequest, reply: FastifyReply): void {
  const req: IncomingMessage = request.raw
  const res: ServerResponse = reply.raw
  const headers = toUpstreamRequestHeaders(req.headers, {
    claims: request.portvakt?.claims,
    remoteAddress: req.socket.remoteAddress,
    host: req.headers.host,
    drop,
    trustForwarded: options.trustedHops !== undefined && options.trustedHops > 0
  })
  headers.host = upstream.host
  // Tracing on: a client span for the call, whose trace headers replace the client's.
  const call = request.span?.startCall('upstream', req.method ?? 'GET', upstream.origin + (req.url ?? '/'), headers)
  const body = hasBody(req.headers) ? req : null
  if (body === null) delete headers['content-length']
  let controller: Dispatcher.DispatchController | undefined
  let finished = false
  // Made only when needed: an Error per request would cost a stack trace on every request.
  const gone = (): Error => new Error('the client closed the connection')
  // The client went away before the answer was complete: stop the upstream request too.
  res.on('close', () => { if (!finished) controller?.abort(gone()) })
  pool.dispatch({
    method: req.method as Dispatcher.HttpMethod,
    path: req.url ?? '/',
    headers: headers as Record<string, string | string[]>,
    body
  }, {
    onRequestStart (c) {
      controller = c
      if (res.destroyed) c.abort(gone())
    },
    onResponseStart (_c, statusCode, upstreamHeaders) {
      // 1xx interim answers (100 Continue) are between the pool and the upstream.
      if (statusCode < 200) return
      call?.respond(statusCode)
      const out = toUpstreamResponseHeaders(upstreamHeaders)
      reply.hijack()
      // Draining (the server says), or an HTTP/1 connection that can't be reused while the request
      // body is unread (reply-from does the same): the client's connection closes after this answer.
      if (options.onUpstreamHead?.(request) === true || (body !== null && !req.complete)) out.connection = 'close'
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
      finished = true
      call?.end()
      res.end()
    },
    onResponseError (_c, error) {
      finished = true
      call?.fail((error as { code?: string }).code ?? error.name)
      call?.end()
      // The client left first (we aborted): there is no one to answer, and the upstream did nothing wrong.
      if (res.destroyed && !res.headersSent) return
      if (!res.headersSent && !reply.sent) {
        // A request body still coming is left unread: a kept-alive connection would stall the
        // client's next request behind it, so close it after this answer.
        if (body !== null && !req.complete) void reply.header('connection', 'close')
        options.onUpstreamError(request, reply, toUpstreamError(error, 'the upstream'))
      } else {
        // Mid-body there is no status left to send: cut the connection so the client sees a truncation.
        res.destroy(error)
      }
    }
  })
}

/** Register the catch-all forwarding routes on `app` (its own encapsulated context). */
export async function registerForwarding (app: FastifyInstance, options: ForwardOptions): Promise<void> {
  const upstream = new URL(options.upstream)
  const drop = createHeaderDrop(options)
  const pool = new Pool(upstream.origin, {
    connections: 128,
    pipelining: 1,
    keepAliveTimeout: 4_000,
    headersTimeout: options.upstreamTimeoutMs,
    bodyTimeout: options.upstreamTimeoutMs
  })
  await app.register(async (scope) => {
    // Bodies stream through untouched: the server base registers no parser (http/server-base.ts).
    scope.addHook('onClose', async () => { await pool.close() })
    // A callback handler (not async): the reply is sent later, by forwardOne.
    const handler = (request: FastifyRequest, reply: FastifyReply): void => { forwardOne(pool, options, drop, upstream, request, reply) }
    // The methods a route may list; others never reach forwarding (405).
    scope.route({ method: [...METHODS], url: '/', handler })
    scope.route({ method: [...METHODS], url: '/*', handler })
  })
}
