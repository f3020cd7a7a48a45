import t from 'tap'
import { GateError } from '../src/auth/errors.js'
import { parseRoutes } from '../src/config/routes.js'
import { matchRoute } from '../src/proxy/match.js'
import { checkPath } from '../src/proxy/path.js'

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
  t.equal(codeOf(() => matchRoute(table, '/API', 'GET')), 'PORTVAKT_ERR_NOT_FOUND', 'case-sensitive')
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

t.test('decodes percent-encoding before matching', async (t) => {
  t.equal(checkPath('/%61pi/x?q=%2F'), '/api/x')
  t.equal(checkPath('/api/s%C3%B8k'), '/api/søk')
})

t.test('refuses targets that could mean something else after decoding', async (t) => {
  const bad = [
    'http://evil.example/api', '*', '/public/../api', '/public/./api', '/public/..', '/public/%2e%2e/api',
    '/public/%2E%2e/api', '/public/.%2e/api', '/api%2fv1', '/api%2Fv1', '/api%5cv1', '/api\\v1', '/api%00',
    '/api;jsessionid=1', '/public/..;/api', '//api', '/api//x', '/api%', '/api%zz', '/api%0d%0a', '/api#frag'
  ]
  for (const target of bad) t.equal(codeOf(() => checkPath(target)), 'PORTVAKT_ERR_BAD_PATH', target)
})

t.test('keeps harmless dots and encoded characters', async (t) => {
  for (const target of ['/api/v1.2/x', '/api/...', '/api/.well-known', '/api/a..b', '/api/%20x']) {
    t.equal(codeOf(() => checkPath(target)), undefined, target)
  }
})
