/**
 * Request framing hygiene, before any routing: a body is forwarded only in a framing we read whole.
 * Node's parser frames `Transfer-Encoding: gzip, chunked` by its final `chunked` and hands us the
 * still-gzipped bytes; forwarding drops Transfer-Encoding (hop-by-hop) and sends them with a
 * Content-Length, so the upstream would take the coded bytes for the body itself.
 */
import { badFraming, GateError } from '../http/errors.js'

// Node trims the value and joins repeated lines with ", ", so anything but one `chunked` fails here.
const CHUNKED_ONLY = /^[ \t]*chunked[ \t]*$/i
const CHUNKED_LAST = /(^|,)[ \t]*chunked[ \t]*$/i

/**
 * Refuse a Transfer-Encoding other than exactly `chunked`. Without `chunked` last the body has no
 * length: 400 (RFC 9112 §6.3). Node's parser refuses that too, but only after it has handed us the
 * request. With other codings before it: 501, a transfer coding we don't understand (RFC 9112 §6.1).
 */
export function checkTransferEncoding (headers: Readonly<Record<string, string | string[] | undefined>>): void {
  const coding = headers['transfer-encoding']
  if (coding === undefined || (typeof coding === 'string' && CHUNKED_ONLY.test(coding))) return
  if (typeof coding !== 'string' || !CHUNKED_LAST.test(coding)) throw badFraming()
  throw new GateError('PORTVAKT_ERR_TRANSFER_CODING_UNSUPPORTED', 'the only Transfer-Encoding accepted is chunked; other transfer codings (gzip, deflate, …) are not supported (RFC 9112 §6.1)')
}
