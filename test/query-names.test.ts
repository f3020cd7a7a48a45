/**
 * Query parameter names as PHP, Rack, qs and the JVM containers read them: every spelling that is
 * `_method` to one of them is refused, so are control characters and prototype keys; other names
 * pass. Over sockets in test/security/query-names.test.ts; against real parsers in test/fuzz/.
 */
import t from 'tap'
import { GateError } from '../src/http/errors.js'
import { checkPath } from '../src/gate/path.js'

function refusal (query: string): string | undefined {
  try {
    checkPath(`/public?${query}`)
    return undefined
  } catch (err) {
    return err instanceof GateError ? err.message : 'not a GateError'
  }
}

const OVERRIDE = /reads as _method/
const CONTROL = /control character/
const PROTOTYPE = /__proto__/

t.test('PHP (Laravel, Symfony): NUL cut, leading spaces, . and space and an unclosed [ read as _, arrays', async (t) => {
  for (const query of ['_method%00=DELETE', '_method%00x=DELETE', '%00_method=1']) t.match(refusal(query), CONTROL, query)
  for (const query of ['%20_method=DELETE', '+_method=DELETE', '++.method=DELETE', '.method=DELETE', '%2Emethod=PUT', ' method=1', '[method=1', '_method[]=PUT', '_method[x]=PUT', '_method[=1', '_method%5B%5D=PUT']) {
    t.match(refusal(query), OVERRIDE, query)
  }
  t.match(refusal('%5Fmethod[%]=PUT'), OVERRIDE, 'a malformed escape: the rest decoded one by one, as urldecode does')
})

t.test('PHP\'s built-in server (php -S): the query\'s leading ?s are dropped, so ?_method is _method', async (t) => {
  for (const query of ['?_method=DELETE', '??_method=DELETE', '?%20_method=1', '?+_method=1', '?_method[]=1', '%3F_method=1', 'a=1&?_method=1']) t.match(refusal(query), OVERRIDE, query)
  for (const query of ['?method=1', '?x=1&?y=2', '?']) t.equal(refusal(query), undefined, query)
})

t.test('Rack: leading brackets skipped (Rack 2), nested and array names', async (t) => {
  for (const query of ['[_method]=DELETE', ']_method=DELETE', '[[_method]]=1', '_method[a][b]=1', '_method[][x]=1']) t.match(refusal(query), OVERRIDE, query)
})

t.test('qs (Express extended): a leading [segment], allowDots, encoded brackets', async (t) => {
  for (const query of ['[_method]=DELETE', '%5B_method%5D=DELETE', '._method=DELETE', '%2E_method=1', '_method.x=1', '[_method][=y]=1']) t.match(refusal(query), OVERRIDE, query)
})

t.test('the JVM (Spring getParameter on Tomcat, Jetty, Undertow), any case, and separators', async (t) => {
  for (const query of ['_method=DELETE', '_METHOD=PUT', '%5Fmethod=PUT', '%5fMeThOd=PUT', 'a=1;_method=PUT', 'a=1&amp;_method=PUT', 'x=1&_method']) t.match(refusal(query), OVERRIDE, query)
})

t.test('double encoding, %u escapes (IIS) and compatibility forms are read as _method too', async (t) => {
  for (const query of ['%255Fmethod=DELETE', '%252Emethod=1', '%u005Fmethod=DELETE', '%EF%BC%BFmethod=DELETE', '_%EF%BD%8D%EF%BD%85%EF%BD%94%EF%BD%88%EF%BD%8F%EF%BD%84=1']) {
    t.match(refusal(query), OVERRIDE, query)
  }
})

t.test('a control character anywhere in a name is refused, decoded once or twice', async (t) => {
  for (const code of [0x00, 0x01, 0x09, 0x0a, 0x0d, 0x1b, 0x1f, 0x7f]) {
    const escape = `%${code.toString(16).padStart(2, '0')}`
    t.match(refusal(`a${escape}b=1`), CONTROL, escape)
  }
  t.match(refusal('a%2500=1'), CONTROL, 'decoded twice')
  for (const escape of ['%C2%80', '%C2%85', '%C2%9F', '%85', '%E2%80%8B', '%E2%80%8C', '%E2%80%8D', '%E2%80%8E', '%E2%80%AE', '%E2%81%A6', '%C2%AD', '%EF%BB%BF', '%E2%80%A8', '%E2%80%A9']) {
    t.match(refusal(`_method${escape}=1`), CONTROL, `C1, format or line-separator ${escape}`)
  }
  t.equal(refusal('m%C3%A9thod=1&%C2%A0x=1'), undefined, 'letters and NBSP are no control')
  t.equal(refusal('a=%00&b=%0d%0a'), undefined, 'values are the app\'s to read')
})

t.test('names that reach a prototype are refused', async (t) => {
  for (const query of ['__proto__[_method]=DELETE', '__proto__=1', 'a[__proto__][b]=1', 'constructor[prototype][_method]=1', 'constructor.prototype.x=1', '%5F_proto__=1']) {
    t.match(refusal(query), PROTOTYPE, query)
  }
  t.equal(refusal('proto=1&prototype=2&constructor=3'), undefined)
})

t.test('other names pass, near misses included', async (t) => {
  for (const query of ['method=GET', 'x_method=1', '_method_=1', '_methods=1', '[method]=1', 'a=_method', 'a[_method]=1', 'm%C3%A9thod=1', '%5Fmeth%=1', 'sort=name&page=2', 'q=%2F%00', '=x', '&&', 'a.b[c]=d']) {
    t.equal(refusal(query), undefined, query)
  }
})
