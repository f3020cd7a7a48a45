/**
 * Traces, as the rest of portvakt sees them: a server span per request a listener read, client
 * spans for the calls it makes on the request's behalf (the upstream, an egress target, a token
 * fetch) and on its own (JWKS, issuer metadata). These are portvakt's own types: the OpenTelemetry
 * SDK behind them (tracing-sdk.ts, tracing-spans.ts) is loaded only when tracing is on, so with it
 * off nothing of it is loaded or run, and a listener's only cost is a null check.
 */
import type { IncomingMessage } from 'node:http'
import type { FastifyRequest } from 'fastify'
import type { TracingSettings } from '../config/tracing-env.js'
import type { Logger } from './log.js'

/** What a client span calls: portvakt.call on the span. */
export type CallKind = 'upstream' | 'egress' | 'token' | 'jwks' | 'metadata'

/** How a request was answered, for its span: never a token, nor anything of one beyond the claims named here. */
export interface RequestOutcome {
  status: number
  /** http.route: the route's path as the table writes it (gate), /<name> (egress) */
  route?: string | undefined
  /** the route's id (`GET,HEAD /api`), for portvakt.route */
  routeId?: string | undefined
  outcome?: string | undefined
  /** PORTVAKT_ERR_* when refused */
  code?: string | undefined
  reason?: string | undefined
  /** the consumer's orgno and client_id, from the verified token */
  consumer?: string | undefined
  clientId?: string | undefined
  /** a delegated token's supplier orgno; a system user's organisation and system (ids, never the token) */
  supplier?: string | undefined
  systemUserOrg?: string | undefined
  systemId?: string | undefined
  /** the client's address as the access line records it (PORTVAKT_TRUSTED_HOPS) */
  clientAddress?: string | undefined
  /** the scheme the client used (X-Forwarded-Proto from a trusted proxy), http by default */
  scheme?: string | undefined
  egress?: string | undefined
}

/** A client span under way. */
export interface CallSpan {
  /** the response head is in */
  respond: (status: number) => void
  /** the call failed: `errorType` is our code (PORTVAKT_ERR_*) or the error's */
  fail: (errorType: string) => void
  end: () => void
}

/** A request's server span. */
export interface RequestSpan {
  /** for the access line: trace_id and span_id, as the OpenTelemetry Java agent names them for logback's MDC */
  readonly traceId: string
  readonly spanId: string
  /**
   * A client span for a call made for this request; the trace headers (traceparent, tracestate,
   * baggage) of that span are written into `headers`, replacing any the client sent.
   */
  startCall: (call: CallKind, method: string, url: string, headers: Record<string, unknown>, resendCount?: number) => CallSpan
  /** The answer is out: name, attributes and status set, the span ended. */
  end: (outcome: RequestOutcome) => void
}

/** Tracing, on. */
export interface Tracing {
  /** The server span of a request, its parent the trace headers it came with (per the sampler). */
  startRequest: (req: IncomingMessage) => RequestSpan
  /** A fetch whose calls are client spans: children of the request `runWithin` names, or roots. */
  traceFetch: (fetchImpl: typeof fetch, call: CallKind) => typeof fetch
  /** Run `fn` with `span` as the parent of traceFetch's spans started in it (and what it awaits). */
  runWithin: <T>(span: RequestSpan, fn: () => T) => T
  /** Spans never exported so far, by reason: queue_full (the export queue was full), export_failed. */
  dropped: () => Readonly<Record<string, number>>
  /** Export what is queued, within `timeoutMs`, and stop. */
  shutdown: (timeoutMs: number) => Promise<void>
}

declare module 'fastify' {
  interface FastifyRequest {
    /** the request's server span while tracing is on; null otherwise */
    span: RequestSpan | null
  }
}

/**
 * What starts each request's span, for the server base's onRequestStart; undefined when tracing is
 * off. The server decorates its requests with `span: null` for it.
 */
export function spanStarter (tracing: Tracing | undefined): ((request: FastifyRequest) => void) | undefined {
  return tracing === undefined ? undefined : (request) => { request.span = tracing.startRequest(request.raw) }
}

/** Start tracing when it is configured; undefined (nothing loaded) when it is off. */
export async function startTracing (settings: TracingSettings | undefined, logger: Logger): Promise<Tracing | undefined> {
  if (settings === undefined) return undefined
  const { createTracing } = await import('./tracing-sdk.js')
  return await createTracing(settings, logger)
}
