/**
 * buildServer: wires the gate, forwarding and the access log into one Fastify instance. It holds no
 * decisions of its own (those are in gate.ts) and never listens (main.ts does).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { GateError, toErrorResponse, type Outcome, type TokenRejection } from './auth/errors.js'
import type { Claims, TokenVerifier } from './auth/token.js'
import type { Route, RouteTable } from './config/routes.js'
import { decide } from './gate.js'
import type { Logger } from './log.js'
import { registerForwarding } from './proxy/forward.js'

/** Per-request state the gate leaves for forwarding and the access log. */
export interface RequestState {
  route: Route | undefined
  claims: Claims | undefined
  outcome: Outcome
  reason: TokenRejection | undefined
  code: string | undefined
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
}

function sendError (request: FastifyRequest, reply: FastifyReply, err: GateError, log: Logger): FastifyReply {
  const state = request.portvakt
  if (state !== null) {
    state.outcome = err.outcome
    state.reason = err.reason
    state.code = err.code
  }
  if (err.status >= 500) log.error({ code: err.code, route: state?.route?.id, err: err.cause ?? err }, err.message)
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

/** Build the proxy server (not listening). */
export async function buildServer (options: ServerOptions): Promise<FastifyInstance> {
  const log = options.logger
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // One access line per request is written below; Fastify's two default lines would double the cost.
    logController: new LogController({ disableRequestLogging: true }),
    // The whole path is a wildcard parameter; the default 100-character cap would 404 long paths.
    routerOptions: { maxParamLength: 65_536 },
    requestIdHeader: false,
    return503OnClosing: true
  })
  app.decorateRequest('portvakt', null)

  app.addHook('onRequest', async (request, reply) => {
    const state: RequestState = { route: undefined, claims: undefined, outcome: 'allowed', reason: undefined, code: undefined }
    request.portvakt = state
    try {
      const decision = await decide(request.raw as Parameters<typeof decide>[0], options.routes(), options.verify, (route) => { state.route = route })
      state.claims = decision.claims
      state.outcome = decision.route.public ? 'public' : 'allowed'
    } catch (err) {
      const gateError = err instanceof GateError ? err : new GateError('PORTVAKT_ERR_INTERNAL', 'the request could not be checked', { cause: err })
      return sendError(request, reply, gateError, log)
    }
  })

  // The access line holds only fields we build (never a header or a token), so it skips the redaction
  // pass, which costs about as much as the rest of the line (measured in bench/, issue 6).
  const accessLog = log.child({}, { redact: { paths: [] } })
  app.addHook('onResponse', async (request, reply) => { logAccess(request, reply, accessLog) })

  app.setNotFoundHandler((request, reply) => {
    sendError(request, reply, new GateError('PORTVAKT_ERR_METHOD_NOT_ALLOWED', `${request.method} is not forwarded`), log)
  })

  app.setErrorHandler((error: { statusCode?: number, code?: string, message: string }, request, reply) => {
    const status = error.statusCode ?? 500
    const err = status === 431
      ? new GateError('PORTVAKT_ERR_HEADERS_TOO_LARGE', 'the request headers are too large')
      : status >= 400 && status < 500
        ? new GateError('PORTVAKT_ERR_BAD_REQUEST', 'the request could not be read', { cause: error })
        : new GateError('PORTVAKT_ERR_INTERNAL', 'something went wrong in portvakt', { cause: error })
    sendError(request, reply, err, log)
  })

  await registerForwarding(app, {
    upstream: options.upstream,
    upstreamTimeoutMs: options.upstreamTimeoutMs,
    forwardToken: options.forwardToken,
    onUpstreamError: (request, reply, err) => { sendError(request, reply, err, log) }
  })
  return app
}
