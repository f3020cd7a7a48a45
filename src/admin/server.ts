/**
 * The admin listener: /isalive, /isready and /metrics on a port of their own, because the route
 * table owns every path on the main port. Probes write no access lines (the kubelet asks every
 * few seconds); a failing readiness check is logged by whoever changed the state, not per probe.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import type { Readiness } from './readiness.js'

/** What the admin listener serves. */
export interface AdminOptions {
  readiness: Readiness
  registry: Registry
}

/** Build the admin server (not listening). */
export function buildAdminServer (options: AdminOptions): FastifyInstance {
  const app = Fastify({ logger: false, requestIdHeader: false })
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
