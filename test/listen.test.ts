import { createServer, type AddressInfo, type Server } from 'node:net'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { describeListenError } from '../src/http/listen-error.js'
import { runPortvakt } from './helpers/cli.js'
import { TEST_ISSUER } from './helpers/tokens.js'

// A port some other process already holds, released on teardown.
async function holdPort (t: Test): Promise<number> {
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise<void>((resolve) => server.close(() => { resolve() })) })
  return (server.address() as AddressInfo).port
}

const ROUTES = 'routes:\n  - { path: /a, public: true }\negress:\n  - { name: skatt, url: "https://api.skatteetaten.no", scopes: [skatt:a] }\n'

function env (dir: string, overrides: Record<string, string>): Record<string, string> {
  return {
    MASKINPORTEN_ISSUER: TEST_ISSUER,
    MASKINPORTEN_JWKS_URI: 'http://127.0.0.1:9/jwks',
    NAIS_TOKEN_ENDPOINT: 'http://127.0.0.1:9/token',
    PORTVAKT_ROUTES: join(dir, 'routes.yaml'),
    PORTVAKT_HOST: '127.0.0.1',
    PORTVAKT_PORT: '0',
    PORTVAKT_ADMIN_HOST: '127.0.0.1',
    PORTVAKT_ADMIN_PORT: '0',
    PORTVAKT_EGRESS_PORT: '0',
    ...overrides
  }
}

for (const variable of ['PORTVAKT_PORT', 'PORTVAKT_ADMIN_PORT', 'PORTVAKT_EGRESS_PORT']) {
  t.test(`a port in use stops the start naming ${variable} and its value, not Node's EADDRINUSE`, async (t) => {
    const port = await holdPort(t)
    const dir = t.testdir({ 'routes.yaml': ROUTES })
    const res = await runPortvakt(['serve'], { env: env(dir, { [variable]: String(port) }) })
    t.equal(res.code, 1)
    t.match(res.stderr, `portvakt cannot start; fix these environment variables:\n  - ${variable}: port ${port} on 127.0.0.1 is already in use by another process; stop what holds it or set ${variable} to a free port\n`)
    t.notMatch(res.stderr, /EADDRINUSE|failed to start/)
  })
}

t.test('every port in use is named in one run: the gate, the admin and the egress listener', async (t) => {
  const [gate, admin, egress] = [await holdPort(t), await holdPort(t), await holdPort(t)]
  const dir = t.testdir({ 'routes.yaml': ROUTES })
  const res = await runPortvakt(['serve'], { env: env(dir, { PORTVAKT_PORT: String(gate), PORTVAKT_ADMIN_PORT: String(admin), PORTVAKT_EGRESS_PORT: String(egress) }) })
  t.equal(res.code, 1)
  const inUse = (variable: string, port: number): string => `  - ${variable}: port ${port} on 127.0.0.1 is already in use by another process; stop what holds it or set ${variable} to a free port\n`
  t.equal(res.stderr, `portvakt cannot start; fix these environment variables:\n${inUse('PORTVAKT_ADMIN_PORT', admin)}${inUse('PORTVAKT_EGRESS_PORT', egress)}${inUse('PORTVAKT_PORT', gate)}`)
})

t.test('EACCES (a port below 1024 without privileges) and EADDRNOTAVAIL name their variables', async (t) => {
  const where = { portVariable: 'PORTVAKT_PORT', hostVariable: 'PORTVAKT_HOST', host: '10.9.8.7', port: 80 }
  t.match(describeListenError(Object.assign(new Error('listen EACCES'), { code: 'EACCES' }), where), /^PORTVAKT_PORT: port 80 needs privileges .* set PORTVAKT_PORT to 1024 or above$/)
  t.match(describeListenError(Object.assign(new Error('x'), { code: 'EADDRNOTAVAIL' }), where), /^PORTVAKT_HOST: 10\.9\.8\.7 is not an address of this machine/)
  t.equal(describeListenError(Object.assign(new Error('x'), { code: 'EADDRNOTAVAIL' }), { ...where, hostVariable: undefined }), undefined, 'the egress host is fixed: no variable to name')
  t.equal(describeListenError(new Error('other'), where), undefined, 'anything else keeps its own message')
})

t.test('the NAIS reserved ports are refused for every listener, before anything listens', async (t) => {
  const dir = t.testdir({ 'routes.yaml': ROUTES })
  const res = await runPortvakt(['serve'], { env: env(dir, { PORTVAKT_PORT: '7164', PORTVAKT_ADMIN_PORT: '7565', PORTVAKT_EGRESS_PORT: '7566' }) })
  t.equal(res.code, 1)
  for (const [name, port] of [['PORTVAKT_PORT', 7164], ['PORTVAKT_ADMIN_PORT', 7565], ['PORTVAKT_EGRESS_PORT', 7566]]) {
    t.match(res.stderr, `${name}: ${port} is reserved by the NAIS platform`)
  }
})
