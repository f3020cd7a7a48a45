/**
 * What the gate says about each request once it is answered: the access line, the metrics record
 * and the end of its server span, from the state the decision left (RequestState). Never a header
 * or a token, only fields built here.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AltinnOutcome } from '../altinn/decide.js'
import type { Claims } from '../auth/claims.js'
import type { Route } from '../config/routes.js'
import type { Outcome, TokenRejection } from '../http/errors.js'
import { accessPath, roundMs, type ServerRoad } from '../http/server-base.js'
import type { RequestSpan } from '../observe/tracing.js'
import type { RequestRecord } from '../observe/metrics.js'
import { clientAddress } from '../proxy/forwarded-for.js'
import type { ServerOptions } from './server.js'

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

/** A request's state before the gate has decided anything. */
export function newState (): RequestState {
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
export function gateRoad (options: Pick<ServerOptions, 'logger' | 'trustedHops' | 'onRequestDone'>): ServerRoad {
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
