/**
 * The Tracing portvakt's listeners use (tracing.ts), over an OpenTelemetry tracer and propagator.
 * Contexts are passed by hand (extract → span → inject), so no global context manager is
 * registered and nothing else in the process is traced; only the egress side's token fetch, which
 * runs in TokenClient out of sight of the request, finds its parent through an AsyncLocalStorage.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { IncomingMessage } from 'node:http'
import { defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type TextMapPropagator, type TextMapSetter, type Tracer } from '@opentelemetry/api'
import { ATTR_ERROR_TYPE, ATTR_HTTP_RESPONSE_STATUS_CODE } from '@opentelemetry/semantic-conventions'
import type { CallKind, CallSpan, RequestOutcome, RequestSpan, Tracing } from './tracing.js'
import { callAttributes, outcomeAttributes, requestAttributes, requestSpanName, spanMethod } from './tracing-attributes.js'

// The headers the propagators own: a client's copies are replaced by the call span's (or dropped).
const TRACE_HEADERS = ['traceparent', 'tracestate', 'baggage'] as const

const headersSetter: TextMapSetter<Headers> = { set: (carrier, key, value) => { carrier.set(key, value) } }

/** What the spans are made with. */
export interface SpanTools {
  tracer: Tracer
  propagator: TextMapPropagator
}

function callSpan (span: Span): CallSpan {
  return {
    respond: (status) => {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status)
      // For a client span a 4xx is an error too (the conventions' rule).
      if (status >= 400) {
        span.setAttribute(ATTR_ERROR_TYPE, String(status))
        span.setStatus({ code: SpanStatusCode.ERROR })
      }
    },
    fail: (errorType) => {
      span.setAttribute(ATTR_ERROR_TYPE, errorType)
      span.setStatus({ code: SpanStatusCode.ERROR })
    },
    end: () => { span.end() }
  }
}

/** A server span and the context it was extracted from (the parent and its baggage). */
class ServerSpan implements RequestSpan {
  readonly traceId: string
  readonly spanId: string
  /** the span in its parent's context: what a call span is a child of */
  readonly context: Context

  constructor (private readonly tools: SpanTools, private readonly span: Span, parent: Context, private readonly method: string) {
    const ids = span.spanContext()
    this.traceId = ids.traceId
    this.spanId = ids.spanId
    this.context = trace.setSpan(parent, span)
  }

  startCall (call: CallKind, method: string, url: string, headers: Record<string, unknown>, resendCount?: number): CallSpan {
    const child = this.tools.tracer.startSpan(spanMethod(method), { kind: SpanKind.CLIENT, attributes: callAttributes(call, method, url, resendCount) }, this.context)
    for (const name of TRACE_HEADERS) Reflect.deleteProperty(headers, name)
    this.tools.propagator.inject(trace.setSpan(this.context, child), headers, defaultTextMapSetter)
    return callSpan(child)
  }

  end (outcome: RequestOutcome): void {
    const { span } = this
    span.updateName(requestSpanName(this.method, outcome.route))
    span.setAttributes(outcomeAttributes(outcome))
    if (outcome.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
    span.end()
  }
}

/** The URL a fetch was called with. */
function hrefOf (input: string | URL | Request): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
}

/** Tracing over `tools`, with `dropped` and `shutdown` from the SDK's setup (tracing-sdk.ts). */
export function createSpans (tools: SpanTools, dropped: Tracing['dropped'], shutdown: Tracing['shutdown']): Tracing {
  const within = new AsyncLocalStorage<ServerSpan>()
  const { tracer, propagator } = tools
  return {
    startRequest: (req: IncomingMessage) => {
      const parent = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter)
      const method = req.method ?? ''
      const span = tracer.startSpan(spanMethod(method), { kind: SpanKind.SERVER, attributes: requestAttributes(req) }, parent)
      return new ServerSpan(tools, span, parent, method)
    },
    traceFetch: (fetchImpl, call) => (async (input: string | URL | Request, init?: RequestInit) => {
      const method = init?.method ?? 'GET'
      const href = hrefOf(input)
      const parent = within.getStore()?.context ?? ROOT_CONTEXT
      const span = tracer.startSpan(spanMethod(method), { kind: SpanKind.CLIENT, attributes: callAttributes(call, method, href, undefined) }, parent)
      const headers = new Headers(init?.headers)
      for (const name of TRACE_HEADERS) headers.delete(name)
      propagator.inject(trace.setSpan(parent, span), headers, headersSetter)
      const traced = callSpan(span)
      try {
        const response = await fetchImpl(input, { ...init, headers })
        traced.respond(response.status)
        return response
      } catch (err) {
        const e = err as { name?: string, cause?: { code?: string } }
        traced.fail(e.cause?.code ?? e.name ?? 'Error')
        throw err
      } finally {
        traced.end()
      }
    }) as typeof fetch,
    runWithin: (span, fn) => span instanceof ServerSpan ? within.run(span, fn) : fn(),
    dropped,
    shutdown
  }
}
