import t from 'tap'
import { join } from 'node:path'
import { makeKey } from './helpers/keys.js'
import { curl, runPortvakt, startPortvakt } from './helpers/cli.js'
import { close, startEchoUpstream, startJwksServer } from './helpers/servers.js'
import { TEST_ISSUER, tokenFactory } from './helpers/tokens.js'
import { TEST_ROUTES } from './helpers/build.js'

t.test('the built server, called with curl', async (t) => {
  const key = await makeKey()
  const jwks = await startJwksServer([key.jwk])
  const upstream = await startEchoUpstream()
  t.teardown(async () => { await close(jwks.server); await close(upstream.server) })
  const dir = t.testdir({ 'routes.yaml': TEST_ROUTES })
  const mint = tokenFactory(key)
  const proc = startPortvakt(t, ['serve'], {
    env: {
      MASKINPORTEN_WELL_KNOWN_URL: `${jwks.url}/.well-known/oauth-authorization-server`,
      PORTVAKT_ROUTES: join(dir, 'routes.yaml'),
      PORTVAKT_UPSTREAM: upstream.url,
      PORTVAKT_HOST: '127.0.0.1',
      PORTVAKT_PORT: '0',
      PORTVAKT_ADMIN_PORT: '0'
    }
  })
  await proc.waitFor(/"message":"signing keys fetched"/)
  const started = proc.logs().find((l) => l.message === 'portvakt started')
  t.match(started, { issuer: TEST_ISSUER, jwksUri: `${jwks.url}/jwks`, port: Number }, 'logs the issuer it discovered and the port it took')
  const port = started?.port as number
  t.not(port, 0, 'a real port, not the 0 it was given')
  const base = `http://127.0.0.1:${port}`
  const token = await mint()

  const allowed = await curl(['-H', `Authorization: Bearer ${token}`, `${base}/api/v1/arbeidsforhold/7?full=true`])
  t.equal(allowed.status, 200)
  t.match(JSON.parse(allowed.body), { url: '/api/v1/arbeidsforhold/7?full=true', headers: { 'x-maskinporten-consumer': '123456789' } })

  const noToken = await curl(['-i', `${base}/api/v1/arbeidsforhold`])
  t.equal(noToken.status, 401)
  t.match(noToken.body, /www-authenticate: Bearer realm="portvakt"/i)

  const wrongScope = await curl(['-H', `Authorization: Bearer ${token}`, '-X', 'DELETE', `${base}/api/v1/arbeidsforhold/7`])
  t.equal(wrongScope.status, 403)
  t.equal(JSON.parse(wrongScope.body).code, 'PORTVAKT_ERR_INSUFFICIENT_SCOPE')

  const forwardedBefore = upstream.seen.length
  const traversal = await curl(['--path-as-is', '-H', `Authorization: Bearer ${token}`, `${base}/public/../api/v1/arbeidsforhold`])
  t.equal(traversal.status, 400)
  t.match(JSON.parse(traversal.body), { code: 'PORTVAKT_ERR_BAD_PATH', message: /dot segment/ })
  t.equal(upstream.seen.length, forwardedBefore, 'the traversal never reached the upstream')

  const output = proc.stdout() + proc.stderr()
  t.notOk(output.includes(token.split('.')[1] as string), 'the token never reaches the log')

  proc.child.kill('SIGTERM')
  t.equal(await proc.exited, 0, 'exits 0 on SIGTERM')
})

t.test('a bad configuration stops the start with every variable named', async (t) => {
  const res = await runPortvakt(['serve'], { env: { PORTVAKT_PORT: 'x' } })
  t.equal(res.code, 1)
  t.match(res.stderr, /PORTVAKT_PORT/)
  const none = await runPortvakt(['serve'])
  t.equal(none.code, 1)
  t.match(none.stderr, /set MASKINPORTEN_ISSUER and MASKINPORTEN_JWKS_URI, or MASKINPORTEN_WELL_KNOWN_URL/)
})

t.test('a bad route table stops the start with its line', async (t) => {
  const dir = t.testdir({ 'routes.yaml': 'routes:\n  - path: /a\n    scopes: []\n' })
  const res = await runPortvakt(['serve'], { env: { MASKINPORTEN_ISSUER: TEST_ISSUER, MASKINPORTEN_JWKS_URI: 'http://127.0.0.1:9/jwks', PORTVAKT_ROUTES: join(dir, 'routes.yaml') } })
  t.equal(res.code, 1)
  t.match(res.stderr, /routes\.yaml:3: route 1 \(\/a\), scopes: list at least one scope/)
})
