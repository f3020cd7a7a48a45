/**
 * The client's address behind PORTVAKT_TRUSTED_HOPS proxies, counted as Envoy's
 * xff_num_trusted_hops and Express's numeric `trust proxy` count them
 * (https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers#x-forwarded-for,
 * https://expressjs.com/en/guide/behind-proxies.html): each trusted hop appended the address it saw
 * to X-Forwarded-For, so the client is the entry that many hops back from the peer. With 0 (the
 * default) it is the peer itself, and X-Forwarded-For is not read at all.
 */
import { isIP } from 'node:net'

/**
 * The address portvakt records for the client: `peer` (the socket's) with no hops trusted, or when
 * the entry that many hops back is missing or not an IP address (a caller that bypassed the
 * proxies, or a hop count that does not match them); an X-Forwarded-For shorter than the hops gives
 * its first entry, as Express does.
 */
export function clientAddress (peer: string | undefined, forwardedFor: string | string[] | undefined, hops: number): string | undefined {
  if (hops === 0 || forwardedFor === undefined) return peer
  const entries = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',')
  const entry = (entries[Math.max(0, entries.length - hops)] ?? '').trim()
  return isIP(entry) === 0 ? peer : entry
}
