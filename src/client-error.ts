/**
 * Requests that never reach Fastify: client errors (a head over the size limit, headers slower than
 * the headers timeout, an unparsable request line) and CONNECT. Answered on the raw socket in our own
 * error format, so clients see the same `code` field as for every other refusal. Nothing is forwarded.
 */
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { GateError, toErrorResponse } from './auth/errors.js'

/** Write a refusal on a raw socket and close it: there is no request object to answer through. */
function answerOnSocket (socket: Duplex, gateError: GateError): void {
  const response = toErrorResponse(gateError)
  const body = JSON.stringify(response.body)
  if (socket.writable) {
    const headers = Object.entries(response.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
    socket.write(`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}\r\n${headers}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}

/** Answer a client error that never became a request (head too large, too slow) in our own error format. */
export function answerClientError (err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const gateError = err.code === 'HPE_HEADER_OVERFLOW'
    ? new GateError('PORTVAKT_ERR_HEADERS_TOO_LARGE', 'the request headers are too large')
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new GateError('PORTVAKT_ERR_REQUEST_TIMEOUT', 'the request headers did not arrive in time')
      : new GateError('PORTVAKT_ERR_BAD_REQUEST', 'the request could not be read')
  answerOnSocket(socket, gateError)
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
