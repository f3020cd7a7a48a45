/**
 * Request framing hygiene, before any routing: a body is forwarded only in a framing we read whole.
 * Node's parser frames `Transfer-Encoding: gzip, chunked` by its final `chunked` and hands us the
 * still-gzipped bytes; forwarding drops Transfer-Encoding (hop-by-hop) and sends them with a
 * Content-Length, so the upstream would take the coded bytes for the body itself. RFC 9112 §6.1: a
 * server that receives a transfer coding it does not understand SHOULD answer 501.
 */
import { GateError } from '../auth/errors.js'

// Node trims the value and joins repeated lines with ", ", so anything but one `chunked` fails here.
const CHUNKED_ONLY = /^[ \t]*chunked[ \t]*$/i

/** Refuse a Transfer-Encoding other than exactly `chunked`; throws PORTVAKT_ERR_TRANSFER_CODING_UNSUPPORTED. */
export function checkTransferEncoding (headers: Readonly<Record<string, string | string[] | undefined>>): void {
  const coding = headers['transfer-encoding']
  if (coding === undefined || (typeof coding === 'string' && CHUNKED_ONLY.test(coding))) return
  throw new GateError('PORTVAKT_ERR_TRANSFER_CODING_UNSUPPORTED', 'the only Transfer-Encoding accepted is chunked; other transfer codings (gzip, deflate, …) are not supported (RFC 9112 §6.1)')
}
