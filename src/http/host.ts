/**
 * The Host header, checked once for both listeners before any route is looked at: one, and a valid
 * `host[:port]` (RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any
 * HTTP/1.1 request message that lacks a Host header field and to any request message that contains
 * more than one Host header field line or a Host header field with an invalid field value"). Only a
 * Host that passed here becomes the upstream's X-Forwarded-Host.
 */
import type { IncomingMessage } from 'node:http'
import { isIPv6 } from 'node:net'
import { GateError } from './errors.js'

// A bracketed IPv6 address, or a name of dot-separated labels (one trailing dot, an FQDN, allowed),
// then an optional port of 1–5 digits (RFC 3986 §3.2.2, §3.2.3). Stricter than RFC 3986's reg-name
// on purpose: sub-delims (`,` `;` `!` `&` …) and percent-escapes are legal there but no DNS name
// has them, and an app reading X-Forwarded-Host splits `a,b` into a list. IPvFuture (`[v1.x]`),
// zone IDs (`%25eth0`), userinfo, paths, spaces and an empty port (`host:`) fail too.
const HOST = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?))(?::(\d{1,5}))?$/

// A name whose last label is a number is an IPv4 address to WHATWG URL parsers (Node's URL,
// browsers: https://url.spec.whatwg.org/#ends-in-a-number-checker), which read `0x7f.1` or `127.1`
// as 127.0.0.1 and `010` as octal. Such a name must be a dotted-decimal address as RFC 3986 writes
// it (dec-octet: no leading zeros), so both readings agree.
const ENDS_IN_NUMBER = /(?:^|\.)(?:\d+|0x[0-9a-f]*)\.?$/i
const DOTTED_DECIMAL = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/

/** Whether `value` is a valid `host[:port]`, as the gate reads it. */
export function isValidHost (value: string): boolean {
  const match = HOST.exec(value)
  if (match === null) return false
  const [, ipv6, name, port] = match
  if (port !== undefined && Number(port) > 65_535) return false
  if (ipv6 !== undefined) return isIPv6(ipv6)
  return name !== undefined && (!ENDS_IN_NUMBER.test(name) || DOTTED_DECIMAL.test(name))
}

function refusal (why: string): GateError {
  return new GateError('PORTVAKT_ERR_MALFORMED_REQUEST', `${why} (RFC 9112 §3.2)`)
}

/**
 * The refusal for a request's Host, or undefined when it may go on. Node keeps the first of two
 * Host lines in `headers` and drops the other, so they are counted in `rawHeaders`, in any case.
 * HTTP/1.0 may leave Host out; HTTP/1.1 may not.
 */
export function checkHost (req: IncomingMessage): GateError | undefined {
  const raw = req.rawHeaders
  let lines = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length === 4 && name.toLowerCase() === 'host') lines++
  }
  if (lines > 1) return refusal('more than one Host header')
  const host = req.headers.host
  if (host === undefined) return req.httpVersion === '1.0' ? undefined : refusal('an HTTP/1.1 request needs a Host header')
  if (!isValidHost(host)) {
    return refusal('the Host header is not a valid host[:port]: a DNS name, an IPv4 address or a bracketed IPv6 address, and a port of up to 5 digits (at most 65535); no userinfo, path, spaces, commas or percent-escapes')
  }
  return undefined
}
