/**
 * Forwarding to the upstream on an undici pool, without @fastify/reply-from: same method, path and
 * query as received, our header hygiene applied last, no retries. The request body is read first
 * (http/body.ts: whole when small, else its first buffer-full), then a pool connection is taken
 * (slots.ts: with a deadline, and only a share of them for streamed bodies), then the request is
 * dispatched and the answer streamed back with back-pressure (turn.ts). Why not reply-from: its per-request
 * URL building, header copies and Readable wrapping cost more than the auth gate itself
 * (bench/README.md); dispatching straight to the pool and writing the upstream's answer to the
 * socket is the leaner path.
 */
import type { IncomingMessage } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Pool } from 'undici'
import { METHODS } from '../config/route-schema.js'
import { hasBody, readBody, type BodyRules, type RequestBody } from '../http/body.js'
import type { GateError } from '../http/errors.js'
import type { LingerLimits } from '../http/linger.js'
import { createHeaderDrop, toUpstreamRequestHeaders } from './headers.js'
import { UpstreamSlots, type SlotLimits } from './slots.js'
import { noop, Turn, type Forwarding } from './turn.js'

/** How to reach the upstream. */
export interface ForwardOptions {
  upstream: string
  upstreamTimeoutMs: number
  forwardToken: boolean
  /** other gateways' headers let through, each in its one spelling (PORTVAKT_PASS_HEADERS) */
  passHeaders: readonly string[]
  /** how request bodies are read, and how a connection is closed with a body still coming */
  limits: BodyRules & LingerLimits
  /** the pool's size, its share for streamed bodies, and the wait for a connection */
  pool: SlotLimits
  /** answer a refusal (set by the server, which owns error responses) */
  onUpstreamError: (request: FastifyRequest, reply: FastifyReply, error: GateError) => void
  /** told when the upstream's head is in, before it is written; true: close the client's connection after it */
  onUpstreamHead?: (request: FastifyRequest) => boolean
}

const NO_BODY: RequestBody = Object.freeze({ kind: 'none' })

/** Forward one request; answers through `reply` until the upstream's head arrives, then on the raw socket. */
function forwardOne (f: Forwarding, request: FastifyRequest, reply: FastifyReply): void {
  const req: IncomingMessage = request.raw
  const headers = toUpstreamRequestHeaders(req.headers, {
    claims: request.portvakt?.claims,
    remoteAddress: req.socket.remoteAddress,
    host: req.headers.host,
    drop: f.drop
  }) as Record<string, string | string[]>
  headers.host = f.host
  const turn = new Turn(f, request, reply, headers)
  reply.raw.on('close', () => { turn.gone() })
  // Most requests have no body: straight on, without the reader.
  if (!hasBody(req.headers)) {
    turn.send(NO_BODY)
    return
  }
  readBody(req, reply.raw, f.options.limits, {
    ready: (body) => { turn.send(body) },
    slow: () => { turn.tooSlow() },
    // The client left before its body was in: nothing was sent on, and no one is left to answer.
    failed: noop
  })
}

/** Register the catch-all forwarding routes on `app` (its own encapsulated context). */
export async function registerForwarding (app: FastifyInstance, options: ForwardOptions): Promise<void> {
  const upstream = new URL(options.upstream)
  const pool = new Pool(upstream.origin, {
    connections: options.pool.connections,
    pipelining: 1,
    keepAliveTimeout: 4_000,
    headersTimeout: options.upstreamTimeoutMs,
    bodyTimeout: options.upstreamTimeoutMs
  })
  const f: Forwarding = { pool, slots: new UpstreamSlots(options.pool), drop: createHeaderDrop(options), host: upstream.host, options }
  await app.register(async (scope) => {
    // Bodies are read here: the server base registers no parser (http/server-base.ts).
    scope.addHook('onClose', async () => { await pool.close() })
    // A callback handler (not async): the reply is sent later, by forwardOne.
    const handler = (request: FastifyRequest, reply: FastifyReply): void => { forwardOne(f, request, reply) }
    // The methods a route may list; others never reach forwarding (405).
    scope.route({ method: [...METHODS], url: '/', handler })
    scope.route({ method: [...METHODS], url: '/*', handler })
  })
}
