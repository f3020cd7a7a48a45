/**
 * An answer that goes out while the request's body is still coming (a refusal, a 408, a 503, an
 * upstream that answered early). Reading the rest of a body nobody will use costs us for as long as
 * the client cares to trickle, so such a connection ends. But a socket closed with unread bytes in
 * its receive buffer sends a reset, which can make the client's TCP stack throw away our answer
 * before the client has read it: the problem nginx's lingering close solves
 * (https://nginx.org/en/docs/http/ngx_http_core_module.html#lingering_close). So we say
 * `Connection: close`, half-close after the answer, read and drop what still comes for at most
 * `lingerMs` (less if the client closes first), then destroy.
 *
 * A small declared body (at most the body buffer) is instead read to its end within the same time,
 * keeping the connection: an honest client has sent it with its head already, and a client that
 * refreshes its token after a 401 goes on on the same connection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { hasBody } from './body.js'

/** What a lingering close needs to know. */
export interface LingerLimits {
  /** a declared body up to this size is read to its end (within `lingerMs`) instead of closing */
  bodyBufferBytes: number
  lingerMs: number
}

// Sockets we have decided to close: a request pipelined behind the answer is not served on them
// (RFC 9112 §9.6: after a "close" the server does not process further requests on the connection).
const closing = new WeakSet<Socket>()

/** Whether the request's body has not all arrived yet. */
function bodyStillComing (req: IncomingMessage): boolean {
  return !req.complete && hasBody(req.headers)
}

/** Whether this request arrived on a connection we are closing; such a request must not be served. */
export function arrivedOnClosingConnection (req: IncomingMessage): boolean {
  return closing.has(req.socket)
}

/**
 * Half-close `socket` now, drop whatever the client still sends, and destroy it when the client
 * closes its side or after `lingerMs`, whichever comes first.
 */
export function lingeringClose (req: IncomingMessage, socket: Socket, lingerMs: number): void {
  closing.add(socket)
  if (socket.destroyed) return
  const timer = setTimeout(() => { socket.destroy() }, lingerMs)
  timer.unref()
  socket.once('close', () => { clearTimeout(timer) })
  // The client has read our answer and closed: nothing is left to wait for.
  socket.once('end', () => { socket.destroy() })
  socket.end()
  // Whatever still comes is read and dropped (a body half-read by the proxy included), so no unread
  // bytes sit in the receive buffer and no reset goes out while the client may still be reading.
  req.removeAllListeners('data')
  req.resume()
  socket.resume()
}

/** Read the rest of a small body after the answer; a client that has not sent it within `lingerMs` is cut off. */
function drainWithin (req: IncomingMessage, res: ServerResponse, lingerMs: number): void {
  res.once('finish', () => {
    if (req.complete) return
    // Node drops an unread body itself after the answer, unless the body was being read: then we do.
    req.removeAllListeners('data')
    req.resume()
    const timer = setTimeout(() => { if (!req.complete) req.socket.destroy() }, lingerMs)
    timer.unref()
    req.once('end', () => { clearTimeout(timer) })
    req.socket.once('close', () => { clearTimeout(timer) })
  })
}

/**
 * Settle the connection of an answer about to go out: `close` asks for the connection to end
 * anyway. Returns whether it will close (the caller then sends `Connection: close`); when it does,
 * it closes with a linger instead of at once.
 */
export function settleConnection (req: IncomingMessage, res: ServerResponse, limits: LingerLimits, close: boolean): boolean {
  const coming = bodyStillComing(req)
  // A client that sent Expect: 100-continue and gets its answer first won't send the body at all.
  const small = coming && req.headers['transfer-encoding'] === undefined && req.headers.expect === undefined && Number(req.headers['content-length']) <= limits.bodyBufferBytes
  if (!close && small) {
    drainWithin(req, res, limits.lingerMs)
    return false
  }
  if (!close && !coming) return false
  const socket = res.socket
  if (socket !== null) {
    closing.add(socket)
    // Node ends a `Connection: close` answer's socket with destroySoon(), which destroys it as soon
    // as our last byte is written (https://github.com/nodejs/node/blob/main/lib/_http_server.js,
    // resOnFinish); this socket lingers first.
    socket.destroySoon = () => { lingeringClose(req, socket, limits.lingerMs) }
  }
  return true
}
