/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never forwarded, in either
 * direction; nor is any header the sender lists in its `Connection` header. Stripping them happens
 * before our own headers are set, so a client listing `x-maskinporten-consumer` (or any header we add)
 * in `Connection` cannot strip ours.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'http2-settings', 'proxy-authenticate', 'proxy-authorization'])
// Framing stays ours to decide even if a sender lists these in Connection.
const NEVER_LISTED = new Set(['content-length', 'host'])

function listedIn (connection: string | string[] | undefined): string[] {
  if (connection === undefined) return []
  const text = Array.isArray(connection) ? connection.join(',') : connection
  return text.toLowerCase().split(',').map((name) => name.trim()).filter((name) => name !== '' && !NEVER_LISTED.has(name))
}

/**
 * A copy of a request's headers without hop-by-hop and Connection-listed ones, nor any `drop` names:
 * one pass over the request's headers for all of the hop's rules. A fresh object filled in one pass,
 * not a spread-and-delete: V8 makes every property later added to a `{ ...headers }` clone slow
 * (it leaves the clone's fast shape; bench/README.md has the figures), and this is on every
 * proxied request.
 */
export function copyEndToEnd (headers: IncomingHttpHeaders, drop?: (name: string) => boolean): IncomingHttpHeaders {
  const listed = listedIn(headers.connection)
  const out: IncomingHttpHeaders = {}
  for (const name in headers) {
    // `Expect: 100-continue` is a hop-by-hop negotiation too; the pool sends the body without waiting.
    if (HOP_BY_HOP.has(name) || name === 'expect' || (listed.length > 0 && listed.includes(name))) continue
    if (drop?.(name) === true) continue
    out[name] = headers[name]
  }
  return out
}

/** The upstream's response headers as the client may see them: hop-by-hop ones dropped. */
export function toUpstreamResponseHeaders (headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = listedIn(headers.connection)
  const out: OutgoingHttpHeaders = {}
  for (const name in headers) {
    if (!HOP_BY_HOP.has(name) && !listed.includes(name)) out[name] = headers[name]
  }
  return out
}
