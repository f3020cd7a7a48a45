/**
 * HEAD follows GET (RFC 9110 §9.3.2): a route listing GET admits HEAD with the same requirements,
 * visible in its id; a table giving HEAD other requirements than GET on the same path is refused
 * with the line and the fix. Over sockets in test/security/head.test.ts.
 */
import t from 'tap'
import { parseRoutes } from '../src/config/routes.js'
import { problemsOf } from './helpers/config.js'

t.test('a route that lists GET admits HEAD: in its methods, its id and the 405 Allow', async (t) => {
  const table = parseRoutes(`routes:
  - { path: /a, methods: [GET], scopes: [nav:x:read] }
  - { path: /a, methods: [POST], scopes: [nav:x:write] }
  - { path: /b, methods: [POST, GET, DELETE], scopes: [nav:x:b] }
  - { path: /c, methods: [POST], scopes: [nav:x:c] }
`, 'routes.yaml')
  t.same(table.routes.map((r) => r.id), ['GET,HEAD /a', 'POST /a', 'POST,GET,HEAD,DELETE /b', 'POST /c'])
  t.equal(table.byPath.get('/a')?.byMethod.get('HEAD'), table.routes[0], 'HEAD on /a is the GET route')
  t.equal(table.byPath.get('/a')?.allow, 'GET, HEAD, POST')
  t.equal(table.byPath.get('/c')?.byMethod.get('HEAD'), undefined, 'no GET, no HEAD')
})

t.test('OPTIONS is never implied: frameworks answer it themselves, not with the GET handler', async (t) => {
  const table = parseRoutes('routes:\n  - { path: /a, methods: [GET], scopes: [nav:x:read] }\n', 'routes.yaml')
  t.equal(table.byPath.get('/a')?.byMethod.get('OPTIONS'), undefined)
})

t.test('HEAD on a route of its own is fine with GET\'s requirements (scopes in any order)', async (t) => {
  const table = parseRoutes(`routes:
  - { path: /a, methods: [GET], scopes: [nav:x:read, nav:x:more], consumers: ["123456789"] }
  - { path: /a, methods: [HEAD], scopes: [nav:x:more, nav:x:read], consumers: ["123456789"] }
`, 'routes.yaml')
  t.same(table.routes.map((r) => r.id), ['GET /a', 'HEAD /a'], 'the GET route does not claim HEAD when another route lists it')
})

t.test('HEAD with other requirements than GET on the same path is refused, at the HEAD route\'s line', async (t) => {
  const fix = 'but the app answers HEAD with its GET handler (RFC 9110 §9.3.2): remove HEAD here (GET admits it with GET\'s requirements), or give this route the same requirements as GET'
  t.same(problemsOf(`routes:
  - path: /a
    methods: [GET]
    scopes: [nav:x:read]
  - path: /a
    methods: [HEAD]
    public: true
`), [`routes.yaml:5: HEAD /a asks other scopes, audience, consumers, delegation and system-user rules or Altinn action than GET /a at line 2, ${fix}`])
  const variants = [
    '{ path: /a, methods: [HEAD], scopes: [nav:x:other] }',
    '{ path: /a, methods: [HEAD], scopes: { anyOf: [nav:x:read] } }',
    '{ path: /a, methods: [HEAD], scopes: [nav:x:read], audience: https://a.example }',
    '{ path: /a, methods: [HEAD, POST], scopes: [nav:x:read], consumers: ["123456789"] }'
  ]
  for (const head of variants) {
    t.match(problemsOf(`routes:\n  - { path: /a, methods: [GET], scopes: [nav:x:read] }\n  - ${head}\n`), [/^routes\.yaml:3: HEAD \/a asks other scopes/], head)
  }
})

t.test('a HEAD-only route on a deeper path is held to the GET that path falls to without it, at any depth', async (t) => {
  t.match(problemsOf(`routes:
  - { path: /api, methods: [GET, POST], scopes: [nav:x:admin] }
  - { path: /api/item, methods: [HEAD], public: true }
`), [/^routes\.yaml:3: HEAD \/api\/item asks other scopes.* than GET \/api at line 2 \(the route GET \/api\/item falls to without this one\), but the app answers HEAD with its GET handler/])
  t.match(problemsOf(`routes:
  - { path: /, methods: [GET], scopes: [nav:x:read] }
  - { path: /api, scopes: [nav:x:admin] }
  - { path: /api/a/b/c, methods: [HEAD, POST], scopes: [nav:x:read] }
`), [/^routes\.yaml:4: HEAD \/api\/a\/b\/c asks other scopes.* than GET \/api at line 3/], 'the deepest GET above decides, a route with every method included')
  const table = parseRoutes(`routes:
  - { path: /api, methods: [GET], scopes: [nav:x:read] }
  - { path: /api/x, methods: [HEAD], scopes: [nav:x:read] }
  - { path: /other, methods: [POST], scopes: [nav:x:admin] }
  - { path: /other/x, methods: [HEAD], public: true }
`, 'routes.yaml')
  t.same(table.routes.map((r) => r.id), ['GET,HEAD /api', 'HEAD /api/x', 'POST /other', 'HEAD /other/x'], 'the same requirements, or no GET above at all: allowed')
  t.equal(table.byPath.get('/api/x')?.allow, 'HEAD')
})
