/**
 * OPTIONS with weaker terms than the rest of its path: Express app.all/app.use, Koa middleware and
 * Ktor handle run the path's handler for OPTIONS, so the table gets a warning (in `check` and the
 * start line), naming both lines; an OPTIONS route with the path's own terms, or with nothing
 * above it, gets none.
 */
import t from 'tap'
import { parseRoutes } from '../src/config/routes.js'

const warningsOf = (yaml: string): readonly string[] => parseRoutes(yaml, 'routes.yaml').warnings

t.test('a public OPTIONS route on a guarded path is warned about, at its line, naming the guarded route', async (t) => {
  t.match(warningsOf(`routes:
  - { path: /api/admin, methods: [GET, POST, DELETE], scopes: [nav:x:admin] }
  - { path: /api/admin, methods: [OPTIONS], public: true }
`), [/^routes\.yaml:3: OPTIONS \/api\/admin asks other scopes, audience or consumers than GET,HEAD,POST,DELETE \/api\/admin at line 2; an app whose handler takes every method there \(Express app\.all/])
  t.match(warningsOf(`routes:
  - { path: /api, scopes: [nav:x:admin] }
  - { path: /api/x, methods: [OPTIONS], scopes: [nav:x:read] }
`), [/^routes\.yaml:3: OPTIONS \/api\/x asks other .* than .* \/api at line 2/], 'on a deeper path: the route above it decides')
})

t.test('OPTIONS with the path\'s own terms, or with nothing above it, is no warning', async (t) => {
  t.same(warningsOf(`routes:
  - { path: /api, methods: [GET], scopes: [nav:x:read] }
  - { path: /api, methods: [OPTIONS], scopes: [nav:x:read] }
  - { path: /cors, methods: [OPTIONS], public: true }
  - { path: /public, methods: [GET], public: true }
  - { path: /public/x, methods: [OPTIONS], public: true }
`), [])
})
