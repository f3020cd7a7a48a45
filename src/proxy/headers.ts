/**
 * Header hygiene for what the upstream receives: identity headers are ours alone (STYLE §10), and
 * client-sent forwarding, method-override and other gateways' identity headers are dropped so the
 * app can't be misled by them.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Claims } from '../auth/claims.js'
import { DROPPED_HEADERS, foldHeaderName, headerFamily } from '../config/dropped-headers.js'
import { copyEndToEnd } from './hop-by-hop.js'

/** The identity headers portvakt sets for the upstream. */
export const IDENTITY_HEADERS = Object.freeze({
  consumer: 'x-maskinporten-consumer',
  clientId: 'x-maskinporten-client-id',
  scope: 'x-maskinporten-scope',
  supplier: 'x-maskinporten-supplier',
  systemUserOrg: 'x-maskinporten-systemuser-org',
  systemUserId: 'x-maskinporten-systemuser-id',
  systemId: 'x-maskinporten-system-id'
})

// Node hands us lower-case names; only a name with upper case, `_` or `.` needs the (allocating) fold.
const NEEDS_FOLDING = /[A-Z_.]/

/** What the upstream must not get from the client. */
export interface HeaderDropOptions {
  /** false: the client's Authorization is dropped too (PORTVAKT_FORWARD_TOKEN=false) */
  forwardToken: boolean
  /** other gateways' headers to let through, each in the one spelling given (PORTVAKT_PASS_HEADERS) */
  passHeaders: readonly string[]
}

/**
 * Whether a client-sent header must not reach the upstream: any name on the drop lists
 * (config/dropped-headers.ts) in any case, `_` or `.` for `-`, unless it is a gateway header the
 * settings let through in that spelling. Built once per server; called for every header of every
 * request (with Node's lower-case names).
 */
export function createHeaderDrop (options: HeaderDropOptions): (name: string) => boolean {
  const refused = options.passHeaders.filter((name) => headerFamily(foldHeaderName(name)) !== 'gateway')
  // The settings refuse these at start; a caller that skipped them must not let ours through.
  if (refused.length > 0) throw new Error(`only other gateways' headers can be let through, not ${refused.join(', ')}`)
  const pass = new Set(options.passHeaders.map((name) => name.toLowerCase()))
  const { exact, prefix } = DROPPED_HEADERS
  const dropped = (name: string): boolean => {
    const key = NEEDS_FOLDING.test(name) ? foldHeaderName(name) : name
    return exact.has(key) || prefix.test(key)
  }
  // Built for the settings at hand, so a request pays only for the rules that are on.
  if (pass.size === 0) return options.forwardToken ? dropped : (name) => name === 'authorization' || dropped(name)
  return (name) => (!options.forwardToken && name === 'authorization') || (!pass.has(name) && dropped(name))
}

/** What the proxy knows about the request when it rewrites headers. */
export interface ForwardContext {
  claims: Claims | undefined
  remoteAddress: string | undefined
  /** the client's Host, validated by the server base (http/host.ts) */
  host: string | undefined
  /** from createHeaderDrop */
  drop: (name: string) => boolean
}

/**
 * The headers the upstream receives: the client's end-to-end headers minus the dropped ones (one
 * pass, copyEndToEnd), then ours set. A new object; the request's own headers are left as they are.
 */
export function toUpstreamRequestHeaders (incoming: IncomingHttpHeaders, ctx: ForwardContext): IncomingHttpHeaders {
  const headers = copyEndToEnd(incoming, ctx.drop)
  if (ctx.remoteAddress !== undefined) headers['x-forwarded-for'] = ctx.remoteAddress
  // The gate listens on plain HTTP (TLS ends at the ingress in front), so this hop was http.
  headers['x-forwarded-proto'] = 'http'
  if (ctx.host !== undefined) headers['x-forwarded-host'] = ctx.host
  const claims = ctx.claims
  if (claims !== undefined) {
    if (claims.orgno !== undefined) headers[IDENTITY_HEADERS.consumer] = claims.orgno
    if (claims.clientId !== undefined) headers[IDENTITY_HEADERS.clientId] = claims.clientId
    headers[IDENTITY_HEADERS.scope] = claims.scope
    if (claims.supplier !== undefined) headers[IDENTITY_HEADERS.supplier] = claims.supplier
    const systemUser = claims.systemUser
    if (systemUser !== undefined) {
      headers[IDENTITY_HEADERS.systemUserOrg] = systemUser.org
      headers[IDENTITY_HEADERS.systemUserId] = systemUser.id
      if (systemUser.systemId !== undefined) headers[IDENTITY_HEADERS.systemId] = systemUser.systemId
    }
  }
  return headers
}
