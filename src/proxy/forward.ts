/**
 * Forwarding to the upstream with @fastify/http-proxy (reply-from on an undici pool): same method,
 * path and query as received, bodies streamed both ways, our header hygiene applied last.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import httpProxy from '@fastify/http-proxy'
import { GateError } from '../auth/errors.js'
import { rewriteDownstreamHeaders, rewriteUpstreamHeaders } from './headers.js'

/** How to reach the upstream. */
export interface ForwardOptions {
  upstream: string
  upstreamTimeoutMs: number
  forwardToken: boolean
  /** map an upstream failure to a response (set by the server, which owns error responses) */
  onUpstreamError: (request: FastifyRequest, reply: FastifyReply, error: GateError) => void
}

function toGateError (error: { statusCode?: number, code?: string, message?: string }): GateError {
  if (error.statusCode === 504) return new GateError('PORTVAKT_ERR_UPSTREAM_TIMEOUT', 'the upstream did not answer in time', { cause: error })
  return new GateError('PORTVAKT_ERR_UPSTREAM_UNAVAILABLE', 'the upstream could not be reached', { cause: error })
}

/** Register the catch-all forwarding routes on `app` (its own encapsulated context). */
export async function registerForwarding (app: FastifyInstance, options: ForwardOptions): Promise<void> {
  await app.register(async (scope) => {
    // Stream every body through untouched: no JSON or text parsing, no body size limit.
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', (_request, payload, done) => { done(null, payload) })
    await scope.register(httpProxy, {
      upstream: options.upstream,
      prefix: '/',
      proxyPayloads: false,
      disableRequestLogging: true,
      internalRewriteLocationHeader: false,
      undici: {
        connections: 128,
        pipelining: 1,
        keepAliveTimeout: 4_000,
        headersTimeout: options.upstreamTimeoutMs,
        bodyTimeout: options.upstreamTimeoutMs
      },
      replyOptions: {
        // reply-from retries GETs on an upstream 503 by default; a proxy must pass the answer on.
        retryDelay: () => null,
        rewriteRequestHeaders: (request, headers) => rewriteUpstreamHeaders(headers, {
          claims: (request as FastifyRequest).portvakt?.claims,
          remoteAddress: (request as FastifyRequest).raw.socket.remoteAddress,
          host: request.headers.host,
          encrypted: false,
          forwardToken: options.forwardToken
        }),
        rewriteHeaders: (headers) => rewriteDownstreamHeaders(headers),
        onError: (reply, { error }) => {
          // A body still streaming when the upstream failed is detached from its pipe, so Node never
          // drains it: a kept-alive connection would stall the client's next request behind it.
          if (!reply.request.raw.complete) void reply.header('connection', 'close')
          options.onUpstreamError(reply.request as FastifyRequest, reply as FastifyReply, toGateError(error))
        }
      }
    })
  })
}
