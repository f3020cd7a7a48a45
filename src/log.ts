/** The logger: pino JSON to stdout; credentials are redacted even if one is ever passed by mistake. */
import { pino, type DestinationStream, type Logger } from 'pino'

/** Create the process logger at `level`, writing to `destination` (stdout by default). */
export function createLogger (level: string, destination?: DestinationStream): Logger {
  return pino({
    level,
    base: { app: 'portvakt' },
    redact: {
      paths: ['authorization', 'token', '*.authorization', '*.token', 'headers.authorization', 'req.headers.authorization'],
      censor: '[redacted]'
    }
  }, destination ?? pino.destination({ sync: false }))
}

export type { Logger }
