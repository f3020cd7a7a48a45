/**
 * The gate's listener: the shared server shape (http/server-base.ts) plus the gate's own road, the
 * decision (decide.ts) in an onRequest hook and forwarding to the upstream (proxy/forward.ts), with
 * its access line and metrics record (access.ts). It never listens (lifecycle.ts does).
 */
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify'
import type { AltinnDecider } from '../altinn/decide.js'
import type { TokenVerifier } from '../auth/verify.js'
import type { RouteTable } from '../config/routes.js'
import { GateError } from '../http/errors.js'
import { deriveLimits, type ServerLimits } from '../http/limits.js'
import { createServerBase, type ServerBase } from '../http/server-base.js'
import type { Logger } from '../observe/log.js'
import { spanStarter, type Tracing } from '../observe/tracing.js'
import type { RequestRecord } from '../observe/metrics.js'
import { registerForwarding } from '../proxy/forward.js'
import { DEFAULT_POOL, type SlotLimits } from '../proxy/slots.js'
import { gateRoad, newState } from './access.js'
import { decide, type Decision } from './decide.js'

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
