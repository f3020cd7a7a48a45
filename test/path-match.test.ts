import t from 'tap'
import { GateError } from '../src/http/errors.js'
import { parseRoutes } from '../src/config/routes.js'
import { matchRoute } from '../src/gate/match.js'
import { checkPath } from '../src/gate/path.js'

const table = parseRoutes(`routes:
  - { path: /api, scopes: [nav:x:api] }
  - { path: /api/v1/items, methods: [GET, HEAD], scopes: [nav:x:read] }
  - { path: /api/v1/items, methods: [POST], scopes: [nav:x:write] }
  - { path: /public, public: true }
`, 'routes.yaml')

function codeOf (fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return err instanceof GateError ? err.code : 'not a GateError'
  }
  return undefined
}

t.test('matches prefixes on whole segments only', async (t) => {
  t.equal(matchRoute(table, '/api', 'GET').path, '/api')
  t.equal(matchRoute(table, '/api/x', 'GET').path, '/api')
  t.equal(matchRoute(table, '/api/', 'GET').path, '/api')
  t.equal(codeOf(() => matchRoute(table, '/apix', 'GET')), 'PORTVAKT_ERR_NOT_FOUND')
  t.equal(codeOf(() => matchRoute(table, '/', 'GET')), 'PORTVAKT_ERR_NOT_FOUND')
  t.equal(codeOf(() => matchRoute(table, '/API', 'GET')), 'PORTVAKT_ERR_BAD_PATH', 'another letter case of a route is refused (letter-case.test.ts)')
})

t.test('the longest prefix wins, then the method picks the route', async (t) => {
  t.same(matchRoute(table, '/api/v1/items/7', 'GET').scopes?.list, ['nav:x:read'])
  t.same(matchRoute(table, '/api/v1/items', 'POST').scopes?.list, ['nav:x:write'])
  t.same(matchRoute(table, '/api/v1/other', 'POST').scopes?.list, ['nav:x:api'])
})

t.test('a matching path without the method is a 405 with Allow, not a fall-back to a shorter prefix', async (t) => {
  try {
    matchRoute(table, '/api/v1/items', 'DELETE')
    t.fail('should throw')
  } catch (err) {
    t.equal((err as GateError).code, 'PORTVAKT_ERR_METHOD_NOT_ALLOWED')
    t.equal((err as GateError).allow, 'GET, HEAD, POST')
  }
})

t.test('decodes escapes of reserved and non-ASCII characters before matching', async (t) => {
  t.equal(checkPath('/api/x?q=%2F'), '/api/x')
  t.equal(checkPath('/api/s%C3%B8k'), '/api/søk')
  t.equal(checkPath('/api/a%3Ab%40c%2C%20d'), '/api/a:b@c, d')
  t.equal(checkPath('/api/100%25'), '/api/100%', 'a literal % not followed by two hex digits is fine')
})

t.test('refuses targets that could mean something else after decoding', async (t) => {
  const bad = [
    'http://evil.example/api', '*', '/public/../api', '/public/./api', '/public/..', '/public/%2e%2e/api',
    '/public/%2E%2e/api', '/public/.%2e/api', '/api%2fv1', '/api%2Fv1', '/api%5cv1', '/api\\v1', '/api%00',
    '/api;jsessionid=1', '/public/..;/api', '//api', '/api//x', '/api%', '/api%zz', '/api%0d%0a', '/api#frag'
  ]
  for (const target of bad) t.equal(codeOf(() => checkPath(target)), 'PORTVAKT_ERR_BAD_PATH', target)
})

t.test('refuses a percent-encoded ; in any case, as it refuses a raw one', async (t) => {
  for (const target of ['/skatt/..%3b/admin', '/skatt/..%3B/admin', '/public%3b/x', '/api/v1/x%3Bjsessionid=1']) {
    t.equal(codeOf(() => checkPath(target)), 'PORTVAKT_ERR_BAD_PATH', target)
  }
})

t.test('refuses an escape of an unreserved character: it routes one way decoded and another raw', async (t) => {
  // Each decodes to a public path; an upstream routing on the raw path (Express) would not see /public.
  const bad = ['/%70ublic/x', '/%70UBLIC', '/publi%63', '/publi%43', '/%50ublic', '/public/%41', '/public/%5A', '/public/%61', '/public/%7a',
    '/public/%30', '/public/%39', '/public/%2D', '/public/%2d', '/public/%2E', '/public/x%2ejson', '/public/%5F', '/public/%5f', '/public/%7E', '/public/%7e']
  for (const target of bad) {
    // %2e/%2E here decode to a dot segment or a dot in a name; both are refused, the first as a dot segment
    const message = /^\/public\/%2[eE]$/.test(target) ? /dot segment/ : /letter, digit/
    t.throws(() => checkPath(target), { code: 'PORTVAKT_ERR_BAD_PATH', message }, target)
  }
})

t.test('keeps escapes of the characters next to the unreserved ranges', async (t) => {
  // `,` and `/` border `-`, `@` borders A, `[` borders Z, `` ` `` borders a, `{` borders z, `}` borders `~`
  const edges: Array<[string, string]> = [['/public/%2C', '/public/,'], ['/public/%3A', '/public/:'], ['/public/%40', '/public/@'], ['/public/%5B', '/public/['],
    ['/public/%5D', '/public/]'], ['/public/%60', '/public/`'], ['/public/%7B', '/public/{'], ['/public/%7D', '/public/}'], ['/public/%2B', '/public/+']]
  for (const [target, decoded] of edges) t.equal(checkPath(target), decoded, target)
})

t.test('refuses double encoding: what is left after one decoding is still an escape', async (t) => {
  for (const target of ['/public/%252e%252e/api', '/public/%252E', '/%2570ublic', '/public/%252f', '/public/%2541', '/public/%25c3%25a6']) {
    t.equal(codeOf(() => checkPath(target)), 'PORTVAKT_ERR_BAD_PATH', target)
  }
  t.throws(() => checkPath('/public/%2541'), { code: 'PORTVAKT_ERR_BAD_PATH', message: /encoded twice/ })
})

t.test('refuses _method in the query in PHP spellings too (., space, [ read as _)', async (t) => {
  const bad = ['/public?_method=DELETE', '/public?.method=DELETE', '/public?[method=DELETE', '/public? method=DELETE', '/public?+method=DELETE',
    '/public?%20method=DELETE', '/public?%2Emethod=PUT', '/public?%5Bmethod=PUT', '/public?_method[]=PUT', '/public?.METHOD[x]=PUT', '/public?a=1&%20_method%20=PUT']
  for (const target of bad) t.equal(codeOf(() => checkPath(target)), 'PORTVAKT_ERR_BAD_PATH', target)
  for (const target of ['/public?method=GET', '/public?x_method=1', '/public?_method_=1', '/public?_methods=1', '/public?[method]=1', '/public?a=_method']) {
    t.equal(codeOf(() => checkPath(target)), undefined, target)
  }
})

t.test('the egress side may turn the _method refusal off, and nothing else', async (t) => {
  t.equal(checkPath('/skatt/x?.method=DELETE', { refuseMethodOverride: false }), '/skatt/x')
  t.equal(codeOf(() => checkPath('/skatt/%70x?_method=DELETE', { refuseMethodOverride: false })), 'PORTVAKT_ERR_BAD_PATH')
})

t.test('a _method name with a malformed escape elsewhere is decoded escape by escape, as PHP does', async (t) => {
  for (const target of ['/public?%5Fmethod[%]=PUT', '/public?%2Emethod[%zz]=PUT']) {
    t.equal(codeOf(() => checkPath(target)), 'PORTVAKT_ERR_BAD_PATH', target)
  }
  t.equal(codeOf(() => checkPath('/public?%5Fmeth%=1')), undefined, 'another name with a malformed escape passes')
})

t.test('the egress side may let escapes of unreserved characters through (Java writes ~ as %7E), not dot segments or double encoding', async (t) => {
  const egress = { refuseMethodOverride: false, refuseUnreservedEscapes: false }
  t.equal(checkPath('/skatt/users/%7Eola', egress), '/skatt/users/~ola')
  t.equal(codeOf(() => checkPath('/skatt/users/%7Eola')), 'PORTVAKT_ERR_BAD_PATH', 'the gate still refuses it')
  for (const target of ['/skatt/%2e%2e/admin', '/skatt/%252e%252e/admin', '/skatt/a%2fb', '/skatt/%3b/x']) {
    t.equal(codeOf(() => checkPath(target, egress)), 'PORTVAKT_ERR_BAD_PATH', target)
  }
})

t.test('keeps harmless dots and encoded characters', async (t) => {
  for (const target of ['/api/v1.2/x', '/api/...', '/api/.well-known', '/api/a..b', '/api/%20x', '/api/%C3%A6']) {
    t.equal(codeOf(() => checkPath(target)), undefined, target)
  }
})
