/**
 * buildServer: wires the gate, forwarding and the access log into one Fastify instance. It holds no
 * decisions of its own (those are in decide.ts) and never listens (main.ts does).
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { GateError, isOurFailure, toErrorResponse, type Outcome, type TokenRejection } from '../http/errors.js'
import type { Claims, TokenVerifier } from '../auth/verify.js'
import type { Route, RouteTable } from '../config/routes.js'
import { decide, type Decision } from './decide.js'
import type { Logger } from '../observe/log.js'
import { answerClientError, connectTargetForLog, refuseConnect } from '../http/client-error.js'
import { deriveLimits, type ServerLimits } from '../http/limits.js'
import type { RequestRecord } from '../observe/metrics.js'
import { registerForwarding } from '../proxy/forward.js'

/** Per-request state the gate leaves for forwarding and the access log. */
export interface RequestState {
  route: Route | undefined
  claims: Claims | undefined
  outcome: Outcome
  reason: TokenRejection | undefined
  code: string | undefined
  /** performance.now() when the gate let the request through; for the upstream timing */
  forwardedAt: number | undefined
  /** ms from forwarding to the upstream's response head (or its failure) */
  upstreamMs: number | undefined
}

declare module 'fastify' {
  interface FastifyRequest {
    portvakt: RequestState | null
  }
}

/** What the server is built from; everything is passed in, nothing read from the process. */
export interface ServerOptions {
  upstream: string
  upstreamTimeoutMs: number
  forwardToken: boolean
  /** the route table in force (a function, so a reload can swap it atomically) */
  routes: () => RouteTable
  verify: TokenVerifier
  logger: Logger
  /** told of every finished request (metrics) */
  onRequestDone?: (record: RequestRecord) => void
  /** true once shutdown has begun: responses then close their connection */
  draining?: () => boolean
  /** overrides for the listener limits (tests); see http/limits.ts for the defaults and why */
  limits?: Partial<ServerLimits>
}

function sendError (request: FastifyRequest, reply: FastifyReply, err: GateError, log: Logger): FastifyReply {
  const state = request.portvakt
  if (state !== null) {
    state.outcome = err.outcome
    state.reason = err.reason
    state.code = err.code
  }
  if (isOurFailure(err)) log.error({ code: err.code, route: state?.route?.id, err: err.cause ?? err }, err.message)
  const response = toErrorResponse(err)
  return reply.code(response.status).headers(response.headers).send(response.body)
}

function logAccess (request: FastifyRequest, reply: FastifyReply, log: Logger): void {
  const state = request.portvakt
  const url = request.raw.url ?? ''
  const q = url.indexOf('?')
  log.info({
    method: request.method,
    path: q === -1 ? url : url.slice(0, q),
    route: state?.route?.id,
    status: reply.statusCode,
    consumer: state?.claims?.orgno,
    outcome: state?.outcome,
    reason: state?.reason,
    code: state?.code,
    ms: Math.round(reply.elapsedTime * 100) / 100
  }, 'access')
}

function recordOf (request: FastifyRequest, reply: FastifyReply): RequestRecord {
  const state = request.portvakt
  return {
    route: state?.route?.id,
    method: request.method,
    status: reply.statusCode,
    outcome: state?.outcome ?? 'internal_error',
    reason: state?.reason,
    code: state?.code,
    seconds: reply.elapsedTime / 1000,
    upstreamSeconds: state?.upstreamMs === undefined ? undefined : state.upstreamMs / 1000
  }
}

/** Build the proxy server (not listening). */
export async function buildServer (options: ServerOptions): Promise<FastifyInstance> {
  const log = options.logger
  const limits = deriveLimits(options.upstreamTimeoutMs, options.limits)
  // The access line holds only fields we build (never a header or a token), so it skips the redaction
  // pass, which costs about as much as the rest of the line (measured in bench/, issue 6).
  const accessLog = log.child({}, { redact: { paths: [] } })
  // What never became a Fastify request (a CONNECT, a request Node's parser refused) is logged and
  // counted like any refusal; the method and path only when the parser got that far.
  const logUnread = (refusal: GateError, method: string | undefined, path: string | undefined, ms: number | undefined): void => {
    accessLog.info({ method, path, status: refusal.status, outcome: refusal.outcome, code: refusal.code, ms: ms === undefined ? undefined : Math.round(ms * 100) / 100 }, 'access')
    options.onRequestDone?.({ route: undefined, method: method ?? '', status: refusal.status, outcome: refusal.outcome, reason: undefined, code: refusal.code, seconds: (ms ?? 0) / 1000, upstreamSeconds: undefined })
  }
  const app = Fastify({
    http: { maxHeaderSize: limits.maxHeaderBytes, headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: limits.checkIntervalMs },
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.idleSocketTimeoutMs,
    clientErrorHandler: (err, socket) => {
      const refusal = answerClientError(err, socket)
      // No ms: when the parser gave up is known, when the request began is not.
      if (refusal !== undefined) logUnread(refusal, undefined, undefined, undefined)
    },
    loggerInstance: log as FastifyBaseLogger,
    // One access line per request is written below; Fastify's two default lines would double the cost.
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify makes a pino child per request (~2.5 µs) for request.log, which portvakt never uses.
    childLoggerFactory: (logger) => logger,
    // The whole path is a wildcard parameter; the default 100-character cap would 404 long paths.
    routerOptions: { maxParamLength: 65_536 },
    requestIdHeader: false,
    return503OnClosing: true,
    // The router refuses a malformed percent-encoding before our hooks run; answer in our format.
    frameworkErrors: (error, request, reply) => {
      const refusal = error.code === 'FST_ERR_BAD_URL'
        ? new GateError('PORTVAKT_ERR_BAD_PATH', 'the request target could not be read (malformed percent-encoding)', { cause: error })
        : new GateError('PORTVAKT_ERR_MALFORMED_REQUEST', 'the request could not be read', { cause: error })
      request.portvakt = null // this request skipped the decorator: no route, no state
      sendError(request, reply, refusal, log)
    }
  })
  app.decorateRequest('portvakt', null)

  // Callback-style hooks: a cached token is decided without a promise (decide.ts), so a warm request
  // costs no microtask round trips here either (issue 6).
  app.addHook('onRequest', (request, reply, done) => {
    const state: RequestState = { route: undefined, claims: undefined, outcome: 'allowed', reason: undefined, code: undefined, forwardedAt: undefined, upstreamMs: undefined }
    request.portvakt = state
    const admit = (decision: Decision): void => {
      state.claims = decision.claims
      state.outcome = decision.route.public ? 'public' : 'allowed'
      state.forwardedAt = performance.now()
      done()
    }
    // A refused request is answered here and goes no further (done is not called).
    const refuse = (err: unknown): void => {
      const gateError = err instanceof GateError ? err : new GateError('PORTVAKT_ERR_INTERNAL', 'the request could not be checked', { cause: err })
      sendError(request, reply, gateError, log)
    }
    let decision: Decision | Promise<Decision>
    try {
      decision = decide(request.raw as Parameters<typeof decide>[0], options.routes(), options.verify, (route) => { state.route = route })
    } catch (err) {
      refuse(err)
      return
    }
    if (decision instanceof Promise) {
      // A throw from done() or from answering must not become an unhandled rejection (the process would end).
      decision.then(admit, refuse).catch((err: unknown) => {
        if (reply.sent) log.error({ err }, 'the request failed after its answer was sent')
        else refuse(err)
      })
    } else {
      admit(decision)
    }
  })

  // When the upstream's response head (or its failure) is in: the upstream timing, and while draining
  // Connection: close, to move keep-alive clients off this pod before the listener stops accepting.
  // Forwarded responses are written by the forwarder (no onSend), so it calls this too. True: close.
  const onResponseHead = (request: FastifyRequest): boolean => {
    const state = request.portvakt
    if (state?.forwardedAt !== undefined && state.upstreamMs === undefined) state.upstreamMs = performance.now() - state.forwardedAt
    return options.draining?.() === true
  }
  app.addHook('onSend', (request, reply, payload, done) => {
    if (onResponseHead(request)) void reply.header('connection', 'close')
    done(null, payload)
  })

  app.addHook('onResponse', (request, reply, done) => {
    logAccess(request, reply, accessLog)
    options.onRequestDone?.(recordOf(request, reply))
    done()
  })

  // CONNECT never reaches Fastify (Node emits 'connect' on the server instead): refused here, and
  // logged and counted like any refusal.
  app.server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    const started = performance.now()
    const refusal = refuseConnect(socket)
    logUnread(refusal, req.method, connectTargetForLog(req.url), performance.now() - started)
  })

  app.setNotFoundHandler((request, reply) => {
    sendError(request, reply, new GateError('PORTVAKT_ERR_METHOD_NOT_ALLOWED', `${request.method} is not forwarded`), log)
  })

  app.setErrorHandler((error: { statusCode?: number, code?: string, message: string }, request, reply) => {
    const status = error.statusCode ?? 500
    const err = status === 431
      ? new GateError('PORTVAKT_ERR_HEADERS_TOO_LARGE', 'the request headers are too large')
      : status >= 400 && status < 500
        ? new GateError('PORTVAKT_ERR_MALFORMED_REQUEST', 'the request could not be read', { cause: error })
        : new GateError('PORTVAKT_ERR_INTERNAL', 'something went wrong in portvakt', { cause: error })
    sendError(request, reply, err, log)
  })

  await registerForwarding(app, {
    upstream: options.upstream,
    upstreamTimeoutMs: options.upstreamTimeoutMs,
    forwardToken: options.forwardToken,
    onUpstreamError: (request, reply, err) => { sendError(request, reply, err, log) },
    onUpstreamHead: onResponseHead
  })
  return app
}
