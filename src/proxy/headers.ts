/**
 * Header hygiene for what the upstream receives: identity headers are ours alone (STYLE §10), and
 * client-sent forwarding or method-override headers are dropped so the app can't be misled by them.
 */
import type { Claims } from '../auth/token.js'

/** The identity headers portvakt sets for the upstream. */
export const IDENTITY_HEADERS = Object.freeze({
  consumer: 'x-maskinporten-consumer',
  clientId: 'x-maskinporten-client-id',
  scope: 'x-maskinporten-scope'
})

// Client-sent headers that would let a caller pose as a proxy hop or change the method the app sees.
const DROPPED = new Set([
  ...Object.values(IDENTITY_HEADERS),
  'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port',
  'x-forwarded-prefix', 'x-forwarded-path', 'x-forwarded-uri', 'x-real-ip', 'x-client-ip',
  'x-original-url', 'x-rewrite-url', 'x-original-uri',
  'x-http-method-override', 'x-http-method', 'x-method-override'
])

/** Header names as an upstream might read them: lower case, with `_` or `.` standing for `-`. */
function canonical (name: string): string {
  return name.toLowerCase().replace(/[_.]/g, '-')
}

// Node hands us lower-case names; only a name with upper case, `_` or `.` needs the (allocating) rewrite.
const NEEDS_CANONICAL = /[A-Z_.]/

/** Whether a client-sent header must not reach the upstream. */
export function isDroppedHeader (name: string): boolean {
  return DROPPED.has(NEEDS_CANONICAL.test(name) ? canonical(name) : name)
}

/** What the proxy knows about the request when it rewrites headers. */
export interface ForwardContext {
  claims: Claims | undefined
  remoteAddress: string | undefined
  host: string | undefined
  encrypted: boolean
  forwardToken: boolean
}

/** Rewrite the upstream request headers in place and return them. */
export function rewriteUpstreamHeaders (headers: Record<string, string | string[] | undefined>, ctx: ForwardContext): Record<string, string | string[] | undefined> {
  for (const name of Object.keys(headers)) {
    if (isDroppedHeader(name)) delete headers[name]
  }
  if (!ctx.forwardToken) delete headers.authorization
  if (ctx.remoteAddress !== undefined) headers['x-forwarded-for'] = ctx.remoteAddress
  headers['x-forwarded-proto'] = ctx.encrypted ? 'https' : 'http'
  if (ctx.host !== undefined) headers['x-forwarded-host'] = ctx.host
  const claims = ctx.claims
  if (claims !== undefined) {
    if (claims.orgno !== undefined) headers[IDENTITY_HEADERS.consumer] = claims.orgno
    if (claims.clientId !== undefined) headers[IDENTITY_HEADERS.clientId] = claims.clientId
    headers[IDENTITY_HEADERS.scope] = claims.scope
  }
  return headers
}

// Hop-by-hop fields (RFC 9110 §7.6.1): they describe one connection, so a proxy must not pass them on.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'http2-settings'])

/**
 * Drop the upstream's hop-by-hop response headers and those its `Connection` names. reply-from copies
 * them to the client as they are, so the upstream's `Connection: keep-alive` overrode a client's
 * `Connection: close` and its `Keep-Alive` leaked through.
 */
export function rewriteDownstreamHeaders<H extends Record<string, string | string[] | undefined>> (headers: H): H {
  const connection = headers.connection
  const listed = new Set((Array.isArray(connection) ? connection.join(',') : String(connection ?? '')).split(',').map((n) => n.trim().toLowerCase()))
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase()
    if (HOP_BY_HOP.has(lower) || listed.has(lower)) Reflect.deleteProperty(headers, name)
  }
  return headers
}
