/**
 * A target's 401 on the egress side: its body is read first, so the connection to the
 * target is free whatever happens next; then one fresh token (`skip_cache`) and one more try.
 */
import { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import { toOutboundError } from './outbound.js'
import type { TokenClient, TokenSpec } from './token-client.js'

/** A target's 401 body up to this size is held while we fetch a fresh token; a larger one is passed on, unretried. */
export const REFUSAL_LIMIT_BYTES = 256 * 1024

/** What the app gets back: the target's status and headers, and its body as a stream or as bytes we read. */
export type Answer = Pick<Dispatcher.ResponseData, 'statusCode' | 'headers'> & { body: Readable | Buffer }

/** How to retry: the refused token, what it was for, where fresh ones come from, and how to send again. */
export interface RetryOptions {
  rejected: string
  spec: TokenSpec
  tokens: TokenClient
  send: (token: string) => Promise<Answer>
  /** told when the request is sent a second time (for the log line) */
  onRetry: () => void
}

/** The bytes read so far, then the rest of `iterator`: a body we began to read, whole again. */
async function * resumeBody (chunks: Buffer[], iterator: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield * chunks
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) yield next.value
  } finally {
    // The app went away mid-body: let undici drop the target's connection.
    await iterator.return?.()
  }
}

/**
 * Read a refusal's body to its end, up to `limit` bytes; past it, the body comes back whole as a
 * stream. Left unread, it would hold the connection to the target (undici stops reading the socket
 * past 64 KiB) until the body timeout, whatever happens to the token next.
 */
async function readRefusal (body: Readable, limit: number): Promise<Buffer | Readable> {
  const chunks: Buffer[] = []
  let size = 0
  const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  try {
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
      chunks.push(next.value)
      size += next.value.length
      if (size > limit) {
        const rest = Readable.from(resumeBody(chunks, iterator), { objectMode: false })
        // Destroyed before its first read (the app left at once), the generator never starts and its
        // finally never runs: release the target's body here too (return() twice is harmless).
        rest.once('close', () => { void iterator.return?.() })
        return rest
      }
    }
  } catch (err) {
    throw toOutboundError(err)
  }
  return Buffer.concat(chunks)
}

/**
 * The target refused our token, which may have lost rights since it was issued
 * (https://docs.nais.io/auth/maskinporten/how-to/consume): fetch a fresh one (`skip_cache`) and send once more. When the token
 * endpoint fails, its error is the answer (502 PORTVAKT_ERR_TOKEN_ENDPOINT, as for any token
 * failure): after a rights change it is often `invalid_scope`, which says more than the 401 does.
 */
export async function retryRefused (refused: Dispatcher.ResponseData, retry: RetryOptions): Promise<Answer> {
  const body = await readRefusal(refused.body, REFUSAL_LIMIT_BYTES)
  // An error page this large is no token problem a retry would fix; the app gets it as it came.
  if (!Buffer.isBuffer(body)) return { statusCode: refused.statusCode, headers: refused.headers, body }
  const fresh = await retry.tokens.refreshToken(retry.spec, retry.rejected)
  if (fresh === undefined) return { statusCode: refused.statusCode, headers: refused.headers, body }
  retry.onRetry()
  return await retry.send(fresh)
}
