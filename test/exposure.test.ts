/**
 * The app reachable around the gate: the /proc/net parser on captured tables, then real listeners
 * on the upstream's port (every address, `::`, the machine's own addresses, loopback forms) with
 * readiness reading this machine's real /proc/net: 503 with the reason and one error line while the
 * port is bound beyond loopback, 200 on loopback only; the setting, an unreadable table and an
 * upstream elsewhere turn the check off.
 */
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { networkInterfaces } from 'node:os'
import t, { type Test } from 'tap'
import { parseListeningSockets } from '../src/admin/listening-sockets.js'
import { build, type Harness } from './helpers/build.js'

// Captured on x86_64 (little-endian) with listeners on each address, ports 8081-8088 and 8090 (a
// link-local address); added by hand: an established and a TIME_WAIT row, which are not
// listeners, and ::ffff:10.0.0.5 on 8091.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0200007F:1F98 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 145479 1 00000000b096d6ba 100 0 0 10 0
   1: 020200C0:1F93 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 145474 1 00000000248f9dba 100 0 0 10 0
   4: 0100007F:1F92 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 145473 1 00000000d08bafaf 100 0 0 10 0
   5: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 145472 1 00000000a74da4ef 100 0 0 10 0
   6: 0100007F:1F92 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 145480 1 00000000d08bafaf 20 4 30 10 -1
   7: 00000000:1F99 0100007F:C351 06 00000000:00000000 03:00001234 00000000     0        0 0 3 00000000d08bafaf
`
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 000000FD000000000000000002000000:1F97 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 145478 1 00000000da8396d5 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:1F96 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 145477 1 0000000009ab9ced 100 0 0 10 0
   2: 00000000000000000000000000000000:1F94 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 145475 1 0000000086bdadd1 100 0 0 10 0
   3: 00000000000000000000000001000000:1F95 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 145476 1 00000000540637f5 100 0 0 10 0
   4: 000080FE00000000FF00FC00010000FE:1F9A 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 146840 1 00000000182d9a25 100 0 0 10 0
   5: 0000000000000000FFFF00000500000A:1F9B 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 145482 1 00000000540637f5 100 0 0 10 0
`

t.test('parses the LISTEN rows of /proc/net/tcp, little-endian addresses and hex ports, and skips the rest', async (t) => {
  t.same(parseListeningSockets(TCP), [
    { address: '127.0.0.2', port: 8088 },
    { address: '192.0.2.2', port: 8083 },
    { address: '127.0.0.1', port: 8082 },
    { address: '0.0.0.0', port: 8081 }
  ])
})

t.test('parses /proc/net/tcp6: ::, ::1, IPv4-mapped, global and link-local addresses in short form', async (t) => {
  t.same(parseListeningSockets(TCP6), [
    { address: 'fd00::2', port: 8087 },
    { address: '::ffff:127.0.0.1', port: 8086 },
    { address: '::', port: 8084 },
    { address: '::1', port: 8085 },
    { address: 'fe80::fc:ff:fe00:1', port: 8090 },
    { address: '::ffff:10.0.0.5', port: 8091 }
  ])
})

t.test('reads a big-endian machine\'s table, where each address word is in network order', async (t) => {
  const big = '   0: 7F000001:1F92 00000000:0000 0A\n   1: 00000000000000000000000000000001:1F95 00000000000000000000000000000000:0000 0A\n'
  t.same(parseListeningSockets(big, false), [{ address: '127.0.0.1', port: 8082 }, { address: '::1', port: 8085 }])
})

t.test('skips rows it cannot read: no address, a bad width, a missing port', async (t) => {
  t.same(parseListeningSockets('garbage\n 0: 7F00:1F92 x 0A\n 1: 0100007F 00000000:0000 0A\n 2: 0100007F:zz 00000000:0000 0A\n\n'), [])
})

const readProc = async (table: 'tcp' | 'tcp6'): Promise<string> => await readFile(`/proc/net/${table}`, 'utf8')

async function listen (t: Test, host: string, port = 0, ipv6Only = false): Promise<Server> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen({ host, port, ipv6Only }, resolve) })
  t.teardown(() => { server.close() })
  return server
}
const portOf = (server: Server): number => (server.address() as { port: number }).port

async function isready (h: Harness): Promise<{ status: number, body: { status: string, reasons?: string[] } }> {
  const res = await fetch(`${h.adminUrl}/isready`)
  return { status: res.status, body: await res.json() as { status: string, reasons?: string[] } }
}

/** A portvakt whose upstream is `port` on 127.0.0.1, reading this machine's /proc/net. */
async function gateFor (t: Test, port: number, env: Record<string, string> = {}, read = readProc): Promise<Harness> {
  return await build(t, { env: { PORTVAKT_UPSTREAM: `http://127.0.0.1:${port}`, ...env }, readSocketTable: read })
}

const errorLines = (h: Harness): Array<Record<string, unknown>> => h.logs().filter((l) => l.level === 50 && typeof l.msg === 'string' && l.msg.startsWith('the app listens on'))

const machine = Object.values(networkInterfaces()).flat().filter((i) => i !== undefined && !i.internal)
const podIPv4 = machine.find((i) => i?.family === 'IPv4')?.address
const podIPv6 = machine.find((i) => i?.family === 'IPv6' && !i.address.startsWith('fe80'))?.address
const hasIPv6 = await listen(t, '::1').then(() => true, () => false)

t.test('readiness refuses while the upstream\'s port is bound beyond loopback, logging the address once', async (t) => {
  const cases: Array<[string, string | undefined, boolean, RegExp]> = [
    ['every IPv4 address', '0.0.0.0', false, /0\.0\.0\.0:\d+ \(every IPv4 address\)/],
    ['every address, dual stack', hasIPv6 ? '::' : undefined, false, /\[::\]:\d+ \(every address\)/],
    ['every IPv6 address, v6 only', hasIPv6 ? '::' : undefined, true, /\[::\]:\d+ \(every address\)/],
    ['the machine\'s own IPv4 address (the pod IP)', podIPv4, false, new RegExp(`${podIPv4 ?? 'none'}:\\d+`)],
    ['the machine\'s own IPv6 address', hasIPv6 ? podIPv6 : undefined, false, new RegExp(`\\[${podIPv6 ?? 'none'}\\]:\\d+`)]
  ]
  for (const [what, host, ipv6Only, where] of cases) {
    t.test(what, { skip: host === undefined ? `no such address on this machine (IPv6: ${hasIPv6})` : false }, async (t) => {
      const app = await listen(t, host ?? '', 0, ipv6Only)
      const h = await gateFor(t, portOf(app))
      for (let probe = 0; probe < 3; probe++) {
        const answer = await isready(h)
        t.equal(answer.status, 503)
        t.match(answer.body.reasons, [where])
        t.match(answer.body.reasons?.[0], /beyond loopback; bind it to 127\.0\.0\.1/)
      }
      const lines = errorLines(h)
      t.equal(lines.length, 1, 'one error line for three probes: per change of state, not per probe')
      t.match(lines[0], { port: portOf(app), addresses: [host] })
      t.match(lines[0]?.msg, where)
      t.match(lines[0]?.msg, /Ktor: host = "127\.0\.0\.1"; Spring Boot: server\.address=127\.0\.0\.1/)
      t.match(lines[0]?.msg, /PORTVAKT_ALLOW_EXPOSED_UPSTREAM=true/)
    })
  }
})

t.test('readiness is not refused while the upstream\'s port is on loopback only', async (t) => {
  const cases: Array<[string, string[]]> = [['127.0.0.1', ['127.0.0.1']], ['127.0.0.2 (all of 127/8 is loopback)', ['127.0.0.2']]]
  if (hasIPv6) cases.push(['::1', ['::1']], ['::ffff:127.0.0.1', ['::ffff:127.0.0.1']], ['127.0.0.1 and ::1', ['127.0.0.1', '::1']])
  for (const [what, hosts] of cases) {
    t.test(what, async (t) => {
      const first = await listen(t, hosts[0] ?? '')
      for (const host of hosts.slice(1)) await listen(t, host, portOf(first))
      // Another port on every address is not the upstream's business.
      await listen(t, '0.0.0.0')
      const h = await gateFor(t, portOf(first))
      t.same(await isready(h), { status: 200, body: { status: 'ready' } })
      t.same(errorLines(h), [])
    })
  }
  if (!hasIPv6) t.comment('IPv6 loopback cases skipped: this machine has no ::1')
})

t.test('another port beyond loopback that is not portvakt\'s or the platform\'s is named in a warning; readiness is not refused for it', async (t) => {
  const app = await listen(t, '127.0.0.1')
  const second = await listen(t, '0.0.0.0')
  const h = await gateFor(t, portOf(app))
  t.same(await isready(h), { status: 200, body: { status: 'ready' } }, 'ready: it may be another container\'s on purpose')
  const warnings = h.logs().filter((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.startsWith('other ports listen beyond loopback'))
  const named = warnings.flatMap((l) => l.listeners as string[])
  t.ok(named.includes(`0.0.0.0:${portOf(second)} (every IPv4 address)`), `the second listener is named (${named.length} named in all)`)
  t.match(warnings[0]?.msg, /management\.server\.port .* bind it to 127\.0\.0\.1 or close it with a NetworkPolicy/)
  for (const own of [h.gateway.port, h.gateway.adminPort, 7164, 7564]) t.notOk(named.some((n) => n.includes(`:${own} `)), `not portvakt's or the platform's own port ${own}`)
  t.same(errorLines(h), [], 'and no error line')
})

t.test('readiness follows the app: exposed, then loopback only, then exposed again, one line per change', async (t) => {
  const exposed = await listen(t, '0.0.0.0')
  const port = portOf(exposed)
  const h = await gateFor(t, port)
  t.match(errorLines(h), [{ port }], 'the start already logged it, before any probe')
  t.equal((await isready(h)).status, 503)
  await new Promise<void>((resolve) => exposed.close(() => { resolve() }))
  const loopback = await listen(t, '127.0.0.1', port)
  t.same(await isready(h), { status: 200, body: { status: 'ready' } })
  t.same(await isready(h), { status: 200, body: { status: 'ready' } })
  t.equal(h.logs().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('the app listens on loopback only')).length, 1)
  await new Promise<void>((resolve) => loopback.close(() => { resolve() }))
  await listen(t, '0.0.0.0', port)
  t.equal((await isready(h)).status, 503)
  t.equal(errorLines(h).length, 2, 'one more error line for the second change')
})

t.test('PORTVAKT_ALLOW_EXPOSED_UPSTREAM=true turns the check off, with a warning at start', async (t) => {
  const app = await listen(t, '0.0.0.0')
  let reads = 0
  const h = await gateFor(t, portOf(app), { PORTVAKT_ALLOW_EXPOSED_UPSTREAM: 'true' }, async (table) => { reads++; return await readProc(table) })
  t.same(await isready(h), { status: 200, body: { status: 'ready' } })
  t.match(h.logs().filter((l) => l.level === 40), [{ msg: /PORTVAKT_ALLOW_EXPOSED_UPSTREAM=true: \/isready does not check/ }])
  t.equal(reads, 0, 'the tables are not read at all')
  t.same(errorLines(h), [])
})

t.test('where /proc/net cannot be read (not Linux), one warning at start and no check', async (t) => {
  const app = await listen(t, '0.0.0.0')
  let reads = 0
  const h = await gateFor(t, portOf(app), {}, async () => { reads++; throw Object.assign(new Error('ENOENT: no such file or directory, open \'/proc/net/tcp\''), { code: 'ENOENT' }) })
  t.same(await isready(h), { status: 200, body: { status: 'ready' } })
  t.same(await isready(h), { status: 200, body: { status: 'ready' } })
  t.match(h.logs().filter((l) => l.level === 40), [{ msg: /the listening sockets can't be read/, err: 'no such file' }], 'one warning')
  t.equal(reads, 1, 'read once, at start')
})

t.test('a machine without IPv6 (no tcp6 table) is checked on tcp alone', async (t) => {
  const app = await listen(t, '0.0.0.0')
  const h = await gateFor(t, portOf(app), {}, async (table) => {
    if (table === 'tcp6') throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' })
    return await readProc(table)
  })
  t.equal((await isready(h)).status, 503)
})

t.test('a table that stops being readable keeps the last state seen, with one warning', async (t) => {
  const app = await listen(t, '0.0.0.0')
  let broken = false
  const h = await gateFor(t, portOf(app), {}, async (table) => {
    if (broken) throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' })
    return await readProc(table)
  })
  broken = true
  t.equal((await isready(h)).status, 503, 'still exposed as far as portvakt knows')
  t.equal((await isready(h)).status, 503)
  t.equal(h.logs().filter((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.startsWith('the listening sockets could not be read')).length, 1)
})

t.test('an upstream that is not on loopback (the app runs elsewhere) is not checked', async (t) => {
  let reads = 0
  const h = await build(t, { env: { PORTVAKT_UPSTREAM: 'http://app.team.svc.cluster.local:8081' }, readSocketTable: async (table) => { reads++; return await readProc(table) } })
  t.same(await isready(h), { status: 200, body: { status: 'ready' } })
  t.equal(reads, 0)
})
