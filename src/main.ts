/**
 * The only module that touches the process (STYLE §1): environment, listening, signals, exit codes.
 */
import { checkRoutes } from './commands/check.js'
import { requestDevToken, type TokenCommandOptions } from './commands/token.js'
import { ConfigError } from './config/errors.js'
import { loadSettings } from './config/env.js'
import { formatBanner } from './dev/banner.js'
import { DEFAULT_ISSUER_PORT, loadDevConfig } from './dev/dev-config.js'
import { startDev } from './dev/start-dev.js'
import { createLogger, type Logger } from './log.js'
import { startGateway } from './start.js'

/** Report a start-up failure on stderr and exit 1: config errors plainly, others with their message. */
export function failStart (err: unknown): never {
  const text = err instanceof ConfigError ? err.message : `portvakt failed to start: ${(err as Error).message ?? String(err)}`
  process.stderr.write(text + '\n')
  process.exit(1)
}

/** `portvakt serve`: the production entry point. */
export async function serve (): Promise<void> {
  let settings
  try {
    settings = loadSettings(process.env)
  } catch (err) {
    failStart(err)
  }
  const logger = createLogger(settings.logLevel)
  const gateway = await startGateway(settings, logger).catch(failStart)
  let closing = false
  const stop = (signal: string): void => {
    if (closing) return
    closing = true
    logger.info({ signal }, 'shutting down')
    gateway.close().then(() => { logger.flush(); process.exit(0) }, (err: unknown) => {
      logger.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.on('SIGTERM', () => { stop('SIGTERM') })
  process.on('SIGINT', () => { stop('SIGINT') })
}

/** On SIGTERM or SIGINT, close once, flush the log and exit (serve's own copy predates it; fold it in after merging). */
function closeOnSignals (logger: Logger, close: () => Promise<void>): void {
  let closing = false
  const stop = (signal: string): void => {
    if (closing) return
    closing = true
    logger.info({ signal }, 'shutting down')
    close().then(() => { logger.flush(); process.exit(0) }, (err: unknown) => {
      logger.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.on('SIGTERM', () => { stop('SIGTERM') })
  process.on('SIGINT', () => { stop('SIGINT') })
}

/** `portvakt dev`: local issuer, demo upstream and the gate, for curl testing; refuses in a cluster. */
export async function dev (): Promise<void> {
  let config
  try {
    config = loadDevConfig(process.env)
  } catch (err) {
    failStart(err)
  }
  const logger = createLogger(config.logLevel)
  const run = await startDev(config, logger).catch(failStart)
  // The banner goes to stderr so stdout stays pure JSON logs (`portvakt dev | jq` works).
  process.stderr.write(formatBanner(run))
  closeOnSignals(logger, run.close)
}

/** `portvakt token`: print one bare token from the running dev issuer, and nothing else on stdout. */
export async function token (options: Omit<TokenCommandOptions, 'issuerUrl'>): Promise<void> {
  const port = process.env.PORTVAKT_DEV_ISSUER_PORT || String(DEFAULT_ISSUER_PORT)
  try {
    process.stdout.write(await requestDevToken({ ...options, issuerUrl: `http://127.0.0.1:${port}` }) + '\n')
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
    process.exitCode = 1
  }
}

/** `portvakt check`: the compiled table on stdout, problems on stderr; exit 1 when there is any error. */
export async function check (routesFile: string | undefined, manifestFile: string | undefined): Promise<void> {
  // Empty counts as unset, as in loadSettings.
  const file = routesFile ?? (process.env.PORTVAKT_ROUTES || 'config/routes.yaml')
  const report = await checkRoutes(file, manifestFile)
  if (report.table !== undefined) process.stdout.write(report.table)
  for (const warning of report.warnings) process.stderr.write(`warning: ${warning}\n`)
  for (const error of report.errors) process.stderr.write(`error: ${error}\n`)
  const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`
  if (report.ok) {
    const exposed = manifestFile === undefined ? '' : `, and every scope is exposed by ${manifestFile}`
    const warned = report.warnings.length === 0 ? '' : ` (${plural(report.warnings.length, 'warning')})`
    process.stdout.write(`${file}: valid${exposed}${warned}\n`)
  } else {
    process.stderr.write(`${file}: ${plural(report.errors.length, 'problem')}\n`)
  }
  process.exitCode = report.ok ? 0 : 1
}
