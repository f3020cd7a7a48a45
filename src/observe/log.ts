/**
 * The logger: pino JSON to stdout, in the shape NAV's log views index (`nais`, the default) or in
 * pino's own (`pino`); credentials are redacted even if one is ever passed by mistake.
 */
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino'
import type { LogFormat } from '../config/env-values.js'
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

// The fields of an error that reach a log line. Errors carry more: undici's HTTPParserError holds the
// raw bytes it could not parse (an upstream that echoes the request puts the caller's token there),
// jose's claim errors the token's payload, others request options or headers. pino's own serializer
// logs every enumerable field, so a field is logged only if it is named here: fail closed.
const ERROR_FIELDS = ['type', 'message', 'stack', 'code', 'errno', 'syscall', 'address', 'port', 'status', 'statusCode'] as const

/** pino's error serializer, cut down to ERROR_FIELDS (causes stay in message and stack, as pino writes them). */
export function serializeError (err: unknown): unknown {
  if (!(err instanceof Error)) return err
  const full = pino.stdSerializers.err(err) as unknown as Record<string, unknown>
  const safe: Record<string, unknown> = {}
  for (const field of ERROR_FIELDS) {
    const value = full[field]
    if (typeof value === 'string' || typeof value === 'number') safe[field] = value
  }
  if (Array.isArray(full.aggregateErrors)) safe.aggregateErrors = (err as AggregateError).errors.map(serializeError)
  return safe
}

let lastMs = Number.NaN
let lastStamp = ''

/**
 * `,"@timestamp":"<ISO 8601>"` for now, formatted once per millisecond: pino's docs warn that
 * formatting time in the process costs, and a busy gate writes several lines a millisecond.
 */
function isoTimestamp (): string {
  const now = Date.now()
  if (now !== lastMs) {
    lastMs = now
    lastStamp = `,"@timestamp":"${new Date(now).toISOString()}"`
  }
  return lastStamp
}

/** An Error in `err` as the logstash encoder writes one: its stack in `stack_trace`, the other named fields stay in `err`. */
function withStackTrace (fields: Record<string, unknown>): Record<string, unknown> {
  if (!(fields.err instanceof Error)) return fields
  const { stack, ...rest } = serializeError(fields.err) as Record<string, unknown>
  return { ...fields, err: rest, stack_trace: stack }
}

/**
 * The `nais` shape: what logstash-logback-encoder writes for NAV's JVM apps (its "Standard Fields":
 * https://github.com/logfellow/logstash-logback-encoder#standard-fields), so Kibana and Grafana
 * show portvakt's lines like theirs: `@timestamp`, `level` by name (INFO, WARN, ERROR, FATAL, as
 * https://docs.nais.io/observability/logging/ asks), `message`, `logger_name`, `stack_trace`.
 */
const NAIS_SHAPE: LoggerOptions = {
  messageKey: 'message',
  base: { logger_name: 'portvakt' },
  timestamp: isoTimestamp,
  formatters: {
    level: (label) => ({ level: label.toUpperCase() }),
    log: withStackTrace
  }
}

const PINO_SHAPE: LoggerOptions = { base: { app: 'portvakt' } }

/**
 * Create the process logger at `level`, writing to `destination` (stdout, buffered, by default), in
 * `format` (pino's own shape unless told: main.ts passes PORTVAKT_LOG_FORMAT, `nais` by default).
 */
export function createLogger (level: string, destination?: DestinationStream, format: LogFormat = 'pino'): Logger {
  return pino({
    level,
    ...(format === 'nais' ? NAIS_SHAPE : PINO_SHAPE),
    serializers: { err: serializeError },
    redact: {
      // Proxy URLs may carry credentials (http://user:pass@proxy): the start line masks them itself
      // (observe/start-log.ts), keeping the host, so an operator can tell whether one is set and which.
      paths: ['authorization', 'token', '*.authorization', '*.token', 'headers.authorization', 'req.headers.authorization'],
      censor: '[redacted]'
    }
  }, destination ?? createStdout())
}

export type { Logger }
