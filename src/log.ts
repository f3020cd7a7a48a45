/** The logger: pino JSON to stdout; credentials are redacted even if one is ever passed by mistake. */
import { pino, type DestinationStream, type Logger } from 'pino'
import { LineBuffer } from './log-buffer.js'

// Lines are gathered in chunks (log-buffer.ts says why and what it costs) and flushed at least
// every second so a quiet gate's lines appear.
const FLUSH_EVERY_MS = 1000

function createStdout (): DestinationStream {
  const stream = new LineBuffer({ fd: 1 })
  setInterval(() => { stream.flushSync() }, FLUSH_EVERY_MS).unref()
  // process.exit() and an uncaught exception end the process without a flush: the last lines (often
  // the reason it ended) must still come out.
  process.on('exit', () => { stream.flushSync() })
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
