/**
 * The gate on delegated and system-user tokens, with real-shaped tokens (Digdir's and Altinn's
 * examples) over real sockets: every route field and default, each rule not met a 403 with its own
 * code and a Bearer challenge (the upstream sees nothing), the identity headers the app receives
 * only when the token has them (client copies dropped in every spelling), the access line and the
 * rejection metric.
 */
import t from 'tap'
import { build, type Harness } from './helpers/build.js'
import { scrape, valueOf } from './helpers/metrics.js'
import { ask, askRawHeaders, assertDenied, CHALLENGE, resetSeen } from './helpers/attack.js'
import { CUSTOMER, delegatedClaims, org, SUPPLIER, SYSTEM_ID, SYSTEM_USER_ID, SYSTEM_USER_ORG, systemUserClaims, systemUserEntry, VENDOR } from './helpers/party-claims.js'

const SCOPE = 'nav:helse/im.read'

const ROUTES = `
routes:
  - { path: /plain, scopes: [${SCOPE}] }
  - { path: /customers, scopes: [${SCOPE}], consumers: ["${CUSTOMER}"] }
  - { path: /delegated, scopes: [${SCOPE}], delegation: required }
  - { path: /own, scopes: [${SCOPE}], delegation: forbidden }
  - { path: /suppliers, scopes: [${SCOPE}], suppliers: ["${SUPPLIER}"] }
  - { path: /delegated-suppliers, scopes: [${SCOPE}], delegation: required, suppliers: ["${SUPPLIER}"] }
  - { path: /systemuser, scopes: [${SCOPE}], systemUser: required }
  - { path: /no-systemuser, scopes: [${SCOPE}], systemUser: forbidden }
  - { path: /systemuser-orgs, scopes: [${SCOPE}], systemUserOrgs: ["${SYSTEM_USER_ORG}"] }
  - { path: /systems, scopes: [${SCOPE}], systems: ["${SYSTEM_ID}"] }
  - { path: /lonn, scopes: [${SCOPE}], systemUser: required, systemUserOrgs: ["${SYSTEM_USER_ORG}"], systems: ["${SYSTEM_ID}"], delegation: forbidden }
  - { path: /public, public: true }
`

// The token shapes the matrix sends, by name.
const TOKENS: Record<string, Record<string, unknown>> = {
  plain: { consumer: org(VENDOR) },
  delegated: delegatedClaims(),
  otherSupplier: delegatedClaims('111111111'),
  systemUser: systemUserClaims(),
  otherOrg: systemUserClaims(systemUserEntry({ systemuser_org: org('222222222', 'id') })),
  noSystemId: systemUserClaims(systemUserEntry({ system_id: undefined })),
  otherSystem: systemUserClaims(systemUserEntry({ system_id: '314330897_lonn' })),
  // Both in one token, as Altinn's maskinporten.dev example has them; the consumer is the delegation's customer.
  both: { ...delegatedClaims(), authorization_details: [systemUserEntry()] }
}

// Expected answer per path and token: 200, or the 403 code's tail. Defaults admit every shape.
const OK = 200
const MATRIX: Record<string, Record<string, number | string>> = {
  '/plain': { plain: OK, delegated: OK, otherSupplier: OK, systemUser: OK, otherOrg: OK, noSystemId: OK, otherSystem: OK, both: OK },
  '/customers': { plain: 'CONSUMER_NOT_ALLOWED', delegated: OK, otherSupplier: OK, systemUser: 'CONSUMER_NOT_ALLOWED', both: OK },
  '/delegated': { plain: 'DELEGATION_REQUIRED', delegated: OK, otherSupplier: OK, systemUser: 'DELEGATION_REQUIRED', both: OK },
  '/own': { plain: OK, delegated: 'DELEGATION_FORBIDDEN', otherSupplier: 'DELEGATION_FORBIDDEN', systemUser: OK, both: 'DELEGATION_FORBIDDEN' },
  '/suppliers': { plain: OK, delegated: OK, otherSupplier: 'SUPPLIER_NOT_ALLOWED', systemUser: OK },
  '/delegated-suppliers': { plain: 'DELEGATION_REQUIRED', delegated: OK, otherSupplier: 'SUPPLIER_NOT_ALLOWED', systemUser: 'DELEGATION_REQUIRED' },
  '/systemuser': { plain: 'SYSTEM_USER_REQUIRED', delegated: 'SYSTEM_USER_REQUIRED', systemUser: OK, otherOrg: OK, noSystemId: OK, both: OK },
  '/no-systemuser': { plain: OK, delegated: OK, systemUser: 'SYSTEM_USER_FORBIDDEN', noSystemId: 'SYSTEM_USER_FORBIDDEN', both: 'SYSTEM_USER_FORBIDDEN' },
  '/systemuser-orgs': { plain: OK, delegated: OK, systemUser: OK, otherOrg: 'SYSTEM_USER_ORG_NOT_ALLOWED', noSystemId: OK },
  '/systems': { plain: OK, systemUser: OK, otherOrg: OK, noSystemId: 'SYSTEM_NOT_ALLOWED', otherSystem: 'SYSTEM_NOT_ALLOWED' },
  '/lonn': { plain: 'SYSTEM_USER_REQUIRED', delegated: 'DELEGATION_FORBIDDEN', systemUser: OK, otherOrg: 'SYSTEM_USER_ORG_NOT_ALLOWED', noSystemId: 'SYSTEM_NOT_ALLOWED', otherSystem: 'SYSTEM_NOT_ALLOWED', both: 'DELEGATION_FORBIDDEN' },
  '/public': { plain: OK, both: OK }
}

// What each code's message says the route needs.
const MESSAGES: Record<string, RegExp> = {
  CONSUMER_NOT_ALLOWED: /consumer organisation may not use this route/,
  DELEGATION_REQUIRED: /delegated tokens only \(delegation: required\)/,
  DELEGATION_FORBIDDEN: /no delegated tokens \(delegation: forbidden\)/,
  SUPPLIER_NOT_ALLOWED: /only from the suppliers it lists \(suppliers\)/,
  SYSTEM_USER_REQUIRED: /Altinn system-user tokens only \(systemUser: required\)/,
  SYSTEM_USER_FORBIDDEN: /no Altinn system-user tokens \(systemUser: forbidden\)/,
  SYSTEM_USER_ORG_NOT_ALLOWED: /only of the organisations it lists \(systemUserOrgs\)/,
  SYSTEM_NOT_ALLOWED: /only of the systems it lists \(systems\)/
}

/** The identity headers a token shape gives the app, beside consumer, client id and scope. */
function partyHeaders (claims: Record<string, unknown>): Record<string, string> {
  const headers: Record<string, string> = {}
  if (claims.supplier !== undefined) headers['x-maskinporten-supplier'] = String((claims.supplier as Record<string, string>).ID).slice(5)
  const entry = (claims.authorization_details as Array<Record<string, unknown>> | undefined)?.[0]
  if (entry !== undefined) {
    headers['x-maskinporten-systemuser-org'] = String((entry.systemuser_org as Record<string, string>).id).slice(5)
    headers['x-maskinporten-systemuser-id'] = SYSTEM_USER_ID
    if (entry.system_id !== undefined) headers['x-maskinporten-system-id'] = String(entry.system_id)
  }
  return headers
}

const PARTY_HEADERS = ['x-maskinporten-supplier', 'x-maskinporten-systemuser-org', 'x-maskinporten-systemuser-id', 'x-maskinporten-system-id']

async function get (h: Harness, path: string, token: string): Promise<Awaited<ReturnType<typeof ask>>> {
  return await ask(`${h.url}${path}/1`, { headers: { authorization: `Bearer ${token}` } })
}

t.test('every route field and default, on every token shape: 200 with the party headers, or a 403 with its own code', async (t) => {
  const h = await build(t, { routes: ROUTES })
  const tokens = Object.fromEntries(await Promise.all(Object.entries(TOKENS).map(async ([name, claims]) => [name, await h.mint({ claims: { scope: SCOPE, ...claims } })] as const)))
  const counts: Record<string, number> = {}
  for (const [path, row] of Object.entries(MATRIX)) {
    for (const [name, expected] of Object.entries(row)) {
      const token = tokens[name] as string
      resetSeen(h)
      const answer = await get(h, path, token)
      const what = `${name} on ${path}`
      if (expected === OK) {
        t.equal(answer.status, 200, what)
        const seen = h.upstream.seen[0]?.headers ?? {}
        const want = path === '/public' ? {} : partyHeaders(TOKENS[name] as Record<string, unknown>)
        t.same(Object.fromEntries(PARTY_HEADERS.filter((n) => seen[n] !== undefined).map((n) => [n, seen[n]])), want, `${what}: the party headers`)
        continue
      }
      const code = `PORTVAKT_ERR_${String(expected)}`
      t.test(what, async (t) => {
        assertDenied(t, h, answer, { status: 403, code, challenge: CHALLENGE.insufficientScope, message: MESSAGES[expected as string], secrets: [token] })
        t.match(answer.headers['www-authenticate'], new RegExp(`scope="${SCOPE}"$`), 'the challenge names the route\'s scopes')
      })
      counts[String(expected).toLowerCase()] = (counts[String(expected).toLowerCase()] ?? 0) + 1
    }
  }
  const metrics = await scrape(h.adminUrl)
  for (const [label, n] of Object.entries(counts)) t.equal(valueOf(metrics, 'portvakt_token_rejections_total', { reason: label }), n, `rejections counted as ${label}`)
  const denied = h.logs().filter((l) => l.msg === 'access' && l.status === 403)
  t.ok(denied.length > 0 && denied.every((l) => typeof l.code === 'string' && l.outcome === 'forbidden'), 'each 403 has its access line with the code')
  t.notOk(h.logs().some((l) => l.level === 50), 'no error line: a rule not met is normal traffic')
})

t.test('the consumer of a delegated token is the customer, of a system-user token the vendor', async (t) => {
  const h = await build(t, { routes: ROUTES })
  for (const [claims, consumer] of [[delegatedClaims(), CUSTOMER], [systemUserClaims(), VENDOR]] as const) {
    resetSeen(h)
    t.equal((await get(h, '/plain', await h.mint({ claims: { scope: SCOPE, ...claims } }))).status, 200)
    t.equal(h.upstream.seen[0]?.headers['x-maskinporten-consumer'], consumer)
  }
})

t.test('the access line records the supplier and the system user\'s organisation when the token has them', async (t) => {
  const h = await build(t, { routes: ROUTES })
  for (const claims of [{}, delegatedClaims(), systemUserClaims(), TOKENS.both]) {
    await get(h, '/plain', await h.mint({ claims: { scope: SCOPE, ...claims } }))
  }
  await get(h, '/systemuser', await h.mint({ claims: { scope: SCOPE, ...delegatedClaims() } }))
  const lines = h.logs().filter((l) => l.msg === 'access').map((l) => ({ status: l.status, consumer: l.consumer, supplier: l.supplier, systemuser_org: l.systemuser_org, code: l.code }))
  t.same(lines, [
    { status: 200, consumer: '123456789', supplier: undefined, systemuser_org: undefined, code: undefined },
    { status: 200, consumer: CUSTOMER, supplier: SUPPLIER, systemuser_org: undefined, code: undefined },
    { status: 200, consumer: VENDOR, supplier: undefined, systemuser_org: SYSTEM_USER_ORG, code: undefined },
    { status: 200, consumer: CUSTOMER, supplier: SUPPLIER, systemuser_org: SYSTEM_USER_ORG, code: undefined },
    { status: 403, consumer: CUSTOMER, supplier: SUPPLIER, systemuser_org: undefined, code: 'PORTVAKT_ERR_SYSTEM_USER_REQUIRED' }
  ])
})

// Every spelling a client might try for the four new names: any case, `_` or `.` for `-`, twice.
function forgedPartyHeaders (): string[] {
  const out: string[] = []
  for (const name of ['X-Maskinporten-Supplier', 'X-Maskinporten-Systemuser-Org', 'X-Maskinporten-Systemuser-Id', 'X-Maskinporten-System-Id']) {
    for (const spelt of [name, name.toLowerCase(), name.toUpperCase(), name.replace(/-/g, '_'), name.replace(/-/g, '.'), name.replace('-', '_'), name.replace(/-/g, '_').toUpperCase()]) out.push(spelt, '999999999')
  }
  return out
}

t.test('client copies of the party headers are dropped in every spelling, on protected and public routes', async (t) => {
  const h = await build(t, { routes: ROUTES })
  const cases: Array<[string, string | undefined, Record<string, string>]> = [
    ['/plain/1', await h.mint({ claims: { scope: SCOPE } }), {}],
    ['/plain/1', await h.mint({ claims: { scope: SCOPE, ...TOKENS.both } }), partyHeaders(TOKENS.both as Record<string, unknown>)],
    ['/public/1', undefined, {}]
  ]
  for (const [path, token, expected] of cases) {
    resetSeen(h)
    const res = await askRawHeaders(h.url + path, [...(token === undefined ? [] : ['authorization', `Bearer ${token}`]), ...forgedPartyHeaders(), 'connection', 'x-maskinporten-supplier'])
    t.equal(res.status, 200, path)
    const seen = h.upstream.seen[0]?.headers ?? {}
    const folded = Object.keys(seen).map((n) => n.toLowerCase().replace(/[_.]/g, '-'))
    for (const name of PARTY_HEADERS) t.equal(folded.filter((n) => n === name).length, expected[name] === undefined ? 0 : 1, `${path}: ${name} at most once, ours`)
    t.same(Object.fromEntries(PARTY_HEADERS.filter((n) => seen[n] !== undefined).map((n) => [n, seen[n]])), expected)
    t.notOk(JSON.stringify(seen).includes('999999999'), 'no forged value anywhere')
  }
})

t.test('a malformed supplier or system user is a 401 of its own reason on every protected route, by jose and by the fast path, never cached', async (t) => {
  const h = await build(t, { routes: ROUTES })
  const bad: Array<[string, Record<string, unknown>]> = [
    ['bad_delegation', { ...delegatedClaims(), supplier: { authority: 'iso6523-actorid-upis', ID: '0192:99182582' } }],
    ['bad_delegation', { supplier: { authority: 'other', ID: `0192:${SUPPLIER}` } }],
    ['bad_system_user', systemUserClaims(systemUserEntry({ systemuser_id: [SYSTEM_USER_ID, SYSTEM_USER_ID] }))],
    ['bad_system_user', { authorization_details: [systemUserEntry(), systemUserEntry()] }],
    ['bad_system_user', systemUserClaims(systemUserEntry({ systemuser_org: { authority: 'iso6523-actorid-upis', id: `0192:${SYSTEM_USER_ORG}`, ID: '0192:222222222' } }))],
    ['bad_system_user', systemUserClaims(systemUserEntry({ system_id: 'lonn\r\nX-Maskinporten-Consumer: 999999999' }))]
  ]
  let refused = 0
  for (const [index, [reason, claims]] of bad.entries()) {
    const token = await h.mint({ claims: { scope: SCOPE, ...claims } })
    // The first token of the key goes to jose; after a good one, the fast path checks the rest.
    if (index === 1) t.equal((await get(h, '/plain', await h.mint({ claims: { scope: SCOPE } }))).status, 200, 'a good token in between')
    for (const path of ['/plain', '/systemuser', '/own', '/plain']) {
      resetSeen(h)
      assertDenied(t, h, await get(h, path, token), { status: 401, code: 'PORTVAKT_ERR_TOKEN_INVALID', challenge: CHALLENGE.invalidToken, reason, secrets: [token] })
      refused++
    }
  }
  const metrics = await scrape(h.adminUrl)
  t.equal((valueOf(metrics, 'portvakt_token_rejections_total', { reason: 'bad_delegation' }) ?? 0) + (valueOf(metrics, 'portvakt_token_rejections_total', { reason: 'bad_system_user' }) ?? 0), refused, 'counted by reason')
  t.equal(h.logs().filter((l) => l.msg === 'access' && l.status === 401 && (l.reason === 'bad_delegation' || l.reason === 'bad_system_user')).length, refused, 'each access line names the reason')
})

t.test('the start line lists each route\'s delegation and system-user rules, and nothing for a route without them', async (t) => {
  const h = await build(t, { routes: ROUTES })
  const routes = (h.logs().find((l) => l.msg === 'portvakt started')?.routes ?? []) as Array<Record<string, unknown>>
  t.same(routes.find((r) => r.route === '* /lonn'), {
    route: '* /lonn',
    scopes: SCOPE,
    delegation: 'forbidden',
    systemUser: 'required',
    systemUserOrgs: [SYSTEM_USER_ORG],
    systems: [SYSTEM_ID]
  })
  t.same(routes.find((r) => r.route === '* /plain'), { route: '* /plain', scopes: SCOPE })
})
