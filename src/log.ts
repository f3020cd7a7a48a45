/** The logger: pino JSON to stdout; credentials are redacted even if one is ever passed by mistake. */
import { pino, type DestinationStream, type Logger } from 'pino'

/** Create the process logger at `level`, writing to `destination` (stdout by default). */
export function createLogger (level: string, destination?: DestinationStream): Logger {
  return pino({
    level,
    base: { app: 'portvakt' },
    redact: {
      paths: ['authorization', 'token', '*.authorization', '*.token', 'headers.authorization', 'req.headers.authorization',
        // a proxy URL may carry credentials (http://user:pass@proxy); the egress line logs its host
        'settings.egress.proxy.http', 'settings.egress.proxy.https'],
      censor: '[redacted]'
    }
  }, destination ?? pino.destination({ sync: false }))
}

export type { Logger }
