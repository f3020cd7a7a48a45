/**
 * Header hygiene for what the upstream receives: identity headers are ours alone (STYLE §10), and
 * client-sent forwarding or method-override headers are dropped so the app can't be misled by them.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Claims } from '../auth/claims.js'
import { copyEndToEnd } from './hop-by-hop.js'

/** The identity headers portvakt sets for the upstream. */
export const IDENTITY_HEADERS = Object.freeze({
  consumer: 'x-maskinporten-consumer',
  clientId: 'x-maskinporten-client-id',
  scope: 'x-maskinporten-scope'
})

// Client-sent headers that would let a caller pose as a proxy hop (an address, scheme, host or URL a
// hop before us saw) or change the method the app sees. Apps behind oauth2-proxy or Envoy trust
// names like X-Forwarded-User and X-Forwarded-Client-Cert as identity, so every X-Forwarded-* goes.
const DROPPED = new Set([
  'forwarded', 'x-forwarded', 'true-client-ip', 'x-real-ip', 'x-client-ip', 'x-cluster-client-ip', 'cf-connecting-ip',
  'x-rewrite-url', 'x-http-method-override', 'x-http-method', 'x-method-override'
])
// Any name with these prefixes: our identity headers (and any the app may one day read next to
// them), forwarding headers, and the original-URL family (X-Original-URL, X-Original-Forwarded-For).
const DROPPED_PREFIXES = ['x-maskinporten-', 'x-forwarded-', 'x-original-']

/** Header names as an upstream might read them: lower case, with `_` or `.` standing for `-`. */
function canonical (name: string): string {
  return name.toLowerCase().replace(/[_.]/g, '-')
}

// Node hands us lower-case names; only a name with upper case, `_` or `.` needs the (allocating) rewrite.
const NEEDS_CANONICAL = /[A-Z_.]/

/** Whether a client-sent header must not reach the upstream. */
export function isDroppedHeader (name: string): boolean {
  const key = NEEDS_CANONICAL.test(name) ? canonical(name) : name
  if (DROPPED.has(key)) return true
  for (const prefix of DROPPED_PREFIXES) if (key.startsWith(prefix)) return true
  return false
}

/** What the proxy knows about the request when it rewrites headers. */
export interface ForwardContext {
  claims: Claims | undefined
  remoteAddress: string | undefined
  host: string | undefined
  forwardToken: boolean
}

// With PORTVAKT_FORWARD_TOKEN=false the upstream does not get the caller's token either.
const isDroppedHeaderOrToken = (name: string): boolean => name === 'authorization' || isDroppedHeader(name)

/**
 * The headers the upstream receives: the client's end-to-end headers minus the dropped ones (one
 * pass, copyEndToEnd), then ours set. A new object; the request's own headers are left as they are.
 */
export function toUpstreamRequestHeaders (incoming: IncomingHttpHeaders, ctx: ForwardContext): IncomingHttpHeaders {
  const headers = copyEndToEnd(incoming, ctx.forwardToken ? isDroppedHeader : isDroppedHeaderOrToken)
  if (ctx.remoteAddress !== undefined) headers['x-forwarded-for'] = ctx.remoteAddress
  // The gate listens on plain HTTP (TLS ends at the ingress in front), so this hop was http.
  headers['x-forwarded-proto'] = 'http'
  if (ctx.host !== undefined) headers['x-forwarded-host'] = ctx.host
  const claims = ctx.claims
  if (claims !== undefined) {
    if (claims.orgno !== undefined) headers[IDENTITY_HEADERS.consumer] = claims.orgno
    if (claims.clientId !== undefined) headers[IDENTITY_HEADERS.clientId] = claims.clientId
    headers[IDENTITY_HEADERS.scope] = claims.scope
  }
  return headers
}
