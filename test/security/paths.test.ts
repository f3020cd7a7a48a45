/**
 * Path and request-target attacks: everything that could make the
 * path we authorise differ from the path the upstream serves. Sent over raw sockets, since fetch
 * would resolve dot segments and re-encode before we ever saw them. Every request carries a valid
 * token for the read scope, so only the path policy stands in the way.
 */
import t from 'tap'
import { build } from '../helpers/build.js'
import { assertDenied, rawGet, resetSeen, sendRaw, type Answer } from '../helpers/attack.js'

const DOTDOT = ['..', '%2e%2e', '%2E%2E', '%2e%2E', '%2E%2e', '.%2e', '.%2E', '%2e.', '%2E.']
const DOT = ['.', '%2e', '%2E']

t.test('path attacks', async (t) => {
  const h = await build(t)
  const token = await h.mint()
  const auth = { Authorization: `Bearer ${token}` }
  const send = async (target: string, method = 'GET'): Promise<Answer> => await sendRaw(h.url, rawGet(target, auth, method))
  const badPath = { status: 400, code: 'PORTVAKT_ERR_BAD_PATH', challenge: null, secrets: [token] }
  const rawBadPath = { ...badPath, message: /the path holds a raw control character or non-ASCII byte/ }
  t.beforeEach(() => { resetSeen(h) })

  t.test('a plain path with a valid token passes (control)', async (t) => {
    const res = await send('/api/v1/arbeidsforhold/42?x=1')
    t.equal(res.status, 200)
    t.same(h.upstream.seen.map((s) => s.url), ['/api/v1/arbeidsforhold/42?x=1'])
  })

  t.test('refuses .. segments, raw and encoded in every case mix, anywhere in the path', async (t) => {
    for (const dots of DOTDOT) {
      for (const target of [`/public/${dots}/api/v1/arbeidsforhold`, `/api/v1/arbeidsforhold/${dots}/rapport`, `/public/${dots}`, `/internal/isalive/${dots}/${dots}/api?x=1`]) {
        assertDenied(t, h, await send(target), badPath)
      }
    }
  })

  t.test('refuses . segments, raw and encoded', async (t) => {
    for (const dot of DOT) {
      for (const target of [`/public/${dot}/x`, `/api/${dot}`, `/${dot}/public`]) {
        assertDenied(t, h, await send(target), badPath)
      }
    }
  })

  t.test('refuses overlong and IIS-style encodings of dots and slashes', async (t) => {
    for (const target of ['/public/%c0%ae%c0%ae/api', '/public/%c0%af', '/public/%u002e%u002e/api', '/public/%e0%80%ae', '/public/%2', '/public/%zz']) {
      assertDenied(t, h, await send(target), badPath)
    }
  })

  t.test('refuses encoded slash and backslash in any case', async (t) => {
    for (const target of ['/public%2f..%2fapi', '/public%2F..%2Fapi', '/public/..%2fapi', '/public%5c..%5capi', '/public%5C..%5Capi', '/api%2fv1%2farbeidsforhold', '/public/%5c']) {
      assertDenied(t, h, await send(target), badPath)
    }
  })

  t.test('refuses a raw backslash', async (t) => {
    assertDenied(t, h, await send('/public\\..\\api'), badPath)
  })

  t.test('refuses NUL, encoded or raw', async (t) => {
    assertDenied(t, h, await send('/public%00/../api'), badPath)
    assertDenied(t, h, await send('/api/v1/arbeidsforhold%00.json'), badPath)
    // A raw NUL never parses: Node's parser refuses the target, and we answer that as the path it is.
    assertDenied(t, h, await sendRaw(h.url, rawGet('/public\u0000/x', auth)), rawBadPath)
  })

  t.test('refuses control characters, encoded, and raw ones (which never parse) as a bad path', async (t) => {
    for (const target of ['/public%0d%0aX-Injected:%20yes', '/public%09', '/public%7f', '/public%1b']) {
      assertDenied(t, h, await send(target), badPath)
    }
    assertDenied(t, h, await send('/public\u0001'), rawBadPath)
  })

  t.test('refuses a raw non-ASCII byte in the path as a bad path, without a Bearer challenge', async (t) => {
    // Node's parser refuses raw bytes over 0x7f in the target (HPE_INVALID_URL); percent-encoded they pass.
    for (const bytes of ['\xc3\xa6', '\xff', '\x80']) {
      // latin1 writes each character as the one byte of the same value: `\xc3\xa6` is UTF-8 for æ.
      assertDenied(t, h, await sendRaw(h.url, Buffer.from(rawGet(`/api/v1/arbeidsforhold/${bytes}`, auth), 'latin1')), rawBadPath)
    }
  })

  t.test('refuses ; path parameters', async (t) => {
    for (const target of ['/api;/v1/arbeidsforhold', '/public;/../api', '/api/v1/arbeidsforhold;jsessionid=1', '/public;x']) {
      assertDenied(t, h, await send(target), badPath)
    }
  })

  t.test('refuses // runs', async (t) => {
    for (const target of ['//api/v1/arbeidsforhold', '/public//api', '/api//v1/arbeidsforhold', '///public', '/public/']) {
      if (target === '/public/') continue
      assertDenied(t, h, await send(target), badPath)
    }
  })

  t.test('refuses absolute-form and asterisk-form request targets', async (t) => {
    for (const target of [`${h.url}/api/v1/arbeidsforhold`, 'http://evil.example/public', 'https://portvakt.test/public', 'HTTP://127.0.0.1/public']) {
      assertDenied(t, h, await send(target), badPath)
    }
    assertDenied(t, h, await send('*', 'OPTIONS'), { status: 400, secrets: [token] })
  })

  t.test('refuses CONNECT with 400 PORTVAKT_ERR_BAD_PATH and closes, forwarding nothing, with an access line', async (t) => {
    const targets = [new URL(h.upstream.url).host, 'evil.com:443']
    for (const target of targets) {
      const res = await sendRaw(h.url, `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\nAuthorization: Bearer ${token}\r\n\r\n`)
      assertDenied(t, h, res, badPath)
      t.same(JSON.parse(res.body), { code: 'PORTVAKT_ERR_BAD_PATH', message: 'CONNECT is not forwarded: the request target must be a path starting with /' })
      t.equal(res.headers.connection, 'close', 'the connection is closed, never tunnelled')
    }
    const access = h.logs().filter((l) => l.msg === 'access' && l.method === 'CONNECT')
    t.match(access, targets.map((path) => ({ path, status: 400, outcome: 'bad_request', code: 'PORTVAKT_ERR_BAD_PATH' })), 'one access line per CONNECT')
    t.equal(access.length, targets.length)
  })

  t.test('a CONNECT target is logged as host and port only: no userinfo, no query', async (t) => {
    const res = await sendRaw(h.url, 'CONNECT user:SECRETPW@evil.com:443/?access_token=SECRET1 HTTP/1.1\r\nHost: evil.com:443\r\n\r\n')
    t.equal(res.status, 400)
    t.match(h.logs().filter((l) => l.msg === 'access' && l.method === 'CONNECT').at(-1), { path: 'evil.com:443', status: 400 })
    t.notMatch(h.logText(), /SECRETPW|SECRET1|access_token/, 'neither reaches the log')
  })

  t.test('refuses a raw # fragment in the target', async (t) => {
    for (const target of ['/public#/../api', '/api/v1/arbeidsforhold#x', '/public/#']) {
      assertDenied(t, h, await send(target), badPath)
    }
  })

  t.test('an encoded # is an ordinary character: /public%23/x is no route (404), never the public one', async (t) => {
    assertDenied(t, h, await send('/public%23/x'), { status: 404, code: 'PORTVAKT_ERR_NOT_FOUND', secrets: [token] })
  })

  t.test('another letter case of a route is a 400, never a route or a 404 (the class: letter-case.test.ts)', async (t) => {
    for (const target of ['/API/v1/arbeidsforhold', '/Public', '/PUBLIC/x', '/Internal/isalive', '/api/V1/arbeidsforhold']) {
      assertDenied(t, h, await send(target), { ...badPath, message: /letter case differs from the route/ })
    }
  })

  t.test('a trailing slash matches its prefix and is forwarded as sent', async (t) => {
    t.equal((await send('/api/v1/arbeidsforhold/')).status, 200)
    t.equal((await send('/public/')).status, 200)
    t.same(h.upstream.seen.map((s) => s.url), ['/api/v1/arbeidsforhold/', '/public/'])
  })

  t.test('prefixes match whole segments only: /publicx, /public-admin and /public.json are not public', async (t) => {
    for (const target of ['/publicx', '/public-admin/users', '/public.json', '/internal/isalive2', '/internal']) {
      assertDenied(t, h, await sendRaw(h.url, rawGet(target)), { status: 404, code: 'PORTVAKT_ERR_NOT_FOUND' })
    }
    // A longer protected path falls back to its parent route, whose scope the token lacks.
    assertDenied(t, h, await send('/api/v1/arbeidsforholdx'), { status: 403, code: 'PORTVAKT_ERR_INSUFFICIENT_SCOPE', secrets: [token] })
  })

  t.test('refuses double encoding: /public/%252e%252e/api is /api to an upstream that decodes twice', async (t) => {
    for (const target of ['/public/%252e%252e/api/v1/arbeidsforhold', '/public/%252E%252E/api', '/public%252f..%252fapi', '/%2570ublic/x', '/public/%2541']) {
      assertDenied(t, h, await send(target), badPath)
    }
    t.equal((await send('/public/100%25')).status, 200, 'a literal % (%25 not followed by two hex digits) passes')
    t.same(h.upstream.seen.map((s) => s.url), ['/public/100%25'], 'forwarded exactly as sent')
  })

  t.test('refuses a percent-encoded ; like a raw one: /skatt/..%3b/admin', async (t) => {
    for (const target of ['/skatt/..%3b/admin', '/public/..%3b/api/v1/arbeidsforhold', '/public%3B/x', '/api/v1/arbeidsforhold%3bjsessionid=1']) {
      assertDenied(t, h, await send(target), badPath)
    }
  })

  t.test('refuses an escape of an unreserved character: /%70ublic is /public decoded but not to a raw router', async (t) => {
    // Without a token: had the gate routed /%70ublic as /public, it would have asked for none.
    for (const target of ['/%70ublic/x', '/%70ublic', '/publi%63/x', '/%50UBLIC', '/internal/%69salive', '/public/%41dmin', '/public/x%2Djson', '/public/%5Fx', '/public/%7Euser', '/public/%7e', '/public/%30']) {
      assertDenied(t, h, await sendRaw(h.url, rawGet(target)), { status: 400, code: 'PORTVAKT_ERR_BAD_PATH', challenge: null })
    }
    // With one: the protected route would otherwise be reached under a spelling its app may not route.
    for (const target of ['/%61pi/v1/arbeidsforhold', '/api/v1/%61rbeidsforhold/42', '/api/%76%31/arbeidsforhold']) {
      assertDenied(t, h, await send(target), badPath)
    }
  })

  t.test('escapes of reserved and non-ASCII characters still pass, forwarded as sent', async (t) => {
    const targets = ['/public/a%3Ab', '/public/%C3%A6', '/public/%40x', '/public/%2B1']
    for (const target of targets) t.equal((await send(target)).status, 200, target)
    t.same(h.upstream.seen.map((s) => s.url), targets)
  })

  t.test('refuses ?_method= overrides in any spelling, PHP ones included (., space, [ read as _)', async (t) => {
    for (const target of ['/public?_method=DELETE', '/api/v1/arbeidsforhold?x=1&_method=DELETE', '/public?%5Fmethod=PUT', '/public?_METHOD=PUT', '/public?a=1;_method=PUT', '/public?_method',
      '/public?.method=DELETE', '/public?[method=DELETE', '/public?+method=DELETE', '/public?%20method=DELETE', '/public?%2emethod=DELETE', '/public?_method[]=DELETE']) {
      assertDenied(t, h, await send(target), badPath)
    }
    t.equal((await send('/public?x_method=1&method=GET')).status, 200, 'other names pass')
    t.same(h.upstream.seen.map((s) => s.url), ['/public?x_method=1&method=GET'])
  })

  t.test('refuses lowercase and unknown methods', async (t) => {
    for (const method of ['get', 'Get', 'post']) {
      assertDenied(t, h, await send('/public', method), { status: 400, code: 'PORTVAKT_ERR_MALFORMED_REQUEST', challenge: null, secrets: [token] })
    }
    for (const method of ['TRACE', 'PROPFIND']) {
      const res = await send('/public', method)
      t.ok(res.status === 405 || res.status === 400 || res.status === 404, `${method} refused (${res.status})`)
      t.same(h.upstream.seen, [])
    }
  })
})
