import t from 'tap'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { formatBanner, formatListenUrl } from '../src/dev/banner.js'
import { startDev } from '../src/dev/start-dev.js'
import { createLogger } from '../src/observe/log.js'

const ROUTES = `routes:
  - path: /api/v1/arbeidsforhold
    methods: [GET]
    scopes: [nav:arbeid:arbeidsforhold.read]
`

t.test('the URL to curl: loopback for the unspecified addresses, IPv6 literals in brackets', async (t) => {
  t.equal(formatListenUrl('0.0.0.0', 8080), 'http://127.0.0.1:8080')
  t.equal(formatListenUrl('::', 8080), 'http://localhost:8080', 'dual stack: localhost reaches it over IPv4 or IPv6')
  t.equal(formatListenUrl('0:0:0:0:0:0:0:0', 8080), 'http://localhost:8080')
  t.equal(formatListenUrl('::1', 8080), 'http://[::1]:8080')
  t.equal(formatListenUrl('[::1]', 8080), 'http://[::1]:8080', 'already bracketed')
  t.equal(formatListenUrl('fd00::7', 8080), 'http://[fd00::7]:8080')
  t.equal(formatListenUrl('127.0.0.1', 8080), 'http://127.0.0.1:8080')
  t.equal(formatListenUrl('localhost', 8080), 'http://localhost:8080')
})

t.test('portvakt dev on PORTVAKT_HOST=:: prints a curl line that reaches the gate', async (t) => {
  const dir = t.testdir({ 'routes.yaml': ROUTES })
  const logger = createLogger('silent', new Writable({ write (_chunk, _enc, done) { done() } }))
  const run = await startDev({
    issuerPort: 0,
    altinnPort: 0,
    grantsFile: 'config/altinn-grants.yaml',
    demoPort: 0,
    dir: join(dir, '.portvakt'),
    logLevel: 'silent',
    gatewayEnv: { PORTVAKT_ROUTES: join(dir, 'routes.yaml'), PORTVAKT_HOST: '::', PORTVAKT_PORT: '0', PORTVAKT_ADMIN_HOST: '127.0.0.1', PORTVAKT_ADMIN_PORT: '0', PORTVAKT_EGRESS_PORT: '0' }
  }, logger)
  t.teardown(run.close)
  const banner = formatBanner(run)
  t.notMatch(banner, ':::', 'no bare IPv6 address before the port')
  const url = /\)" (http:\/\/\S+)$/m.exec(banner)?.[1]
  t.equal(url, `http://localhost:${run.gateway.port}/api/v1/arbeidsforhold`)
  const res = await fetch(url as string)
  t.equal(res.status, 401, 'the printed URL reaches the gate, which asks for a token')
})
