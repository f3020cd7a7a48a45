/** The logger: pino JSON to stdout; credentials are redacted even if one is ever passed by mistake. */
import { pino, type DestinationStream, type Logger } from 'pino'

// Lines are gathered up to 4 KB before a write (one write per line costs a thread-pool round trip per
// request; measured in bench/, issue 6) and flushed at least every second so a quiet gate's lines appear.
const BUFFER_BYTES = 4096
const FLUSH_EVERY_MS = 1000

function createStdout (): DestinationStream {
  const stream = pino.destination({ sync: false, minLength: BUFFER_BYTES })
  setInterval(() => { stream.flush() }, FLUSH_EVERY_MS).unref()
  return stream
}

/** Create the process logger at `level`, writing to `destination` (stdout, buffered, by default). */
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
  }, destination ?? createStdout())
}

export type { Logger }
