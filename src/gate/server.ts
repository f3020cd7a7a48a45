/**
 * The gate's listener: the shared server shape (http/server-base.ts) plus the gate's own road, the
 * decision (decide.ts) in an onRequest hook and forwarding to the upstream (proxy/forward.ts), with
 * its access line and metrics record. It never listens (start.ts does).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import type { AltinnDecider, AltinnOutcome } from '../altinn/decide.js'
import type { Claims } from '../auth/claims.js'
import type { TokenVerifier } from '../auth/verify.js'
import type { Route, RouteTable } from '../config/routes.js'
import { GateError, type Outcome, type TokenRejection } from '../http/errors.js'
import { deriveLimits, type ServerLimits } from '../http/limits.js'
import { accessPath, createServerBase, roundMs, type ServerBase, type ServerRoad } from '../http/server-base.js'
import type { Logger } from '../observe/log.js'
import { spanStarter, type RequestSpan, type Tracing } from '../observe/tracing.js'
import type { RequestRecord } from '../observe/metrics.js'
import { registerForwarding } from '../proxy/forward.js'
import { clientAddress } from '../proxy/forwarded-for.js'
import { DEFAULT_POOL, type SlotLimits } from '../proxy/slots.js'
import { decide, type Decision } from './decide.js'

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
  altinn: AltinnOutcome | undefined
  altinnCached: boolean | undefined
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
  /** other gateways' headers let through to the upstream, each in its one spelling (PORTVAKT_PASS_HEADERS); none by default */
  passHeaders?: readonly string[]
  /** PORTVAKT_TRUSTED_HOPS: proxies in front whose forwarding headers are passed on and read for the client's address; 0 by default */
  trustedHops?: number
  /** the route table in force (a function, so a reload can swap it atomically) */
  routes: () => RouteTable
  verify: TokenVerifier
  /** decides routes' `altinn` questions; undefined when PORTVAKT_ALTINN_URL is unset */
  altinn?: AltinnDecider | undefined
  logger: Logger
  /** told of every finished request (metrics) */
  onRequestDone?: (record: RequestRecord) => void
  /** true once shutdown has begun: responses then close their connection */
  draining?: () => boolean
  /** the listener limits (PORTVAKT_BODY_*, PORTVAKT_MAX_CONNECTIONS; tests tighten others); see http/limits.ts for the defaults and why */
  limits?: Partial<ServerLimits>
  /** the upstream pool (PORTVAKT_UPSTREAM_CONNECTIONS, _STREAMS, _QUEUE_TIMEOUT) */
  pool?: SlotLimits
  /** on: a server span per request, a client span for the upstream call (observe/tracing.ts) */
  tracing?: Tracing | undefined
}

function newState (): RequestState {
  return { route: undefined, claims: undefined, outcome: 'allowed', reason: undefined, code: undefined, forwardedAt: undefined, upstreamMs: undefined, altinn: undefined, altinnCached: undefined }
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

/** End a request's server span with what the gate decided (never a token: the claims named here only). */
function endSpan (span: RequestSpan, request: FastifyRequest, reply: FastifyReply, address: string | undefined, hops: number): void {
  const state = request.portvakt
  // The scheme the client used, as a trusted proxy in front reports it; this hop's otherwise.
  const proto = hops > 0 ? request.raw.headers['x-forwarded-proto'] : undefined
  span.end({
    status: reply.statusCode,
    route: state?.route?.path,
    routeId: state?.route?.id,
    outcome: state?.outcome,
    code: state?.code,
    reason: state?.reason,
    consumer: state?.claims?.orgno,
    clientId: state?.claims?.clientId,
    supplier: state?.claims?.supplier,
    systemUserOrg: state?.claims?.systemUser?.org,
    systemId: state?.claims?.systemUser?.systemId,
    clientAddress: address,
    scheme: proto === 'https' || proto === 'http' ? proto : 'http'
  })
}

/** The gate's access lines and records, for the shared server shape. */
function gateRoad (options: ServerOptions): ServerRoad {
  // The access line holds only fields we build (never a header or a token), so it skips the
  // redaction pass, which costs about as much as the rest of the line (bench/README.md).
  const accessLog = options.logger.child({}, { redact: { paths: [] } })
  const hops = options.trustedHops ?? 0
  return {
    onRefusal: (request, err) => {
      // A request refused before the decision ran (by the router, or the base's Host check) has no
      // state yet: it gets one, so its access line and metrics say what it was refused for.
      const state = request.portvakt ?? (request.portvakt = newState())
      state.outcome = err.outcome
      state.reason = err.reason
      state.code = err.code
      return { route: state.route?.id }
    },
    onAnswered: (request, reply) => {
      const state = request.portvakt
      const raw = request.raw
      const address = clientAddress(raw.socket.remoteAddress, raw.headers['x-forwarded-for'], hops)
      const span = request.span
      if (span !== null) endSpan(span, request, reply, address, hops)
      accessLog.info({
        method: request.method,
        path: accessPath(request),
        route: state?.route?.id,
        status: reply.statusCode,
        consumer: state?.claims?.orgno,
        supplier: state?.claims?.supplier,
        systemuser_org: state?.claims?.systemUser?.org,
        altinn: state?.altinn,
        altinn_cached: state?.altinnCached,
        outcome: state?.outcome,
        reason: state?.reason,
        code: state?.code,
        ms: roundMs(reply.elapsedTime),
        clientAddress: address,
        trace_id: span?.traceId,
        span_id: span?.spanId
      }, 'access')
      options.onRequestDone?.(recordOf(request, reply))
    },
    onUnread: (refusal, { method, path, ms, address }) => {
      accessLog.info({ method, path, status: refusal.status, outcome: refusal.outcome, code: refusal.code, ms: ms === undefined ? undefined : roundMs(ms), clientAddress: address }, 'access')
      options.onRequestDone?.({ route: undefined, method: method ?? '', status: refusal.status, outcome: refusal.outcome, reason: undefined, code: refusal.code, seconds: (ms ?? 0) / 1000, upstreamSeconds: undefined })
    }
  }
}

/**
 * The onRequest hook that runs the decision: the request goes on to forwarding, or is answered here.
 * Callback-style: a cached token is decided without a promise (decide.ts), so a warm request costs
 * no microtask round trips here either.
 */
function decisionHook (options: ServerOptions, refuse: ServerBase['refuse']): onRequestHookHandler {
  return (request, reply, done) => {
    const state = newState()
    request.portvakt = state
    const admit = (decision: Decision): void => {
      state.claims = decision.claims
      state.outcome = decision.route.public ? 'public' : 'allowed'
      state.forwardedAt = performance.now()
      done()
    }
    // A refused request is answered here and goes no further (done is not called).
    const deny = (err: unknown): void => {
      refuse(request, reply, err instanceof GateError ? err : new GateError('PORTVAKT_ERR_INTERNAL', 'the request could not be checked', { cause: err }))
    }
    let decision: Decision | Promise<Decision>
    try {
      decision = decide(request.raw as Parameters<typeof decide>[0], options.routes(), options.verify, state, options.altinn)
    } catch (err) {
      deny(err)
      return
    }
    if (decision instanceof Promise) {
      // A throw from done() or from answering must not become an unhandled rejection (the process would end).
      decision.then(admit, deny).catch((err: unknown) => {
        if (reply.sent) options.logger.error({ err }, 'the request failed after its answer was sent')
        else deny(err)
      })
    } else {
      admit(decision)
    }
  }
}

/** Build the gate's server (not listening). */
export async function buildServer (options: ServerOptions): Promise<FastifyInstance> {
  const limits = deriveLimits(options.upstreamTimeoutMs, options.limits)
  const { app, refuse } = createServerBase({ logger: options.logger, limits, road: gateRoad(options), onRequestStart: spanStarter(options.tracing) })
  app.decorateRequest('portvakt', null)
  app.decorateRequest('span', null)

  app.addHook('onRequest', decisionHook(options, refuse))

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

  await registerForwarding(app, {
    upstream: options.upstream,
    upstreamTimeoutMs: options.upstreamTimeoutMs,
    forwardToken: options.forwardToken,
    passHeaders: options.passHeaders ?? [],
    trustedHops: options.trustedHops,
    limits,
    pool: options.pool ?? DEFAULT_POOL,
    onUpstreamError: refuse,
    onUpstreamHead: onResponseHead
  })
  return app
}
