import t, { type Test } from 'tap'
import { createServer } from 'node:http'
import { decodeJwt } from 'jose'
import { requestDevToken } from '../src/commands/token.js'
import { loadDevKey } from '../src/dev/dev-key.js'
import { startDevIssuer, type DevIssuer } from '../src/dev/issuer.js'
import { close, listen } from './helpers/servers.js'
import { freePort, runPortvakt } from './helpers/cli.js'

let running: Promise<DevIssuer> | undefined

async function issuer (t: Test): Promise<DevIssuer> {
  running ??= loadDevKey(t.testdir()).then(async (key) => await startDevIssuer({ host: '127.0.0.1', port: 0, key }))
  return await running
}

t.teardown(async () => { await (await running)?.close() })

t.test('asks the dev issuer for the scopes, audience, orgno and lifetime given', async (t) => {
  const dev = await issuer(t)
  const base = dev.issuer
  const token = await requestDevToken({ issuerUrl: base, scopes: ['nav:arbeid:a.read', 'nav:arbeid:b.read'], audience: 'https://arbeid.api.nav.no', orgno: '987654321', expiresIn: 60 })
  const claims = decodeJwt(token)
  t.equal(claims.scope, 'nav:arbeid:a.read nav:arbeid:b.read')
  t.equal(claims.aud, 'https://arbeid.api.nav.no')
  t.same(claims.consumer, { authority: 'iso6523-actorid-upis', ID: '0192:987654321' })
  t.equal((claims.exp ?? 0) - (claims.iat ?? 0), 60)
  const cached = await requestDevToken({ issuerUrl: base, scopes: ['nav:arbeid:a.read'] })
  t.equal(await requestDevToken({ issuerUrl: base, scopes: ['nav:arbeid:a.read'] }), cached, 'the issuer cache answers')
  t.not(await requestDevToken({ issuerUrl: base, scopes: ['nav:arbeid:a.read'], fresh: true }), cached, '--fresh skips it')
})

t.test('says clearly when the dev issuer is not running', async (t) => {
  const port = await freePort()
  await t.rejects(requestDevToken({ issuerUrl: `http://127.0.0.1:${port}`, scopes: ['nav:arbeid:a.read'] }), {
    message: new RegExp(`the dev issuer at http://127.0.0.1:${port} is not running.*npm run dev.*PORTVAKT_DEV_ISSUER_PORT`)
  })
})

t.test('passes on the issuer\'s refusal, and asks for a scope when none is given', async (t) => {
  const dev = await issuer(t)
  await t.rejects(requestDevToken({ issuerUrl: dev.issuer, scopes: ['noprefix'] }), { message: /refused: invalid_scope: target: every scope is "<prefix>:<subscope>"/ })
  await t.rejects(requestDevToken({ issuerUrl: dev.issuer, scopes: [] }), { message: /give at least one --scope/ })
})

t.test('refuses an answer that is not a token from something that is not the dev issuer', async (t) => {
  const other = createServer((_req, res) => { res.setHeader('content-type', 'application/json'); res.end('{"hello":"world"}') })
  const url = await listen(other)
  t.teardown(async () => { await close(other) })
  await t.rejects(requestDevToken({ issuerUrl: url, scopes: ['nav:arbeid:a.read'] }), { message: /did not answer with an access_token/ })
  const failing = createServer((_req, res) => { res.statusCode = 500; res.end('oops') })
  const failingUrl = await listen(failing)
  t.teardown(async () => { await close(failing) })
  await t.rejects(requestDevToken({ issuerUrl: failingUrl, scopes: ['nav:arbeid:a.read'] }), { message: /refused: HTTP 500/ })
})

t.test('portvakt token prints exactly one line: the bare token', async (t) => {
  const dev = await issuer(t)
  const result = await runPortvakt(['token', '--scope', 'nav:arbeid:arbeidsforhold.read', '--scope', 'nav:arbeid:x.read', '--expires', '30'], { env: { PORTVAKT_DEV_ISSUER_PORT: String(dev.port) }, inheritEnv: true })
  t.equal(result.code, 0)
  t.match(result.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, 'one JWS and a newline, nothing else')
  t.equal(decodeJwt(result.stdout.trim()).scope, 'nav:arbeid:arbeidsforhold.read nav:arbeid:x.read')
  t.equal(result.stderr, '')
})

t.test('portvakt token fails with exit 1 and nothing on stdout when the issuer is down', async (t) => {
  const port = await freePort()
  const result = await runPortvakt(['token', '--scope', 'nav:arbeid:a.read'], { env: { PORTVAKT_DEV_ISSUER_PORT: String(port) }, inheritEnv: true })
  t.equal(result.code, 1)
  t.equal(result.stdout, '')
  t.match(result.stderr, /is not running/)
})

t.test('portvakt token names PORTVAKT_DEV_ISSUER_PORT when it is not a port (exit 1, like an issuer that is down)', async (t) => {
  for (const port of ['abc', '99999', '8090@evil.example']) {
    const result = await runPortvakt(['token', '--scope', 'nav:arbeid:a.read'], { env: { PORTVAKT_DEV_ISSUER_PORT: port }, inheritEnv: true })
    t.equal(result.code, 1, port)
    t.equal(result.stdout, '', port)
    t.match(result.stderr, /PORTVAKT_DEV_ISSUER_PORT: .*set it to a port number \(1-65535\)/, port)
    t.notMatch(result.stderr, /Invalid URL/, port)
  }
})

t.test('refuses an issuer address that is no URL or carries credentials, naming PORTVAKT_DEV_ISSUER_PORT', async (t) => {
  for (const issuerUrl of ['http://127.0.0.1:abc', 'http://127.0.0.1:8090@evil.example']) {
    await t.rejects(requestDevToken({ issuerUrl, scopes: ['nav:arbeid:a.read'] }), { name: 'ConfigError', message: /PORTVAKT_DEV_ISSUER_PORT: the dev issuer address .* is not valid/ }, issuerUrl)
  }
})
