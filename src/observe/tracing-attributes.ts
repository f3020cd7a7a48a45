/**
 * Span names and attributes after OpenTelemetry's HTTP semantic conventions (stable;
 * https://opentelemetry.io/docs/specs/semconv/http/http-spans/), plus portvakt.* for what only the
 * gate knows. Query values never reach a span (a token can sit in one): each is REDACTED, as the
 * conventions suggest for url.query and url.full.
 */
import type { IncomingMessage } from 'node:http'
import type { Attributes } from '@opentelemetry/api'
import {
  ATTR_CLIENT_ADDRESS, ATTR_ERROR_TYPE, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_REQUEST_METHOD_ORIGINAL, ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_NETWORK_PEER_ADDRESS, ATTR_NETWORK_PEER_PORT, ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, ATTR_URL_FULL, ATTR_URL_PATH, ATTR_URL_QUERY, ATTR_URL_SCHEME, ATTR_USER_AGENT_ORIGINAL
} from '@opentelemetry/semantic-conventions'
import type { CallKind, RequestOutcome } from './tracing.js'

// RFC 9110's methods, PATCH (RFC 5789) and QUERY, as the conventions list them; any other is _OTHER.
const KNOWN_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'QUERY', 'TRACE'])

/** The {method} of a span name: HTTP for a method the conventions do not know. */
export function spanMethod (method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'HTTP'
}

function methodAttributes (method: string): Attributes {
  return KNOWN_METHODS.has(method) ? { [ATTR_HTTP_REQUEST_METHOD]: method } : { [ATTR_HTTP_REQUEST_METHOD]: '_OTHER', [ATTR_HTTP_REQUEST_METHOD_ORIGINAL]: method }
}

/** A query with every value replaced by REDACTED (`a=REDACTED&b`), names kept; without the `?`. */
export function redactQuery (query: string): string {
  return query.split('&').map((pair) => {
    const at = pair.indexOf('=')
    return at === -1 ? pair : `${pair.slice(0, at)}=REDACTED`
  }).join('&')
}

/** The attributes a server span starts with: what the request says of itself and of its socket. */
export function requestAttributes (req: IncomingMessage): Attributes {
  const target = req.url ?? '/'
  const q = target.indexOf('?')
  const attributes: Attributes = {
    ...methodAttributes(req.method ?? ''),
    [ATTR_URL_PATH]: q === -1 ? target : target.slice(0, q),
    [ATTR_NETWORK_PEER_ADDRESS]: req.socket.remoteAddress,
    [ATTR_NETWORK_PEER_PORT]: req.socket.remotePort,
    [ATTR_NETWORK_PROTOCOL_VERSION]: req.httpVersion,
    [ATTR_USER_AGENT_ORIGINAL]: req.headers['user-agent']
  }
  if (q !== -1) attributes[ATTR_URL_QUERY] = redactQuery(target.slice(q + 1))
  return attributes
}

/** A server span's name: `{method} {http.route}`, the method alone when no route matched. */
export function requestSpanName (method: string, route: string | undefined): string {
  return route === undefined ? spanMethod(method) : `${spanMethod(method)} ${route}`
}

/** The attributes a server span ends with: the answer and what the gate decided; only 5xx is an error of the server. */
export function outcomeAttributes (o: RequestOutcome): Attributes {
  const attributes: Attributes = {
    [ATTR_HTTP_RESPONSE_STATUS_CODE]: o.status,
    [ATTR_URL_SCHEME]: o.scheme ?? 'http',
    [ATTR_HTTP_ROUTE]: o.route,
    [ATTR_CLIENT_ADDRESS]: o.clientAddress,
    'portvakt.route': o.routeId,
    'portvakt.outcome': o.outcome,
    'portvakt.code': o.code,
    'portvakt.reason': o.reason,
    'portvakt.consumer': o.consumer,
    'portvakt.client_id': o.clientId,
    'portvakt.supplier': o.supplier,
    'portvakt.systemuser_org': o.systemUserOrg,
    'portvakt.system_id': o.systemId,
    'portvakt.egress': o.egress
  }
  if (o.status >= 500) attributes[ATTR_ERROR_TYPE] = o.code ?? String(o.status)
  return attributes
}

/** The attributes a client span starts with: the call, and where it goes (query values redacted). */
export function callAttributes (call: CallKind, method: string, href: string, resendCount: number | undefined): Attributes {
  const url = new URL(href)
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port)
  const query = url.search === '' ? '' : `?${redactQuery(url.search.slice(1))}`
  const attributes: Attributes = {
    ...methodAttributes(method),
    [ATTR_URL_FULL]: `${url.origin}${url.pathname}${query}`,
    [ATTR_SERVER_ADDRESS]: url.hostname,
    [ATTR_SERVER_PORT]: port,
    'portvakt.call': call
  }
  if (resendCount !== undefined && resendCount > 0) attributes[ATTR_HTTP_REQUEST_RESEND_COUNT] = resendCount
  return attributes
}
