/**
 * End to end, as a user: `portvakt dev` as a process, then the README's "Try it locally" session
 * and docs/delegation.md's delegated and system-user sessions, with real curl and `portvakt token`, on free ports so
 * parallel runs don't collide.
 */
import t from 'tap'
import { copyFileSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { READY_LINE } from '../src/dev/banner.js'
import { deriveClientId, deriveSystemUserId } from '../src/dev/mint.js'
import { CLI, freePort, runPortvakt, runToEnd, startPortvakt } from './helpers/cli.js'

// The session as the README (and docs/delegation.md) show it, on their ports; the test swaps in free ones.
const SESSION = {
  token: 'TOKEN=$(npx portvakt token --scope nav:arbeid:arbeidsforhold.read)',
  allowed: 'curl -i -H "Authorization: Bearer $TOKEN" "http://localhost:8080/api/v1/arbeidsforhold/42?page=2"',
  otherScope: 'curl -i -X POST -H "Authorization: Bearer $TOKEN" http://localhost:8080/api/v1/arbeidsforhold/42',
  noToken: 'curl -i http://localhost:8080/api/v1/arbeidsforhold/42',
  // docs/delegation.md, "Try it locally": one session per token shape.
  delegatedToken: 'DELEGATED=$(npx portvakt token --scope nav:arbeid:arbeidsforhold.read --orgno 910753614 --supplier 991825827)',
  delegated: 'curl -i -H "Authorization: Bearer $DELEGATED" http://localhost:8080/api/v1/arbeidsforhold/42',
  systemUserToken: 'SYSTEMUSER=$(npx portvakt token --scope nav:arbeid:arbeidsforhold.read --systemuser-org 222222222 --system-id 123456789_lonn)',
  systemUser: 'curl -i -H "Authorization: Bearer $SYSTEMUSER" http://localhost:8080/api/v1/lonn/42',
  plainOnSystemRoute: 'curl -i -H "Authorization: Bearer $TOKEN" http://localhost:8080/api/v1/lonn/42',
  // docs/altinn.md, "The local stand-in": the local PDP answers from config/altinn-grants.yaml.
  altinnPermit: 'curl -i -H "Authorization: Bearer $SYSTEMUSER" http://localhost:8080/api/v1/kravogbetaling/42',
  altinnDeny: 'curl -i -X POST -H "Authorization: Bearer $SYSTEMUSER" http://localhost:8080/api/v1/kravogbetaling/42',
  otherCustomerToken: 'OTHER=$(npx portvakt token --scope nav:arbeid:arbeidsforhold.read --systemuser-org 333333333 --system-id 123456789_lonn)',
  otherCustomer: 'curl -i -H "Authorization: Bearer $OTHER" http://localhost:8080/api/v1/kravogbetaling/42'
}

// The session's token lines, by the variable each sets.
const TOKEN_LINES = { TOKEN: SESSION.token, DELEGATED: SESSION.delegatedToken, SYSTEMUSER: SESSION.systemUserToken, OTHER: SESSION.otherCustomerToken }

// Which document shows which line: the plain session in the README, the other shapes beside their rules.
const SHOWN_IN: Record<keyof typeof SESSION, string> = {
  token: 'README.md', allowed: 'README.md', otherScope: 'README.md', noToken: 'README.md',
  delegatedToken: 'docs/delegation.md', delegated: 'docs/delegation.md',
  systemUserToken: 'docs/delegation.md', systemUser: 'docs/delegation.md', plainOnSystemRoute: 'docs/delegation.md',
  altinnPermit: 'docs/altinn.md', altinnDeny: 'docs/altinn.md', otherCustomerToken: 'docs/altinn.md', otherCustomer: 'docs/altinn.md'
}

t.test('the README, docs/delegation.md and docs/altinn.md show this exact session', async (t) => {
  for (const [name, line] of Object.entries(SESSION)) {
    const file = SHOWN_IN[name as keyof typeof SESSION]
    t.ok(readFileSync(resolve(file), 'utf8').includes(line), `${file}: ${line}`)
  }
})

t.test('portvakt dev runs the README session: 200 with identity, 403 for another scope, 401 without a token', async (t) => {
  const [proxyPort, issuerPort, demoPort, altinnPort] = [await freePort(), await freePort(), await freePort(), await freePort()]
  const dir = t.testdir()
  copyFileSync(resolve('config/routes.yaml'), join(dir, 'routes.yaml'))
  const env = {
    PORTVAKT_PORT: String(proxyPort),
    PORTVAKT_ADMIN_PORT: '0',
    PORTVAKT_DEV_ISSUER_PORT: String(issuerPort),
    PORTVAKT_DEV_UPSTREAM_PORT: String(demoPort),
    PORTVAKT_DEV_ALTINN_PORT: String(altinnPort),
    PORTVAKT_DEV_DIR: join(dir, '.portvakt'),
    PORTVAKT_ROUTES: join(dir, 'routes.yaml')
  }
  const dev = startPortvakt(t, ['dev'], { env, inheritEnv: true })
  await dev.waitFor(READY_LINE, 'stderr')
  t.match(dev.stderr(), `proxy     http://127.0.0.1:${proxyPort}`)

  // `npx portvakt` is `node dist/cli.js` here; curl is real curl, run by a shell as a user would.
  const tokens: Record<string, string> = {}
  for (const [name, line] of Object.entries(TOKEN_LINES)) {
    const token = await runToEnd('/bin/sh', ['-c', `${line.replace('npx portvakt', `"${process.execPath}" "${CLI}"`)} && printf %s "$${name}"`], { env, inheritEnv: true })
    t.equal(token.code, 0, line)
    t.match(token.stdout, /^[\w-]+\.[\w-]+\.[\w-]+$/)
    tokens[name] = token.stdout
  }
  const curl = async (line: string): Promise<{ status: number, headers: string, body: string }> => {
    const result = await runToEnd('/bin/sh', ['-c', line.replaceAll('localhost:8080', `127.0.0.1:${proxyPort}`)], { env: { ...env, ...tokens }, inheritEnv: true })
    t.equal(result.code, 0, `${line} ran`)
    const [head = '', body = ''] = result.stdout.split(/\r\n\r\n/)
    return { status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(head)?.[1]), headers: head.toLowerCase(), body }
  }

  const allowed = await curl(SESSION.allowed)
  t.equal(allowed.status, 200)
  t.match(JSON.parse(allowed.body), {
    method: 'GET',
    path: '/api/v1/arbeidsforhold/42',
    query: { page: '2' },
    identity: { 'x-maskinporten-consumer': '123456789', 'x-maskinporten-scope': 'nav:arbeid:arbeidsforhold.read' }
  })

  // A refusal: its status, its challenge (headers are lower-cased) and its error code.
  const refused = async (line: string, status: number, challenge: string, code: string): Promise<void> => {
    const res = await curl(line)
    t.equal(res.status, status, line)
    t.match(res.headers, challenge)
    t.match(JSON.parse(res.body), { code })
  }
  // Served, with exactly these identity headers.
  const servedAs = async (line: string, identity: Record<string, string>, what: string): Promise<void> => {
    const res = await curl(line)
    t.equal(res.status, 200, line)
    t.same(JSON.parse(res.body).identity, identity, what)
  }

  await refused(SESSION.otherScope, 403, 'www-authenticate: bearer realm="portvakt", error="insufficient_scope"', 'PORTVAKT_ERR_INSUFFICIENT_SCOPE')
  await refused(SESSION.noToken, 401, 'www-authenticate: bearer realm="portvakt"', 'PORTVAKT_ERR_TOKEN_MISSING')
  await servedAs(SESSION.delegated, {
    'x-maskinporten-consumer': '910753614',
    'x-maskinporten-client-id': deriveClientId('991825827'),
    'x-maskinporten-scope': 'nav:arbeid:arbeidsforhold.read',
    'x-maskinporten-supplier': '991825827'
  }, 'the customer as the consumer, the supplier beside it')
  await servedAs(SESSION.systemUser, {
    'x-maskinporten-consumer': '123456789',
    'x-maskinporten-client-id': deriveClientId('123456789'),
    'x-maskinporten-scope': 'nav:arbeid:arbeidsforhold.read',
    'x-maskinporten-systemuser-org': '222222222',
    'x-maskinporten-systemuser-id': deriveSystemUserId('222222222', '123456789_lonn'),
    'x-maskinporten-system-id': '123456789_lonn'
  }, 'the vendor as the consumer, the customer and system beside it')
  await refused(SESSION.plainOnSystemRoute, 403, 'www-authenticate: bearer realm="portvakt", error="insufficient_scope", error_description="this route takes altinn system-user tokens only (systemuser: required)', 'PORTVAKT_ERR_SYSTEM_USER_REQUIRED')

  const altinnPermit = await curl(SESSION.altinnPermit)
  t.equal(altinnPermit.status, 200, 'the grant permits read')
  t.match(JSON.parse(altinnPermit.body), { path: '/api/v1/kravogbetaling/42', identity: { 'x-maskinporten-systemuser-org': '222222222' } })
  const altinnDeny = await curl(SESSION.altinnDeny)
  t.equal(altinnDeny.status, 403, 'no grant for write')
  t.match(altinnDeny.headers, 'www-authenticate: bearer realm="portvakt", error="insufficient_scope", error_description="altinn denies')
  t.match(JSON.parse(altinnDeny.body), { code: 'PORTVAKT_ERR_ALTINN_DENIED' })
  const otherCustomer = await curl(SESSION.otherCustomer)
  t.equal(otherCustomer.status, 403, 'no grant for another customer\'s system user')
  t.match(JSON.parse(otherCustomer.body), { code: 'PORTVAKT_ERR_ALTINN_DENIED' })

  dev.child.kill('SIGTERM')
  t.equal(await dev.exited, 0, 'stops cleanly on SIGTERM')
  t.notMatch(dev.stdout(), /eyJ[\w-]+\.eyJ/, 'no token in the logs')
  t.match(dev.stdout(), /"message":"dev token issued"/)
  t.match(dev.stdout(), /"altinn":"permit"/, 'the decision in the access line')
  t.notMatch(dev.stdout(), /portvakt-dev-subscription-key/, 'the subscription key in no log line')
})

t.test('portvakt dev refuses to start under NAIS_CLUSTER_NAME', async (t) => {
  const result = await runPortvakt(['dev'], { env: { NAIS_CLUSTER_NAME: 'prod-gcp', PORTVAKT_DEV_DIR: join(t.testdir(), '.portvakt') }, inheritEnv: true })
  t.equal(result.code, 1)
  t.match(result.stderr, /portvakt dev refuses to start in a cluster/)
  t.match(result.stderr, /NAIS_CLUSTER_NAME is set \(prod-gcp\)/)
})
