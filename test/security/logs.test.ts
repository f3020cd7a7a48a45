/**
 * What an error drags into the log. Errors carry more than their message: undici's HTTPParserError
 * holds the raw bytes it could not parse, so an upstream that echoes the request in a malformed
 * answer (a debug endpoint, a broken app) would put the caller's token in portvakt's error line.
 * Only named fields of an error are logged (observe/log.ts serializeError).
 */
import { createServer, type Server } from 'node:net'
import { Writable } from 'node:stream'
import t from 'tap'
import { createLogger } from '../../src/observe/log.js'
import { build } from '../helpers/build.js'
import { ask } from '../helpers/attack.js'

/** An upstream that answers with a forbidden byte in a header value, then echoes the request it got. */
async function startReflectingBrokenUpstream (): Promise<{ url: string, server: Server }> {
  const server = createServer((socket) => {
    socket.once('data', (request: Buffer) => {
      socket.end(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nX-Debug: \x01\r\nContent-Type: text/plain\r\n\r\n'), request]))
    })
    socket.on('error', () => { /* portvakt hangs up on the bad answer */ })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as { port: number }
  return { url: `http://127.0.0.1:${address.port}`, server }
}

t.test('an upstream that echoes the request in a malformed answer: 502, and the token is not in the error line', async (t) => {
  const upstream = await startReflectingBrokenUpstream()
  t.teardown(async () => { await new Promise((resolve) => upstream.server.close(resolve)) })
  const h = await build(t, { env: { PORTVAKT_UPSTREAM: upstream.url } })
  const token = await h.mint({ claims: { scope: 'nav:arbeid:arbeidsforhold.read' } })
  const res = await ask(`${h.url}/api/v1/arbeidsforhold`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(res.status, 502)
  t.equal(JSON.parse(res.body).code, 'PORTVAKT_ERR_UPSTREAM_UNAVAILABLE')
  const line = h.logs().find((l) => l.level === 50 && l.code === 'PORTVAKT_ERR_UPSTREAM_UNAVAILABLE')
  t.ok(line, 'the upstream failure is logged')
  const err = line?.err as Record<string, unknown>
  t.equal(err.type, 'HTTPParserError', 'what failed is still there')
  t.match(err.message, /HTTP\/1\.1|header/i)
  t.equal(err.data, undefined, 'the bytes the parser choked on are not')
  t.notOk(h.logText().includes(token), 'no token in any log line')
  t.notMatch(h.logText(), /authorization/i, 'nor the request head it was in')
})

t.test('only named fields of an error are logged, for causes and aggregates too', async (t) => {
  let text = ''
  const log = createLogger('info', new Writable({ write (chunk: Buffer, _enc, done) { text += chunk.toString(); done() } }))
  const inner = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '127.0.0.1', port: 1, headers: { authorization: 'Bearer inner-secret' } })
  const outer = Object.assign(new Error('the upstream could not be reached', { cause: inner }), { code: 'UND_ERR_SOCKET', data: 'authorization: Bearer outer-secret', payload: { pid: '01010112345' }, statusCode: 502 })
  log.error({ err: outer }, 'failed')
  log.error({ err: new AggregateError([inner, Object.assign(new Error('second'), { body: 'aggregate-secret' })], 'all failed') }, 'failed')
  log.error({ err: 'a plain message' }, 'failed')
  type Line = { err: Record<string, unknown> }
  const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Line)
  t.equal(lines.length, 3)
  const [first, second, third] = lines as [Line, Line, Line]
  t.same(Object.keys(first.err).sort(), ['code', 'message', 'stack', 'statusCode', 'type'])
  t.equal(first.err.code, 'UND_ERR_SOCKET')
  t.match(first.err.message, /could not be reached: connect ECONNREFUSED/, 'the cause is still told, in the message')
  t.match(first.err.stack, /caused by: Error: connect ECONNREFUSED/, 'and in the stack')
  const aggregated = second.err.aggregateErrors as [Record<string, unknown>, Record<string, unknown>]
  t.equal(aggregated.length, 2)
  t.same(aggregated[0], { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:1', stack: aggregated[0].stack, code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '127.0.0.1', port: 1 })
  t.equal(third.err as unknown, 'a plain message', 'a string passes as it is')
  t.notMatch(text, /secret|01010112345/, 'no other field of any error reaches the log')
})
