/**
 * The admin listener: /isalive, /isready and /metrics on a port of their own, because the route
 * table owns every path on the main port. Built on the shared server shape (http/server-base.ts),
 * so it has the same listener limits as the gate: headers timeout, idle timeouts, the connection
 * cap, refusals in our format. None of its endpoints takes a body, so a request that sends one is
 * refused and its connection closed, never drained. Probes write no access lines (the kubelet asks
 * every few seconds); a failing readiness check is logged by whoever changed the state, not per probe.
 */
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { hasBody } from '../http/body.js'
import { GateError } from '../http/errors.js'
import type { ServerLimits } from '../http/limits.js'
import { createServerBase, type ServerRoad } from '../http/server-base.js'
import type { Readiness } from './readiness.js'

/** What the admin listener serves. */
export interface AdminOptions {
  readiness: Readiness
  registry: Registry
  logger: Logger
  limits: ServerLimits
}

// No access lines and no counters: probes and scrapes are not traffic.
const QUIET: ServerRoad = { onRefusal: () => ({ listener: 'admin' }), onAnswered: () => {}, onUnread: () => {} }

/** Build the admin server (not listening). */
export function buildAdminServer (options: AdminOptions): FastifyInstance {
  const { app, refuse } = createServerBase({
    logger: options.logger,
    limits: options.limits,
    road: QUIET,
    notFound: (request) => new GateError('PORTVAKT_ERR_NOT_FOUND', `${request.method} ${request.url.split('?', 1)[0] ?? ''} is not an admin endpoint (GET /isalive, /isready, /metrics)`)
  })
  app.addHook('onRequest', (request, reply, done) => {
    if (hasBody(request.raw.headers)) refuse(request, reply, new GateError('PORTVAKT_ERR_BODY_NOT_ACCEPTED', 'the admin endpoints take no request body'))
    else done()
  })
  app.get('/isalive', async (_request, reply) => await reply.header('cache-control', 'no-store').send({ status: 'alive' }))
  app.get('/isready', async (_request, reply) => {
    const report = await options.readiness.check()
    return await reply.code(report.ready ? 200 : 503).header('cache-control', 'no-store')
      .send(report.ready ? { status: 'ready' } : { status: 'not_ready', reasons: report.reasons })
  })
  app.get('/metrics', async (_request, reply) => {
    const text = await options.registry.metrics()
    return await reply.header('content-type', options.registry.contentType).header('cache-control', 'no-store').send(text)
  })
  return app
}
