/**
 * The only module that touches the process (STYLE §1): environment, listening, signals, exit codes.
 */
import { ConfigError } from './config/errors.js'
import { loadSettings } from './config/env.js'
import { createLogger } from './log.js'
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
    // The log is buffered (log.ts): exit once the last lines are written.
    gateway.close().then(() => { logger.flush(() => { process.exit(0) }) }, (err: unknown) => {
      logger.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.on('SIGTERM', () => { stop('SIGTERM') })
  process.on('SIGINT', () => { stop('SIGINT') })
}
