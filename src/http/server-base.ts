/**
 * The server shape every listener builds on (STYLE §17): the gate (gate/server.ts), the egress
 * side (egress/server.ts) and the admin listener (admin/server.ts) each add only their own road. Here, once for both: Fastify's options and
 * the listener limits (limits.ts), bodies passed through unparsed, CONNECT and what Node's parser
 * refuses answered in our error format (client-error.ts), the Host header checked (host.ts), 404/405 and Fastify's own errors in our
 * format, the one way a refusal is answered and logged, and an access line for every answer, for
 * requests Fastify read and for those it never saw. A fix here is a fix in all three.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
// pino's type, not observe/log.ts's re-export: the logger is handed in, and observe/ sits above http/.
import type { Logger } from 'pino'
import { answerClientError, connectTargetForLog, refuseConnect } from './client-error.js'
import { GateError, isOurFailure, toErrorResponse } from './errors.js'
import { capConnections } from './connection-cap.js'
import { checkHost } from './host.js'
import type { ServerLimits } from './limits.js'
import { arrivedOnClosingConnection, settleConnection } from './linger.js'

/** A request Fastify never saw: a CONNECT, or a head Node's parser refused. */
export interface UnreadRequest {
  /** the method and target, when the parser got that far (a CONNECT); never for a refused head */
  method: string | undefined
  path: string | undefined
  /** when the request began is not known for a refused head */
  ms: number | undefined
  /** the socket's peer */
  address: string | undefined
}

/** What one side adds to the base: its bookkeeping of refusals and its access line. */
export interface ServerRoad {
  /** A refusal is about to be answered: note it on the request's state; returns the fields that name where it happened, for an error line. */
  onRefusal: (request: FastifyRequest, err: GateError) => Record<string, unknown>
  /** The answer to a request Fastify read is out: its access line and record. */
  onAnswered: (request: FastifyRequest, reply: FastifyReply) => void
  /** A request Fastify never saw was refused: its access line and record. */
  onUnread: (refusal: GateError, request: UnreadRequest) => void
}

/** What the base is built from. */
export interface ServerBaseOptions {
  logger: Logger
  limits: ServerLimits
  road: ServerRoad
  /** the refusal for a method and path no route of the road takes; a 405 by default (the gate and egress route every path) */
  notFound?: (request: FastifyRequest) => GateError
  /** told first of every request Fastify reads, before any check (the roads start its trace span here) */
  onRequestStart?: ((request: FastifyRequest) => void) | undefined
}

/** A server with the shared shape, not listening yet. */
export interface ServerBase {
  app: FastifyInstance
  /** Answer `err` in our error format: the one place a refusal becomes a response on a reply. */
  refuse: (request: FastifyRequest, reply: FastifyReply, err: GateError) => FastifyReply
}

/** The request's path as an access line shows it: without the query, which may carry anything. */
export function accessPath (request: FastifyRequest): string {
  const url = request.raw.url ?? ''
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

/** Milliseconds to two decimals, as access lines give them. */
export function roundMs (ms: number): number {
  return Math.round(ms * 100) / 100
}

/** Fastify's own errors (a body it could not read, a bug of ours) as our refusals. */
function toRefusal (error: { statusCode?: number, message: string }): GateError {
  if (error instanceof GateError) return error
  const status = error.statusCode ?? 500
  if (status === 431) return new GateError('PORTVAKT_ERR_HEADERS_TOO_LARGE', 'the request headers are too large')
  if (status >= 400 && status < 500) return new GateError('PORTVAKT_ERR_MALFORMED_REQUEST', 'the request could not be read', { cause: error })
  return new GateError('PORTVAKT_ERR_INTERNAL', 'something went wrong in portvakt', { cause: error })
}

function createFastify (options: ServerBaseOptions, onUnread: ServerRoad['onUnread'], refuse: ServerBase['refuse']): FastifyInstance {
  const { limits } = options
  return Fastify({
    // requireHostHeader off: Node's own 400 for a missing Host has no body; checkHost answers it in our format.
    http: { maxHeaderSize: limits.maxHeaderBytes, headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: limits.checkIntervalMs, requireHostHeader: false },
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.idleSocketTimeoutMs,
    clientErrorHandler: (err, socket) => {
      // Read before the answer closes the socket: a closed one no longer knows its peer.
      const address = (socket as Socket).remoteAddress
      const refusal = answerClientError(err, socket)
      if (refusal !== undefined) onUnread(refusal, { method: undefined, path: undefined, ms: undefined, address })
    },
    loggerInstance: options.logger as FastifyBaseLogger,
    // Each side writes one access line per request; Fastify's two default lines would double the cost.
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify makes a pino child per request for request.log, which portvakt never uses.
    childLoggerFactory: (logger) => logger,
    // The whole path is a wildcard parameter; the default 100-character cap would 404 long paths.
    routerOptions: { maxParamLength: 65_536 },
    requestIdHeader: false,
    return503OnClosing: true,
    // The router refuses a malformed percent-encoding before any hook runs; answer in our format.
    frameworkErrors: (error, request, reply) => {
      refuse(request, reply, error.code === 'FST_ERR_BAD_URL'
        ? new GateError('PORTVAKT_ERR_BAD_PATH', 'the request target could not be read (malformed percent-encoding)', { cause: error })
        : new GateError('PORTVAKT_ERR_MALFORMED_REQUEST', 'the request could not be read', { cause: error }))
    }
  })
}

/** `Expect` other than `100-continue` alone: refused (RFC 9110 §10.1.1), before any road reads the request. */
function checkExpect (req: IncomingMessage): GateError | undefined {
  const expect = req.headers.expect
  if (expect === undefined || expect.trim().toLowerCase() === '100-continue') return undefined
  return new GateError('PORTVAKT_ERR_EXPECTATION_FAILED', 'Expect other than 100-continue is not supported (RFC 9110 §10.1.1); send the request without it')
}

/** Build a server with the shared shape; the caller adds its routes and hooks, then listens. */
export function createServerBase (options: ServerBaseOptions): ServerBase {
  const { logger: log, road, limits } = options
  const refuse = (request: FastifyRequest, reply: FastifyReply, err: GateError): FastifyReply => {
    const where = road.onRefusal(request, err)
    if (isOurFailure(err)) log.error({ code: err.code, ...where, err: err.cause ?? err }, err.message)
    const response = toErrorResponse(err)
    // A body still coming is not read on (http/linger.ts): the connection closes after the answer.
    if (settleConnection(request.raw, reply.raw, limits, response.headers.connection === 'close')) response.headers.connection = 'close'
    return reply.code(response.status).headers(response.headers).send(response.body)
  }
  const app = createFastify(options, road.onUnread, refuse)
  capConnections(app.server, limits.maxConnections, log)
  // Node answers `Expect: 100-continue` itself, before any check, unless someone listens here: then
  // the request goes on as any other, and 100 Continue is sent only when its body is read
  // (http/body.ts), so a refused client never sends its body (RFC 9110 §10.1.1).
  app.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => { app.server.emit('request', req, res) })
  // Any other Expect: Node answers 417 itself (no body of ours, no access line) and then reads the
  // body for as long as it comes. Handed to the normal road instead, it is refused in our format
  // below and the connection closes with the linger (https://nodejs.org/api/http.html#event-checkexpectation).
  app.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => { app.server.emit('request', req, res) })
  // Bodies are the road's to stream (or hold): Fastify neither parses nor limits them.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => { done(null, payload) })
  // Registered only when given: with tracing off a request pays nothing for it.
  const { onRequestStart } = options
  if (onRequestStart !== undefined) {
    app.addHook('onRequest', (request, _reply, done) => {
      onRequestStart(request)
      done()
    })
  }
  // First of the checks: a Host that is missing, repeated or not host[:port] is refused
  // before either side's road looks at the request.
  app.addHook('onRequest', (request, reply, done) => {
    // Pipelined behind an answer after which this connection closes: never served (RFC 9112 §9.6).
    if (arrivedOnClosingConnection(request.raw)) {
      reply.hijack()
      return
    }
    const refusal = checkHost(request.raw) ?? checkExpect(request.raw)
    if (refusal === undefined) done()
    else refuse(request, reply, refusal)
  })
  app.addHook('onResponse', (request, reply, done) => {
    road.onAnswered(request, reply)
    done()
  })
  // Node hands CONNECT to the server's 'connect' listeners, never to Fastify: refused here, with an
  // access line like any refusal.
  app.server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    const started = performance.now()
    const address = req.socket.remoteAddress
    const refusal = refuseConnect(socket)
    road.onUnread(refusal, { method: req.method, path: connectTargetForLog(req.url), ms: performance.now() - started, address })
  })
  const notFound = options.notFound ?? ((request: FastifyRequest) => new GateError('PORTVAKT_ERR_METHOD_NOT_ALLOWED', `${request.method} is not forwarded`))
  app.setNotFoundHandler((request, reply) => { refuse(request, reply, notFound(request)) })
  app.setErrorHandler((error: { statusCode?: number, message: string }, request, reply) => { refuse(request, reply, toRefusal(error)) })
  return { app, refuse }
}
