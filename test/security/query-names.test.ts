/**
 * Query parameter names over sockets, against the real echo upstream: every spelling some
 * framework reads as `_method` (PHP, Rack, qs, the JVM containers), control characters in names and
 * prototype keys are a 400 before the token is looked at, and the upstream sees nothing.
 */
import t from 'tap'
import { build } from '../helpers/build.js'
import { assertDenied, rawGet, resetSeen, sendRaw, type Answer, type Denial } from '../helpers/attack.js'

t.test('query name attacks', async (t) => {
  const h = await build(t)
  const token = await h.mint()
  const send = async (target: string): Promise<Answer> => await sendRaw(h.url, rawGet(target, { Authorization: `Bearer ${token}` }))
  const refused = (message: RegExp): Denial => ({ status: 400, code: 'PORTVAKT_ERR_BAD_PATH', challenge: null, message, secrets: [token] })
  t.beforeEach(() => { resetSeen(h) })

  t.test('names that are not _method to anyone pass, forwarded as sent (control)', async (t) => {
    const targets = ['/api/v1/arbeidsforhold?method=GET&x_method=1&a[_method]=1&q=%00', '/public?_methods=1&%5Bmethod%5D=x']
    for (const target of targets) t.equal((await send(target)).status, 200, target)
    t.same(h.upstream.seen.map((s) => s.url), targets)
  })

  t.test('PHP cuts a name at NUL: _method%00 is _method to Laravel and Symfony, refused as a control character', async (t) => {
    for (const target of ['/api/v1/arbeidsforhold?_method%00=DELETE', '/api/v1/arbeidsforhold?_method%00x=DELETE', '/public?a=1&_method%00[]=PUT']) {
      assertDenied(t, h, await send(target), refused(/^a query parameter name holds a control character/))
    }
  })

  t.test('every other control character in a name is refused too, decoded once or twice', async (t) => {
    for (const escape of ['%01', '%09', '%0A', '%0d', '%1F', '%7F', '%2500']) {
      assertDenied(t, h, await send(`/public?a${escape}=1`), refused(/control character/))
    }
  })

  t.test('spellings PHP, Rack, qs and the JVM read as _method are refused', async (t) => {
    const spellings = ['%20_method', '+.method', '_method[]', '_method[x]', '[_method]', '%5B_method%5D', ']_method', '._method', '_METHOD', '%5Fmethod', '%255Fmethod', '%u005Fmethod', '%EF%BC%BFmethod']
    for (const name of spellings) {
      assertDenied(t, h, await send(`/api/v1/arbeidsforhold?x=1&${name}=DELETE`), refused(/^the query holds a parameter some framework reads as _method/))
    }
    assertDenied(t, h, await send('/public?a=1&amp;_method=DELETE'), refused(/reads as _method/))
    assertDenied(t, h, await send('/public?a=1;_method=DELETE'), refused(/reads as _method/))
  })

  t.test('a query led by ? is read as php -S reads it (leading ?s dropped): ??_method is _method there, refused', async (t) => {
    for (const target of ['/api/v1/arbeidsforhold??_method=DELETE', '/api/v1/arbeidsforhold???_method=DELETE', '/api/v1/arbeidsforhold??%20_method=DELETE', '/api/v1/arbeidsforhold??+_method=DELETE', '/public??_METHOD[]=PUT', '/public?a=1&?_method=DELETE']) {
      assertDenied(t, h, await send(target), refused(/^the query holds a parameter some framework reads as _method/))
    }
  })

  t.test('C1 controls, zero-width, bidi and line-separator characters in a name are refused', async (t) => {
    for (const name of ['_method%C2%85', '_method%E2%80%8B', '%E2%80%AE_method', '_method%E2%80%8E', 'a%C2%AD', '%EF%BB%BFa', 'a%E2%80%A8', 'a%C2%9F', 'a%85']) {
      assertDenied(t, h, await send(`/public?${name}=DELETE`), refused(/^a query parameter name holds a control character/))
    }
  })

  t.test('names that reach a prototype are refused', async (t) => {
    for (const name of ['__proto__[_method]', 'constructor[prototype][_method]', 'a.__proto__.b']) {
      assertDenied(t, h, await send(`/public?${name}=DELETE`), refused(/__proto__ or constructor\.prototype/))
    }
  })
})
