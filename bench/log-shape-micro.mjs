// Micro-benchmark of one access line in each log shape, outside the suite: pino's own shape (epoch
// `time`), the nais shape as observe/log.ts builds it (`@timestamp` formatted once per millisecond),
// and the nais shape formatting `@timestamp` on every line, the cost pino's docs warn of. Lines go to
// a destination that drops them, so only the line's making is measured; rounds alternate the three,
// and the ns per line are medians of the rounds.
//
//   npm run build && node bench/log-shape-micro.mjs [--rounds 21] [--lines 200000]
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { createLogger } from '../dist/observe/log.js'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '21' }, lines: { type: 'string', default: '200000' } } })
const sink = { write () { return true } }
// The gate's access logger: a child without the redaction pass (gate/access.ts).
const access = (logger) => logger.child({}, { redact: { paths: [] } })
const everyLine = pino({
  level: 'info',
  messageKey: 'message',
  base: { logger_name: 'portvakt' },
  timestamp: () => `,"@timestamp":"${new Date().toISOString()}"`,
  formatters: { level: (label) => ({ level: label.toUpperCase() }) }
}, sink)
const shapes = {
  pino: access(createLogger('info', sink, 'pino')),
  nais: access(createLogger('info', sink, 'nais')),
  'nais, @timestamp every line': access(everyLine)
}
const line = { method: 'GET', path: '/api/v1/items', route: 'GET,HEAD /api/v1/items', status: 200, consumer: '123456789', outcome: 'allowed', ms: 0.42 }
const n = Number(values.lines)
const times = Object.fromEntries(Object.keys(shapes).map((k) => [k, []]))
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [name, log] of Object.entries(shapes)) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) log.info(line, 'access')
    times[name].push(Number(process.hrtime.bigint() - t0) / n)
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
for (const [name, xs] of Object.entries(times)) process.stdout.write(`${name.padEnd(30)} ${median(xs).toFixed(0)} ns/line\n`)
