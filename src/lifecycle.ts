/**
 * A gateway's life once assembled (assemble.ts): it follows route-table reloads, opens its listeners
 * (all of them or none), and stops at once or gracefully.
 */
import { ConfigError } from './config/errors.js'
import type { Settings } from './config/env.js'
import type { RouteTable } from './config/routes.js'
import { collectProblems, listenOrExplain } from './http/listen-error.js'
import { drainListener } from './http/shutdown.js'
import type { Logger } from './observe/log.js'
import { describeEgress, describeRoutes } from './observe/start-log.js'
import { TRACE_FLUSH_MS, type Parts } from './assemble.js'
import type { Gateway } from './start.js'

/** What `portvakt check` warns about the table, logged once it is in force. */
export function warnAboutRoutes (logger: Logger, table: RouteTable): void {
  if (table.warnings.length > 0) logger.warn({ warnings: table.warnings }, 'the route table in force has warnings (portvakt check shows them too)')
}

/** Log and count each reload; the egress listener follows the table (started by its first targets, stopped when none are left). */
export function followReloads (parts: Parts, logger: Logger): void {
  parts.routes.onReload(parts.metrics.observeReload)
  parts.routes.onReload((result) => {
    if (!result.ok) {
      logger.error({ trigger: result.trigger, problems: result.problems }, 'route table reload rejected; the previous table keeps serving')
      return
    }
    logger.info({ trigger: result.trigger, routes: describeRoutes(result.table), egress: describeEgress(result.table) }, 'route table reloaded')
    warnAboutRoutes(logger, result.table)
    void parts.egressHolder.follow()
  })
}

/**
 * Open the listeners: admin, egress (when the table lists targets), then the gate. Each is tried
 * even when one before it failed, so every port in use is named in one run (STYLE §3); on any
 * failure everything is closed again.
 */
export async function listenAll (parts: Parts, settings: Settings): Promise<void> {
  parts.keys.start()
  try {
    const problems = await collectProblems([
      async () => { await listenOrExplain({ portVariable: 'PORTVAKT_ADMIN_PORT', hostVariable: 'PORTVAKT_ADMIN_HOST', ...settings.admin }, async () => await parts.admin.listen({ host: settings.admin.host, port: settings.admin.port })) },
      async () => { await parts.egressHolder.start() },
      async () => { await listenOrExplain({ portVariable: 'PORTVAKT_PORT', hostVariable: 'PORTVAKT_HOST', host: settings.host, port: settings.port }, async () => await parts.app.listen({ host: settings.host, port: settings.port })) }
    ])
    if (problems.length > 0) throw new ConfigError('portvakt cannot start; fix these environment variables', problems)
    // Watched only once egress has started: a reload in between would start a second listener.
    parts.routes.watch()
  } catch (err) {
    // A port in use must not leave the other listeners, the key schedule or the watch behind.
    parts.keys.stop()
    parts.routes.close()
    await Promise.allSettled([parts.app.close(), parts.admin.close(), parts.egressHolder.close(), parts.altinn?.close(), parts.tracing?.shutdown(TRACE_FLUSH_MS)])
    throw err
  }
}

/** The ways a running gateway stops. */
export function stopsOf (parts: Parts, settings: Settings, logger: Logger): Pick<Gateway, 'close' | 'shutdown' | 'closeEgress'> {
  const { egressHolder } = parts
  const closeEgress = async (timeoutMs = settings.shutdown.timeoutMs): Promise<void> => {
    const running = egressHolder.listener !== undefined
    const started = Date.now()
    await egressHolder.close(timeoutMs)
    if (running) logger.info('shutdown: egress listener closed')
    // Last: the spans of the last requests, both sides', go out within what is left of the deadline.
    await parts.tracing?.shutdown(Math.max(0, timeoutMs - (Date.now() - started)))
  }
  return {
    close: async () => {
      parts.keys.stop()
      parts.routes.close()
      await parts.app.close()
      await parts.admin.close()
      await egressHolder.close()
      await parts.altinn?.close()
      await parts.tracing?.shutdown(TRACE_FLUSH_MS)
    },
    shutdown: async (options = {}) => {
      // From here on a reload changes nothing about the egress listener.
      egressHolder.stopFollowing()
      // One deadline for the drain and the egress close after it, so the worst case stays delay +
      // timeout, as the README's grace-period arithmetic says.
      const deadline = Date.now() + settings.shutdown.delayMs + settings.shutdown.timeoutMs
      await drainListener(parts.app, parts.readiness, settings.shutdown, logger)
      parts.keys.stop()
      parts.routes.close()
      await parts.admin.close()
      await parts.altinn?.close()
      if (options.keepEgress !== true) await closeEgress(Math.max(0, deadline - Date.now()))
    },
    closeEgress
  }
}
