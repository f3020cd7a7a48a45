/**
 * End to end, as a user: `portvakt dev` as a process, then the README's "Try it locally" session
 * with real curl and `portvakt token`, on free ports so parallel runs don't collide.
 */
import t from 'tap'
import { copyFileSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { READY_LINE } from '../src/dev/banner.js'
import { CLI, freePort, runPortvakt, runToEnd, startPortvakt } from './helpers/cli.js'

// The session as the README shows it, on the README's ports; the test swaps in free ones.
const SESSION = {
  token: 'TOKEN=$(npx portvakt token --scope nav:arbeid:arbeidsforhold.read)',
  allowed: 'curl -i -H "Authorization: Bearer $TOKEN" "http://localhost:8080/api/v1/arbeidsforhold/42?page=2"',
  otherScope: 'curl -i -X POST -H "Authorization: Bearer $TOKEN" http://localhost:8080/api/v1/arbeidsforhold/42',
  noToken: 'curl -i http://localhost:8080/api/v1/arbeidsforhold/42'
}

t.test('the README shows this exact session', async (t) => {
  const readme = readFileSync(resolve('README.md'), 'utf8')
  for (const line of Object.values(SESSION)) t.ok(readme.includes(line), line)
})

t.test('portvakt dev runs the README session: 200 with identity, 403 for another scope, 401 without a token', async (t) => {
  const [proxyPort, issuerPort, demoPort] = [await freePort(), await freePort(), await freePort()]
  const dir = t.testdir()
  copyFileSync(resolve('config/routes.yaml'), join(dir, 'routes.yaml'))
  const env = {
    PORTVAKT_PORT: String(proxyPort),
    PORTVAKT_ADMIN_PORT: '0',
    PORTVAKT_DEV_ISSUER_PORT: String(issuerPort),
    PORTVAKT_DEV_UPSTREAM_PORT: String(demoPort),
    PORTVAKT_DEV_DIR: join(dir, '.portvakt'),
    PORTVAKT_ROUTES: join(dir, 'routes.yaml')
  }
  const dev = startPortvakt(t, ['dev'], { env, inheritEnv: true })
  await dev.waitFor(READY_LINE, 'stderr')
  t.match(dev.stderr(), `proxy     http://127.0.0.1:${proxyPort}`)

  // `npx portvakt` is `node dist/cli.js` here; curl is real curl, run by a shell as a user would.
  const tokenLine = SESSION.token.replace('npx portvakt', `"${process.execPath}" "${CLI}"`)
  const token = await runToEnd('/bin/sh', ['-c', `${tokenLine} && printf %s "$TOKEN"`], { env, inheritEnv: true })
  t.equal(token.code, 0, SESSION.token)
  t.match(token.stdout, /^[\w-]+\.[\w-]+\.[\w-]+$/)
  const curl = async (line: string): Promise<{ status: number, headers: string, body: string }> => {
    const result = await runToEnd('/bin/sh', ['-c', line.replaceAll('localhost:8080', `127.0.0.1:${proxyPort}`)], { env: { ...env, TOKEN: token.stdout }, inheritEnv: true })
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

  const otherScope = await curl(SESSION.otherScope)
  t.equal(otherScope.status, 403)
  t.match(otherScope.headers, 'www-authenticate: bearer realm="portvakt", error="insufficient_scope"')
  t.match(JSON.parse(otherScope.body), { code: 'PORTVAKT_ERR_INSUFFICIENT_SCOPE' })

  const noToken = await curl(SESSION.noToken)
  t.equal(noToken.status, 401)
  t.match(noToken.headers, 'www-authenticate: bearer realm="portvakt"')
  t.match(JSON.parse(noToken.body), { code: 'PORTVAKT_ERR_TOKEN_MISSING' })

  dev.child.kill('SIGTERM')
  t.equal(await dev.exited, 0, 'stops cleanly on SIGTERM')
  t.notMatch(dev.stdout(), /eyJ[\w-]+\.eyJ/, 'no token in the logs')
  t.match(dev.stdout(), /"message":"dev token issued"/)
})

t.test('portvakt dev refuses to start under NAIS_CLUSTER_NAME', async (t) => {
  const result = await runPortvakt(['dev'], { env: { NAIS_CLUSTER_NAME: 'prod-gcp', PORTVAKT_DEV_DIR: join(t.testdir(), '.portvakt') }, inheritEnv: true })
  t.equal(result.code, 1)
  t.match(result.stderr, /portvakt dev refuses to start in a cluster/)
  t.match(result.stderr, /NAIS_CLUSTER_NAME is set \(prod-gcp\)/)
})
