/**
 * One outbound call to an egress target through an undici Dispatcher (a plain Agent, or an
 * EnvHttpProxyAgent for the on-premises webproxy): raw bytes both ways, no redirects followed, no
 * decompression, hop-by-hop headers dropped (RFC 9110 §7.6.1) and the app's Authorization replaced.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Dispatcher } from 'undici'
import type { RequestBody } from '../http/body.js'
import type { GateError } from '../http/errors.js'
import { copyEndToEnd, toUpstreamResponseHeaders } from '../proxy/hop-by-hop.js'
import { toUpstreamError } from '../proxy/upstream-error.js'

// Besides hop-by-hop headers (the gate's rule, proxy/hop-by-hop.ts), the ones this hop sets itself.
const SET_HERE = new Set(['host', 'authorization'])
const isSetHere = (name: string): boolean => SET_HERE.has(name)

/** The headers the target receives: the app's, minus hop-by-hop, with our Bearer token. */
export function buildOutboundHeaders (headers: IncomingHttpHeaders, token: string): Record<string, string | string[]> {
  const out = copyEndToEnd(headers, isSetHere) as Record<string, string | string[]>
  out.authorization = `Bearer ${token}`
  return out
}

/** The headers the app receives back: the target's, minus hop-by-hop. */
export function buildReturnHeaders (headers: IncomingHttpHeaders): Record<string, string | string[]> {
  return toUpstreamResponseHeaders(headers) as Record<string, string | string[]>
}

/** A request body as we can send it: nothing, bytes we hold (replayable), or a one-shot stream. */
export type OutboundBody = RequestBody

/** One outbound request. */
export interface OutboundRequest {
  /** scheme, host and port of the target */
  origin: string
  /** the path and query exactly as sent on the wire */
  path: string
  method: string
  headers: Record<string, string | string[]>
  body: OutboundBody
  timeoutMs: number
}

/** An undici failure calling an egress target as our refusal (504 when it took too long, else 502). */
export function toOutboundError (err: unknown): GateError {
  return toUpstreamError(err, 'the egress target')
}

/** Send one request; resolves with the target's status, headers and a body stream. */
export async function sendOutbound (dispatcher: Dispatcher, request: OutboundRequest): Promise<Dispatcher.ResponseData> {
  const { body } = request
  try {
    return await dispatcher.request({
      origin: request.origin,
      path: request.path,
      method: request.method as Dispatcher.HttpMethod,
      headers: request.headers,
      body: body.kind === 'none' ? null : body.kind === 'buffered' ? body.bytes : body.stream,
      headersTimeout: request.timeoutMs,
      bodyTimeout: request.timeoutMs
    })
  } catch (err) {
    throw toOutboundError(err)
  }
}
