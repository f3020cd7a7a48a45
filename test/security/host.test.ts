/**
 * Host attacks, over a raw socket: two Host lines in any spelling, a Host that is not one valid
 * host[:port] (userinfo, paths, spaces, commas, escapes, numbers a URL parser reads as another
 * address, IPv6 forms), and a missing Host. Each is a 400 in our format before any route or token
 * is looked at, the connection closed, the upstream seeing nothing; a valid Host reaches the app as
 * X-Forwarded-Host exactly as sent.
 */
import t, { type Test } from 'tap'
import { isValidHost } from '../../src/http/host.js'
import { build } from '../helpers/build.js'
import { assertDenied, resetSeen, sendRaw } from '../helpers/attack.js'

// Each family a reviewer would try, with the variants that make it up.
const INVALID: Record<string, string[]> = {
  'userinfo': ['user@portvakt.test', 'user:pw@portvakt.test', '@portvakt.test', 'portvakt.test@evil.example'],
  'path, query, fragment, backslash': ['portvakt.test/admin', 'portvakt.test?x', 'portvakt.test#x', 'portvakt.test\\evil', '/'],
  'spaces, tabs, commas and other sub-delims': ['portvakt.test evil.example', 'portvakt.test\tx', 'portvakt.test,evil.example', 'a;b', 'a!b', "a'b", 'a(b)', 'a*b', 'a+b', 'a=b', 'a&b', 'a$b', 'a~b'],
  'percent-escapes': ['portvakt%2etest', '%70ortvakt.test', 'a%00b', '%'],
  'empty, empty labels': ['', '.', '..', '.portvakt.test', 'portvakt..test', 'portvakt.test..'],
  'ports: empty, too long, too large, not digits': ['portvakt.test:', 'portvakt.test:65536', 'portvakt.test:99999', 'portvakt.test:123456', 'portvakt.test:80a', 'portvakt.test:+80', 'portvakt.test:-1', 'portvakt.test:8080:80', ':80'],
  'unbracketed IPv6, two colons': ['::1', '::1:8080', 'fe80::1', 'a:b:c'],
  'bracket forms: zone IDs, IPvFuture, not an address, half brackets': ['[::1%25eth0]', '[fe80::1%eth0]', '[v1.abc]', '[vF.x:y]', '[::g]', '[1.2.3.4]', '[]', '[::1', '::1]', '[::1]x', '[::1]:', '[[::1]]'],
  'numbers a URL parser reads as another address': ['1.2.3.256', '01.2.3.4', '1.2.3.04', '0x7f.0.0.1', '0x7f000001', '127.1', '2130706433', '1.2.3.4.', '1.2.3', '1.2.3.4.5', 'example.123', '0x', 'example.0x1F'],
  'non-ASCII': ['æ.no', 'portvakt.tëst', 'ｅxample.com']
}

const VALID = ['portvakt.test', 'PORTVAKT.Test', 'portvakt.test:8080', 'portvakt.test:0', 'portvakt.test:65535', 'portvakt.test.', 'my_host.namespace.svc.cluster.local', 'xn--5ca.no', 'localhost',
  '127.0.0.1', '10.0.0.5:8080', '255.255.255.255', '0.0.0.0', '[::1]', '[::1]:8080', '[FE80::1]', '[::ffff:127.0.0.1]:80', '[2001:db8::8a2e:370:7334]', 'a-b.c', '1a.example', 'example.1a']

t.test('isValidHost accepts every valid form and refuses every invalid family', async (t) => {
  for (const host of VALID) t.ok(isValidHost(host), `valid: ${host}`)
  for (const [family, hosts] of Object.entries(INVALID)) {
    for (const host of hosts) t.notOk(isValidHost(host), `${family}: ${JSON.stringify(host)}`)
  }
})

t.test('Host attacks', async (t) => {
  const h = await build(t)
  const token = await h.mint()
  t.beforeEach(() => { resetSeen(h) })
  const get = (hostLines: string[], path = '/api/v1/arbeidsforhold/1', version = '1.1'): string =>
    [`GET ${path} HTTP/${version}`, ...hostLines, `Authorization: Bearer ${token}`, 'Connection: close'].join('\r\n') + '\r\n\r\n'
  const refused = async (t: Test, text: string | Buffer, message: RegExp): Promise<void> => {
    const res = await sendRaw(h.url, text)
    assertDenied(t, h, res, { status: 400, code: 'PORTVAKT_ERR_MALFORMED_REQUEST', challenge: null, message, secrets: [token] })
    t.equal(res.headers.connection, 'close', 'the connection is closed')
  }

  t.test('two Host lines, the same or different, in any letter case, are a 400 before the route or token is looked at', async (t) => {
    for (const [a, b] of [['Host', 'Host'], ['Host', 'host'], ['HOST', 'hOsT'], ['host', 'Host']]) {
      for (const [first, second] of [['portvakt.test', 'evil.example'], ['portvakt.test', 'portvakt.test'], ['portvakt.test', '']]) {
        resetSeen(h)
        await refused(t, get([`${a}: ${first}`, `${b}: ${second}`]), /more than one Host header/)
      }
    }
    // On a public route and an unrouted path too: the Host is read before any route.
    resetSeen(h)
    await refused(t, get(['Host: portvakt.test', 'Host: evil.example'], '/public'), /more than one Host header/)
    resetSeen(h)
    await refused(t, get(['Host: portvakt.test', 'Host: evil.example'], '/nowhere'), /more than one Host header/)
  })

  t.test('a Host that is not a valid host[:port] is a 400, in every family', async (t) => {
    for (const [family, hosts] of Object.entries(INVALID)) {
      for (const host of hosts) {
        resetSeen(h)
        const text = Buffer.from(get([`Host: ${host}`], '/public'), 'utf8')
        const res = await sendRaw(h.url, text)
        // Node's parser refuses some bytes (NUL) itself: the same answer, from client-error.ts.
        assertDenied(t, h, res, { status: 400, code: 'PORTVAKT_ERR_MALFORMED_REQUEST', challenge: null, message: /Host|not valid HTTP/, secrets: [token] })
        t.equal(res.headers.connection, 'close', `${family}: ${JSON.stringify(host)} closes the connection`)
      }
    }
  })

  t.test('a missing Host on HTTP/1.1 is a 400 in our format, not Node\'s bare one', async (t) => {
    await refused(t, get([]), /an HTTP\/1\.1 request needs a Host header/)
    const line = h.logs().filter((l) => l.msg === 'access' && l.code === 'PORTVAKT_ERR_MALFORMED_REQUEST').at(-1)
    t.match(line, { status: 400, outcome: 'bad_request', path: '/api/v1/arbeidsforhold/1' }, 'an access line that says why')
  })

  t.test('HTTP/1.0 without Host is forwarded (RFC 9112 §3.2 asks Host of HTTP/1.1 only), with no X-Forwarded-Host', async (t) => {
    const res = await sendRaw(h.url, get([], '/public', '1.0'))
    t.equal(res.status, 200)
    t.equal(h.upstream.seen.length, 1)
    t.equal(h.upstream.seen[0]?.headers['x-forwarded-host'], undefined)
  })

  t.test('a valid Host reaches the app as X-Forwarded-Host exactly as sent', async (t) => {
    for (const host of VALID) {
      resetSeen(h)
      const res = await sendRaw(h.url, get([`Host: ${host}`]))
      t.equal(res.status, 200, host)
      t.equal(h.upstream.seen[0]?.headers['x-forwarded-host'], host)
    }
  })
})
