/**
 * HEAD over sockets, against the real echo upstream: Spring, Express and Ktor run the GET handler
 * for HEAD, so a route that lists only GET admits HEAD with GET's requirements (not a 405), refuses
 * it exactly as it refuses GET, and a table that gives HEAD other requirements is not served at all.
 */
import t from 'tap'
import { join } from 'node:path'
import { ConfigError } from '../../src/config/errors.js'
import { loadSettings } from '../../src/config/env.js'
import { createLogger } from '../../src/observe/log.js'
import { startGateway } from '../../src/start.js'
import { build } from '../helpers/build.js'
import { assertDenied, CHALLENGE, rawGet, resetSeen, sendRaw, type Answer } from '../helpers/attack.js'
import { runPortvakt } from '../helpers/cli.js'

// The GET route both tables start with, on lines 2 to 4.
const GET_ITEMS = `  - path: /api/items
    methods: [GET]
    scopes: [nav:test:read]
`
const ROUTES = `routes:
${GET_ITEMS}  - path: /api/items
    methods: [POST]
    scopes: [nav:test:write]
`

t.test('HEAD on a GET route', async (t) => {
  const h = await build(t, { routes: ROUTES })
  const read = await h.mint({ claims: { scope: 'nav:test:read' } })
  const write = await h.mint({ claims: { scope: 'nav:test:write' } })
  const send = async (method: string, token?: string): Promise<Answer> => await sendRaw(h.url, rawGet('/api/items/1', token === undefined ? {} : { Authorization: `Bearer ${token}` }, method))
  t.beforeEach(() => { resetSeen(h) })

  t.test('is forwarded as HEAD with the read token, under the route GET,HEAD /api/items', async (t) => {
    const res = await send('HEAD', read)
    t.equal(res.status, 200)
    t.equal(res.body, '', 'headers only')
    t.same(h.upstream.seen.map((s) => [s.method, s.url]), [['HEAD', '/api/items/1']])
    t.match(h.logs().filter((l) => l.msg === 'access').at(-1), { method: 'HEAD', route: 'GET,HEAD /api/items', status: 200, outcome: 'allowed' })
  })

  t.test('is refused as GET would be: the write scope is short (403), no token is a 401', async (t) => {
    assertDenied(t, h, await send('HEAD', write), { status: 403, challenge: CHALLENGE.insufficientScope, secrets: [write] })
    assertDenied(t, h, await send('HEAD'), { status: 401, challenge: CHALLENGE.bare })
  })

  t.test('OPTIONS is not implied: 405, with HEAD in Allow', async (t) => {
    const res = await send('OPTIONS', read)
    assertDenied(t, h, res, { status: 405, code: 'PORTVAKT_ERR_METHOD_NOT_ALLOWED', secrets: [read] })
    t.equal(res.headers.allow, 'GET, HEAD, POST')
  })
})

const CONFLICT = `routes:
${GET_ITEMS}  - path: /api/items
    methods: [HEAD]
    public: true
`
const CONFLICT_PROBLEM = /routes\.yaml:5: HEAD \/api\/items asks other scopes, audience, consumers, delegation and system-user rules or Altinn action than GET \/api\/items at line 2, but the app answers HEAD with its GET handler \(RFC 9110 §9\.3\.2\): remove HEAD here/

t.test('a table giving HEAD other requirements than GET is refused by serve and by check alike', async (t) => {
  const dir = t.testdir({ 'routes.yaml': CONFLICT })
  const settings = loadSettings({ MASKINPORTEN_ISSUER: 'https://test.maskinporten.no/', MASKINPORTEN_JWKS_URI: 'http://127.0.0.1:1/jwks', PORTVAKT_ROUTES: join(dir, 'routes.yaml'), PORTVAKT_PORT: '0', PORTVAKT_ADMIN_PORT: '0', PORTVAKT_HOST: '127.0.0.1', PORTVAKT_ADMIN_HOST: '127.0.0.1' })
  const failure = await startGateway(settings, createLogger('silent')).then(() => undefined, (err: unknown) => err)
  t.type(failure, ConfigError, 'the start stops with a configuration error')
  t.match((failure as ConfigError).problems, [CONFLICT_PROBLEM])
  const check = await runPortvakt(['check', 'routes.yaml'], { env: {}, cwd: dir, inheritEnv: true })
  t.equal(check.code, 1)
  t.match(check.stderr, CONFLICT_PROBLEM)
})
