/**
 * The egress listener: the app calls `http://127.0.0.1:<egress port>/<name>/<rest>` and we call
 * `<url>/<rest>` with a Maskinporten token from NAIS_TOKEN_ENDPOINT. On a 401 we fetch a fresh token
 * once (`skip_cache`) and retry once, when the request body can be sent again. Built on the gate's
 * server shape (http/server-base.ts); this file adds only the egress road: target lookup, token,
 * the outbound call, and its access line and counters.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Dispatcher } from 'undici'
import type { EgressTarget } from '../config/routes.js'
import { METHODS } from '../config/route-schema.js'
import { checkTransferEncoding } from '../gate/framing.js'
import { checkPath } from '../gate/path.js'
import { readBody } from '../http/body.js'
import { bodyTooSlow, GateError } from '../http/errors.js'
import { deriveLimits, type ServerLimits } from '../http/limits.js'
import { settleConnection } from '../http/linger.js'
import { accessPath, createServerBase, roundMs, type ServerRoad } from '../http/server-base.js'
import type { Logger } from '../observe/log.js'
import { buildOutboundHeaders, buildReturnHeaders, sendOutbound, type OutboundBody } from './outbound.js'
import { retryRefused } from './refusal.js'
import type { TokenClient, TokenStats } from './token-client.js'

/** What the egress listener is built from. */
export interface EgressServerOptions {
  /** the egress targets in force, by name (a function, so a route-table reload applies) */
  targets: () => ReadonlyMap<string, EgressTarget>
  tokens: TokenClient
  /** how we go out: an undici Agent, or an EnvHttpProxyAgent for the webproxy */
  dispatcher: Dispatcher
  timeoutMs: number
  logger: Logger
  /** the listener limits (PORTVAKT_BODY_*, PORTVAKT_MAX_CONNECTIONS; tests tighten others); see http/limits.ts for the defaults and why */
  limits?: Partial<ServerLimits>
}

/** Counters for metrics: requests by name and status, token fetches by result, cache hits. */
export interface EgressStats extends TokenStats {
  /** name → status → count; requests for no known name count under `-` */
  requests: Record<string, Record<string, number>>
}

/** The egress listener (not listening yet) and its counters. */
export interface EgressServer {
  app: FastifyInstance
  stats: () => EgressStats
}

interface EgressState { name: string | undefined, retried: boolean }

declare module 'fastify' {
  interface FastifyRequest {
    egress: EgressState | null
  }
}

/** Split `/<name>/<rest>?q` into the name and what follows it, raw as received. */
function splitTarget (rawUrl: string): { name: string, rest: string } {
  const end = rawUrl.slice(1).search(/[/?]/)
  if (end === -1) return { name: rawUrl.slice(1), rest: '' }
  return { name: rawUrl.slice(1, end + 1), rest: rawUrl.slice(end + 1) }
}

/**
 * Read the app's body by the listener's rules (http/body.ts): up to the body buffer it is held, so a
 * 401 can be retried with a fresh token; a larger one streams, once. A body slower than the floor
 * rate is a 408, also once it is streaming (`slowLater` tells the call that failed why).
 */
async function prepareBody (request: FastifyRequest, reply: FastifyReply, limits: ServerLimits): Promise<{ body: OutboundBody, slowLater: () => boolean }> {
  let slow = false
  const body = await new Promise<OutboundBody>((resolve, reject) => {
    readBody(request.raw, reply.raw, limits, {
      ready: resolve,
      slow: () => { slow = true; reject(bodyTooSlow()) },
      failed: reject
    })
  })
  return { body, slowLater: () => slow }
}

// The app names us as 127.0.0.1, localhost or [::1]; a port is optional.
const LOOPBACK_HOST = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d{1,5})?$/i

async function forward (request: FastifyRequest, reply: FastifyReply, options: EgressServerOptions, limits: ServerLimits, state: EgressState): Promise<FastifyReply> {
  // The socket is loopback-only, but a browser on the same machine (portvakt dev on a laptop) can be
  // led here by DNS rebinding; it then sends its own site as Host. Only the app says 127.0.0.1.
  if (!LOOPBACK_HOST.test(request.headers.host ?? '')) throw new GateError('PORTVAKT_ERR_NOT_LOOPBACK', 'call the egress listener as http://127.0.0.1:<port> or http://localhost:<port>')
  const rawUrl = request.raw.url ?? ''
  // The dot-segment and separator refusals keep `/skatt/../other` inside the target's base path. The
  // query belongs to the outside API, so a `_method` in it is the target's to read, not ours to refuse.
  checkPath(rawUrl, { refuseMethodOverride: false, refuseUnreservedEscapes: false })
  const { name, rest } = splitTarget(rawUrl)
  const target = options.targets().get(name)
  if (target === undefined) throw new GateError('PORTVAKT_ERR_NOT_FOUND', 'no egress target has this name')
  state.name = name
  const base = new URL(target.url)
  const joined = (base.pathname === '/' ? '' : base.pathname) + rest
  const path = joined.startsWith('/') ? joined : `/${joined}`
  const spec = { target: target.target, resource: target.resource }
  const { body, slowLater } = await prepareBody(request, reply, limits)
  const send = async (token: string): Promise<Dispatcher.ResponseData> => await sendOutbound(options.dispatcher, {
    origin: base.origin,
    path,
    method: request.method,
    headers: buildOutboundHeaders(request.headers, token),
    body,
    timeoutMs: options.timeoutMs
  }).catch((err: unknown) => { throw slowLater() ? bodyTooSlow() : err })
  const token = await options.tokens.getToken(spec)
  const first = await send(token)
  const answer = first.statusCode === 401 && body.kind !== 'stream'
    ? await retryRefused(first, { rejected: token, spec, tokens: options.tokens, send, onRetry: () => { state.retried = true } })
    : first
  reply.code(answer.statusCode).headers(buildReturnHeaders(answer.headers))
  // The target answered before reading the whole body (a 401, say): the rest of the app's upload would
  // stall this keep-alive connection, so it closes once the answer is out (http/linger.ts).
  if (settleConnection(request.raw, reply.raw, limits, false)) reply.header('connection', 'close')
  return await reply.send(answer.body)
}

function countRequest (requests: EgressStats['requests'], name: string, status: number): void {
  const byStatus = requests[name] ?? (requests[name] = {})
  byStatus[status] = (byStatus[status] ?? 0) + 1
}

/** The egress side's access lines and counters, for the shared server shape. */
function egressRoad (log: Logger, requests: EgressStats['requests']): ServerRoad {
  return {
    onRefusal: (request) => ({ egress: request.egress?.name }),
    onAnswered: (request, reply) => {
      const state = request.egress
      countRequest(requests, state?.name ?? '-', reply.statusCode)
      log.info({ egress: state?.name, method: request.method, path: accessPath(request), status: reply.statusCode, retried: state?.retried === true || undefined, ms: roundMs(reply.elapsedTime) }, 'egress')
    },
    onUnread: (refusal, { method, path, ms }) => {
      countRequest(requests, '-', refusal.status)
      log.info({ method, path, status: refusal.status, code: refusal.code, ms: ms === undefined ? undefined : roundMs(ms) }, 'egress')
    }
  }
}

/** Build the egress listener; the caller listens on 127.0.0.1 only. */
export async function buildEgressServer (options: EgressServerOptions): Promise<EgressServer> {
  const requests: EgressStats['requests'] = {}
  const limits = deriveLimits(options.timeoutMs, options.limits)
  const { app } = createServerBase({ logger: options.logger, limits, road: egressRoad(options.logger, requests) })
  app.decorateRequest('egress', null)
  app.addHook('onRequest', async (request) => {
    request.egress = { name: undefined, retried: false }
    // A body coded other than chunked alone would go out as if plain (Transfer-Encoding is hop-by-hop).
    checkTransferEncoding(request.headers)
  })
  app.route({
    method: [...METHODS],
    url: '/*',
    handler: async (request, reply) => await forward(request, reply, options, limits, request.egress as EgressState)
  })
  return {
    app,
    stats: () => ({ ...options.tokens.stats(), requests: structuredClone(requests) })
  }
}
