/**
 * What Fastify never answers: client errors (a request Node's parser refuses, a head over the size
 * limit, headers slower than the headers timeout) and CONNECT. Answered on the raw socket in our own
 * error format, so clients see the same `code` field as for every other refusal. Nothing is forwarded.
 */
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { badFraming, GateError, toErrorResponse } from './errors.js'

/** Write a refusal on a raw socket and close it: there is no request object to answer through. */
function answerOnSocket (socket: Duplex, gateError: GateError): void {
  const response = toErrorResponse(gateError)
  const body = JSON.stringify(response.body)
  if (socket.writable) {
    const fields = { ...response.headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close' }
    const headers = Object.entries(fields).map(([k, v]) => `${k}: ${v}\r\n`).join('')
    socket.write(`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}\r\n${headers}\r\n${body}`)
  }
  socket.destroy()
}

// llhttp's codes for a body whose length can't be read one way only (RFC 9112 §6.3): the smuggling kind.
const FRAMING_CODES: ReadonlySet<string> = new Set(['HPE_INVALID_TRANSFER_ENCODING', 'HPE_UNEXPECTED_CONTENT_LENGTH', 'HPE_INVALID_CONTENT_LENGTH', 'HPE_INVALID_CHUNK_SIZE', 'HPE_CHUNK_EXTENSIONS_OVERFLOW'])

/** Our refusal for a parser or socket error, by its `code`. */
function toGateError (code: string | undefined): GateError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW': return new GateError('PORTVAKT_ERR_HEADERS_TOO_LARGE', 'the request headers are too large')
    case 'ERR_HTTP_REQUEST_TIMEOUT': return new GateError('PORTVAKT_ERR_REQUEST_TIMEOUT', 'the request headers did not arrive in time')
    // A raw control character or byte over 0x7f in the target (llhttp, strict mode).
    case 'HPE_INVALID_URL': return new GateError('PORTVAKT_ERR_BAD_PATH', 'the path holds a raw control character or non-ASCII byte; percent-encode non-ASCII characters (RFC 3986 §2.1)')
  }
  if (code !== undefined && FRAMING_CODES.has(code)) return badFraming()
  // HPE_INVALID_METHOD, _VERSION, _HEADER_TOKEN, _CONSTANT, bare LF (HPE_LF_EXPECTED, _CR_EXPECTED), …
  return new GateError('PORTVAKT_ERR_MALFORMED_REQUEST', 'the request line or a header is not valid HTTP/1.1 (RFC 9112)')
}

/** The response Node is writing on this socket, if any (Node's own clientError default checks the same). */
function responseInFlight (socket: Duplex): boolean {
  return (socket as Duplex & { _httpMessage?: { headersSent: boolean } | null })._httpMessage?.headersSent === true
}

/**
 * Answer a client error (unparsable, head too large, too slow) in our own error format; returns the
 * refusal sent, or undefined when there was no one to answer or a response was already under way.
 */
export function answerClientError (err: NodeJS.ErrnoException, socket: Duplex): GateError | undefined {
  if (err.code === 'ECONNRESET' || socket.destroyed) return undefined
  // Node hands over a request before it checks its body's framing, so the gate may already have
  // answered it (a Transfer-Encoding without chunked last), or a response may be streaming: a second
  // response would corrupt it. Let what is queued go out, then close.
  if (responseInFlight(socket)) {
    socket.end(() => { socket.destroy() })
    return undefined
  }
  const refusal = toGateError(err.code)
  answerOnSocket(socket, refusal)
  return refusal
}

/**
 * A CONNECT's target as the access line may show it: host and port only. Node's parser accepts a
 * userinfo (`user:pw@host:443`) and a query in it, and neither may reach a log (README, Logs).
 */
export function connectTargetForLog (target: string | undefined): string | undefined {
  if (target === undefined) return undefined
  const noQuery = target.split(/[?#]/, 1)[0] ?? ''
  const authority = noQuery.slice(noQuery.lastIndexOf('@') + 1)
  const slash = authority.indexOf('/')
  return slash === -1 ? authority : authority.slice(0, slash)
}

/**
 * Refuse a CONNECT and return the refusal, for the access line. Node hands CONNECT to the server's
 * 'connect' listeners, not to the request handler, and with none it closes the socket without a word.
 * Its target is a host and port (authority-form, RFC 9112 §3.2.3), not a path we could route.
 */
export function refuseConnect (socket: Duplex): GateError {
  const err = new GateError('PORTVAKT_ERR_BAD_PATH', 'CONNECT is not forwarded: the request target must be a path starting with /')
  if (!socket.destroyed) answerOnSocket(socket, err)
  return err
}
