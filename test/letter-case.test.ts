/**
 * Route matching by letter case: a path is routed only when an app that ignores case would pick
 * the same route; otherwise 400, whatever the token. Over sockets in test/security/letter-case.test.ts.
 */
import t from 'tap'
import { GateError } from '../src/http/errors.js'
import { parseRoutes } from '../src/config/routes.js'
import { matchRoute } from '../src/gate/match.js'

const table = parseRoutes(`routes:
  - { path: /api, scopes: [nav:x:read] }
  - { path: /api/admin, scopes: [nav:x:admin] }
  - { path: /api/kontakt, scopes: [nav:x:admin] }
  - { path: /api/sikker, scopes: [nav:x:admin] }
  - { path: /api/Rapport, scopes: [nav:x:admin] }
  - { path: /api/dup, scopes: [nav:x:read] }
  - { path: /api/Dup, scopes: [nav:x:admin] }
  - { path: /api/søknad, scopes: [nav:x:admin] }
  - { path: /public, public: true }
`, 'routes.yaml')

function outcome (path: string): string {
  try {
    return matchRoute(table, path, 'GET').path
  } catch (err) {
    return err instanceof GateError ? `${err.code}: ${err.message}` : 'not a GateError'
  }
}

t.test('a path spelled as its route is routed, in any case the table writes it', async (t) => {
  const cases: Array<[string, string]> = [['/api/admin/x', '/api/admin'], ['/api/Rapport', '/api/Rapport'], ['/api/søknad/1', '/api/søknad'], ['/public/', '/public'], ['/api/x', '/api']]
  for (const [path, route] of cases) {
    t.equal(outcome(path), route, path)
  }
})

t.test('another spelling that picks the same route passes: /api/Other is /api to any router', async (t) => {
  const cases: Array<[string, string]> = [['/api/Other', '/api'], ['/api/OTHER/Admin', '/api'], ['/api/x/ADMIN', '/api'], ['/api/admin/USERS', '/api/admin'], ['/api/Rapport/ALL', '/api/Rapport']]
  for (const [path, route] of cases) t.equal(outcome(path), route, path)
})

t.test('another letter case of a deeper route is refused, naming the route as written', async (t) => {
  const cases: Array<[string, string]> = [
    ['/api/ADMIN', '/api/admin'], ['/api/Admin/users', '/api/admin'], ['/api/aDmIn/', '/api/admin'],
    ['/api/adm\u0131n', '/api/admin'], ['/api/adm\u0130n', '/api/admin'], ['/api/admi\u0307n', '/api/admin'],
    ['/api/\u212aontakt', '/api/kontakt'], ['/api/\u017fikker', '/api/sikker'], ['/api/SIKKER', '/api/sikker'],
    ['/api/rapport', '/api/Rapport'], ['/api/RAPPORT/x', '/api/Rapport'], ['/api/SØKNAD', '/api/søknad']
  ]
  for (const [path, route] of cases) {
    t.equal(outcome(path), `PORTVAKT_ERR_BAD_PATH: the path's letter case differs from the route ${route}; send it as written in the route table`, path)
  }
})

t.test('another letter case of a route that would otherwise be no route is refused too (400, not 404)', async (t) => {
  t.match(outcome('/PUBLIC'), /^PORTVAKT_ERR_BAD_PATH: .* the route \/public;/)
  t.match(outcome('/API/x'), /^PORTVAKT_ERR_BAD_PATH: .* the route \/api;/)
  t.match(outcome('/nothing/here'), /^PORTVAKT_ERR_NOT_FOUND/)
})

t.test('routes that differ only by letter case are refused in every spelling, and the table warns of them', async (t) => {
  for (const path of ['/api/dup', '/api/Dup', '/api/DUP/x']) {
    t.equal(outcome(path), 'PORTVAKT_ERR_BAD_PATH: the routes /api/dup and /api/Dup differ only by letter case, and an app that ignores case could serve this path from any of them; the route table must name them apart', path)
  }
  t.same(table.warnings, ['routes.yaml:7: /api/dup and /api/Dup (line 8) differ only by letter case; an app that routes without regard to case (Express, ASP.NET Core) cannot tell them apart, so portvakt refuses requests under any of them (400): rename all but one'])
  t.equal(table.foldStable, false, 'a table with capitals folds every path it is asked')
  t.equal(parseRoutes('routes:\n  - { path: /a/b, public: true }\n', 'r.yaml').foldStable, true)
})
