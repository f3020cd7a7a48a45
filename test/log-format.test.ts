/**
 * The log lines' shape: by default what NAV's JVM apps write with logstash-logback-encoder (the
 * field names Kibana and Grafana index), pino's own behind PORTVAKT_LOG_FORMAT=pino. Redaction, the
 * error-field allowlist and whole lines hold in both (test/security/logs.test.ts, log-buffer.test.ts).
 */
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { loadSettings } from '../src/config/env.js'
import { createLogger } from '../src/observe/log.js'
import { build } from './helpers/build.js'
import { startServe } from './helpers/cli.js'

// Enough to start: the keys at this address are never fetched in time, and need not be.
const ISSUER_ENV = { MASKINPORTEN_ISSUER: 'https://test.maskinporten.no/', MASKINPORTEN_JWKS_URI: 'http://127.0.0.1:9/jwks' }

function memory (format: 'nais' | 'pino', level = 'trace'): { logger: ReturnType<typeof createLogger>, lines: () => Array<Record<string, unknown>>, text: () => string } {
  let text = ''
  const logger = createLogger(level, new Writable({ write (chunk: Buffer, _enc, done) { text += chunk.toString(); done() } }), format)
  return { logger, lines: () => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>), text: () => text }
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

t.test('the nais shape: @timestamp in ISO 8601, level by name, message, logger_name, the fields as given', async (t) => {
  const { logger, lines } = memory('nais')
  const before = Date.now()
  logger.trace('t')
  logger.debug('d')
  logger.info({ route: 'api', status: 200 }, 'access')
  logger.warn('w')
  logger.error('e')
  logger.fatal('f')
  const [trace, debug, info, warn, error, fatal] = lines() as Array<Record<string, unknown>>
  t.same([trace, debug, info, warn, error, fatal].map((l) => l?.level), ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'])
  t.same(info, { level: 'INFO', '@timestamp': info?.['@timestamp'], logger_name: 'portvakt', route: 'api', status: 200, message: 'access' }, 'nothing else: no msg, time, app, pid or hostname')
  t.match(info?.['@timestamp'], ISO)
  const stamp = Date.parse(info?.['@timestamp'] as string)
  t.ok(stamp >= before && stamp <= Date.now(), 'the time it was written')
})

t.test('@timestamp moves on with the clock (it is formatted once per millisecond, not once)', async (t) => {
  const { logger, lines } = memory('nais')
  logger.info('first')
  await sleep(5)
  logger.info('second')
  const [first, second] = lines().map((l) => Date.parse(l['@timestamp'] as string)) as [number, number]
  t.ok(second - first >= 4, `${second - first} ms apart`)
})

t.test('an error in the nais shape: its stack in stack_trace, the other named fields in err, nothing else of it', async (t) => {
  const { logger, lines, text } = memory('nais')
  const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', headers: { authorization: 'Bearer cause-secret' } })
  logger.error({ err: Object.assign(new Error('the upstream could not be reached', { cause }), { code: 'UND_ERR_SOCKET', data: 'authorization: Bearer data-secret' }) }, 'failed')
  logger.error({ err: 'a plain message' }, 'failed')
  const [first, second] = lines() as [Record<string, unknown>, Record<string, unknown>]
  t.match(first.stack_trace, /^Error: the upstream could not be reached[\s\S]*caused by: Error: connect ECONNREFUSED/)
  t.same(first.err, { type: 'Error', message: 'the upstream could not be reached: connect ECONNREFUSED 127.0.0.1:1', code: 'UND_ERR_SOCKET' })
  t.equal(second.err, 'a plain message', 'a string passes as it is')
  t.equal(second.stack_trace, undefined)
  t.notMatch(text(), /secret/, 'no other field of the error or its cause')
})

t.test('credentials are redacted in the nais shape too', async (t) => {
  const { logger, text } = memory('nais')
  logger.info({ authorization: 'Bearer a-secret', headers: { authorization: 'Bearer b-secret' }, token: 'c-secret' }, 'oops')
  t.notMatch(text(), /secret/)
  t.match(text(), /"authorization":"\[redacted\]"/)
})

t.test('the pino shape is today\'s: numeric level, time, msg, app', async (t) => {
  const { logger, lines } = memory('pino')
  logger.info({ route: 'api' }, 'access')
  t.match(lines()[0], { level: 30, app: 'portvakt', route: 'api', msg: 'access', time: Number })
  t.equal(lines()[0]?.message, undefined)
})

t.test('PORTVAKT_LOG_FORMAT: nais by default, pino on request, anything else refused naming the choices', async (t) => {
  t.equal(loadSettings(ISSUER_ENV).logFormat, 'nais')
  t.equal(loadSettings({ ...ISSUER_ENV, PORTVAKT_LOG_FORMAT: 'pino' }).logFormat, 'pino')
  const refused = (() => { try { loadSettings({ ...ISSUER_ENV, PORTVAKT_LOG_FORMAT: 'json' }) } catch (err) { return err } })()
  t.match(refused, { name: 'ConfigError', problems: [/^PORTVAKT_LOG_FORMAT: write nais or pino/] })
})

t.test('the gate\'s access line in the nais shape', async (t) => {
  const h = await build(t, { env: { PORTVAKT_LOG_FORMAT: 'nais' } })
  await fetch(`${h.url}/public`)
  t.match(h.logs().find((l) => l.message === 'access'), { level: 'INFO', logger_name: 'portvakt', method: 'GET', path: '/public', status: 200, outcome: 'public', '@timestamp': ISO })
})

t.test('portvakt serve writes the nais shape by default and pino\'s with PORTVAKT_LOG_FORMAT=pino', async (t) => {
  const nais = await startServe(t, { ...ISSUER_ENV, PORTVAKT_ROUTES: 'config/routes.yaml' })
  t.match(nais.logs().find((l) => l.message === 'portvakt started'), { level: 'INFO', logger_name: 'portvakt', '@timestamp': ISO })
  nais.child.kill('SIGTERM')
  await nais.exited
  const pino = await startServe(t, { ...ISSUER_ENV, PORTVAKT_ROUTES: 'config/routes.yaml', PORTVAKT_LOG_FORMAT: 'pino' })
  t.match(pino.logs().find((l) => l.msg === 'portvakt started'), { level: 30, app: 'portvakt', time: Number })
})
