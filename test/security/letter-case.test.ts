/**
 * Letter case over sockets, against the real echo upstream: with routes /api (read) and
 * /api/admin (admin), a read token on another spelling of /api/admin would be authorised under /api
 * while Express or ASP.NET Core ran the admin handler. Every such spelling is a 400 before any
 * token is looked at, and the upstream sees nothing.
 */
import t from 'tap'
import { build } from '../helpers/build.js'
import { assertDenied, rawGet, resetSeen, sendRaw, type Answer, type Denial } from '../helpers/attack.js'
import { scopedRoutes } from '../helpers/config.js'

// Two lines a route from line 2: /api/dup stands on line 12, /api/Dup on 14 (the start's warning names both).
const ROUTES = 'routes:\n' + scopedRoutes([
  ['/api', 'nav:test:read'], ['/api/admin', 'nav:test:admin'], ['/api/kontakt', 'nav:test:admin'], ['/api/sikker', 'nav:test:admin'],
  ['/api/Rapport', 'nav:test:admin'], ['/api/dup', 'nav:test:read'], ['/api/Dup', 'nav:test:admin']
]) + '  - path: /public\n    public: true\n'

t.test('letter case attacks', async (t) => {
  const h = await build(t, { routes: ROUTES })
  const read = await h.mint({ claims: { scope: 'nav:test:read' } })
  const admin = await h.mint({ claims: { scope: 'nav:test:admin' } })
  const send = async (target: string, token?: string): Promise<Answer> => await sendRaw(h.url, rawGet(target, token === undefined ? {} : { Authorization: `Bearer ${token}` }))
  const differs = (route: string): Denial => ({ status: 400, code: 'PORTVAKT_ERR_BAD_PATH', challenge: null, message: new RegExp(`^the path's letter case differs from the route ${route.replace(/\//g, '\\/')}; send it as written in the route table$`), secrets: [read, admin] })
  t.beforeEach(() => { resetSeen(h) })

  t.test('exact spellings pass, and so does another case that picks the same route (control)', async (t) => {
    const targets: Array<[string, string]> = [['/api/x', read], ['/api/admin/users', admin], ['/api/Rapport', admin], ['/api/Other/ADMIN', read], ['/public', '']]
    for (const [target, token] of targets) t.equal((await send(target, token === '' ? undefined : token)).status, 200, target)
    t.same(h.upstream.seen.map((s) => s.url), targets.map(([target]) => target), 'forwarded exactly as sent')
  })

  t.test('a read token on another ASCII case of /api/admin is refused, never reaching the admin handler', async (t) => {
    for (const target of ['/api/ADMIN', '/api/Admin', '/api/aDmIn/users', '/API/admin', '/Api/Admin?x=1', '/api/ADMIN/']) {
      assertDenied(t, h, await send(target, read), differs('/api/admin'))
    }
  })

  t.test('Unicode characters that fold onto ASCII letters are refused: ı, İ, i with a dot, Kelvin K, ſ', async (t) => {
    const cases: Array<[string, string]> = [['/api/adm%C4%B1n', '/api/admin'], ['/api/adm%C4%B0n', '/api/admin'], ['/api/admi%CC%87n', '/api/admin'],
      ['/api/%E2%84%AAontakt', '/api/kontakt'], ['/api/%C5%BFikker/x', '/api/sikker'], ['/api/S%C4%B0KKER', '/api/sikker']]
    for (const [target, route] of cases) assertDenied(t, h, await send(target, read), differs(route))
  })

  t.test('a percent-encoded letter is refused before routing, as an escape of an unreserved character', async (t) => {
    for (const target of ['/api/%41dmin', '/api/%61dmin', '/api/adm%49n']) {
      assertDenied(t, h, await send(target, read), { status: 400, code: 'PORTVAKT_ERR_BAD_PATH', message: /percent-encodes a letter/, secrets: [read] })
    }
  })

  t.test('the admin token gets the same answer: the rule is about the spelling, not the scope', async (t) => {
    assertDenied(t, h, await send('/api/ADMIN', admin), differs('/api/admin'))
  })

  t.test('a route the table writes with a capital: the lower-case spelling is refused, not served under /api', async (t) => {
    for (const target of ['/api/rapport', '/api/RAPPORT/2024']) assertDenied(t, h, await send(target, read), differs('/api/Rapport'))
  })

  t.test('without a token: another case of a public route is a 400, not a 401 and not forwarded', async (t) => {
    for (const target of ['/PUBLIC', '/Public/x', '/publ%C4%B1c']) assertDenied(t, h, await send(target), differs('/public'))
  })

  t.test('routes that differ only by letter case are refused in every spelling', async (t) => {
    for (const target of ['/api/dup', '/api/Dup', '/api/DUP/x']) {
      assertDenied(t, h, await send(target, admin), { status: 400, code: 'PORTVAKT_ERR_BAD_PATH', message: /^the routes \/api\/dup and \/api\/Dup differ only by letter case/, secrets: [admin] })
    }
    t.match(h.logs().filter((l) => l.level === 40).map((l) => l.warnings), [[/routes\.yaml:12: \/api\/dup and \/api\/Dup \(line 14\) differ only by letter case/]], 'the start warns of them')
  })

  t.test('each refusal has its access line', async (t) => {
    await send('/api/ADMIN', read)
    t.match(h.logs().filter((l) => l.msg === 'access').at(-1), { path: '/api/ADMIN', status: 400, outcome: 'bad_request', code: 'PORTVAKT_ERR_BAD_PATH' })
  })
})
