/**
 * build(t, overrides): a running portvakt in front of a real echo upstream, trusting a real JWKS
 * server, with teardown registered on `t`. Logs are captured in memory for assertions.
 */
import { Writable } from 'node:stream'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Test } from 'tap'
import { loadSettings } from '../../src/config/env.js'
import { createLogger } from '../../src/observe/log.js'
import { startGateway, type Gateway } from '../../src/start.js'
import { makeKey, type SigningKey } from './keys.js'
import { close, startEchoUpstream, startJwksServer, type EchoUpstream, type JwksServer } from './servers.js'
import { TEST_ISSUER, tokenFactory } from './tokens.js'

/** The route table most tests use. */
export const TEST_ROUTES = `
routes:
  - path: /api/v1/arbeidsforhold
    methods: [GET, HEAD]
    scopes: [nav:arbeid:arbeidsforhold.read]
  - path: /api/v1/arbeidsforhold
    methods: [POST, PUT, PATCH, DELETE]
    scopes: [nav:arbeid:arbeidsforhold.write]
  - path: /api/v1/rapport
    scopes: { anyOf: [nav:arbeid:rapport.read, nav:arbeid:rapport.admin] }
    audience: https://rapport.api.nav.no
    consumers: ["123456789"]
  - path: /api/v1/skjema
    scopes: [{ product: arbeid, name: skjema/innsending.write }]
  - path: /api
    scopes: [nav:arbeid:api]
  - path: /slow
    scopes: [nav:arbeid:arbeidsforhold.read]
  - path: /status
    scopes: [nav:arbeid:arbeidsforhold.read]
  - path: /public
    public: true
  - path: /internal/isalive
    public: true
`

/** Overrides for one test's portvakt. */
export interface BuildOptions {
  routes?: string
  env?: Record<string, string>
  /** the keys the JWKS server publishes (default: the harness key) */
  jwksKeys?: SigningKey[]
  /** start with the JWKS endpoint answering 500, and don't wait for keys */
  jwksDown?: boolean
  /** the outbound fetch to give startGateway (default: global fetch) */
  fetch?: typeof fetch
  /** reads /proc/net/tcp(6) for the exposure check (default: none, the check is off) */
  readSocketTable?: (table: 'tcp' | 'tcp6') => Promise<string>
}

/** Everything a test needs to drive and observe one portvakt. */
export interface Harness {
  url: string
  /** the admin listener: /isalive, /isready, /metrics */
  adminUrl: string
  key: SigningKey
  mint: ReturnType<typeof tokenFactory>
  jwks: JwksServer
  upstream: EchoUpstream
  gateway: Gateway
  /** the log lines written so far, parsed */
  logs: () => Array<Record<string, unknown>>
  /** the raw log text, for "no token in any log line" checks */
  logText: () => string
}

/** Start a portvakt for one test; everything is torn down when `t` ends. */
export async function build (t: Test, options: BuildOptions = {}): Promise<Harness> {
  const key = await makeKey()
  const jwks = await startJwksServer((options.jwksKeys ?? [key]).map((k) => k.jwk))
  jwks.down = options.jwksDown === true
  const upstream = await startEchoUpstream()
  const dir = t.testdir({ 'routes.yaml': options.routes ?? TEST_ROUTES })
  const routesFile = join(dir, 'routes.yaml')
  writeFileSync(routesFile, options.routes ?? TEST_ROUTES)
  const settings = loadSettings({
    MASKINPORTEN_ISSUER: TEST_ISSUER,
    MASKINPORTEN_JWKS_URI: `${jwks.url}/jwks`,
    PORTVAKT_ROUTES: routesFile,
    PORTVAKT_UPSTREAM: upstream.url,
    PORTVAKT_HOST: '127.0.0.1',
    PORTVAKT_PORT: '0',
    PORTVAKT_ADMIN_HOST: '127.0.0.1',
    PORTVAKT_ADMIN_PORT: '0',
    ...options.env
  })
  let text = ''
  const sink = new Writable({ write (chunk: Buffer, _enc, done) { text += chunk.toString(); done() } })
  // pino's own shape, which the tests read (msg, numeric levels), unless the test sets PORTVAKT_LOG_FORMAT.
  const logger = createLogger(settings.logLevel, sink, options.env?.PORTVAKT_LOG_FORMAT === undefined ? 'pino' : settings.logFormat)
  if (options.jwksDown === true) jwks.down = true
  const gateway = await startGateway(settings, logger, options.fetch, options.readSocketTable)
  t.teardown(async () => {
    await gateway.close()
    await close(upstream.server)
    await close(jwks.server)
  })
  if (options.jwksDown !== true) await gateway.keys.whenReady()
  return {
    url: `http://127.0.0.1:${gateway.port}`,
    adminUrl: `http://127.0.0.1:${gateway.adminPort}`,
    key,
    mint: tokenFactory(key),
    jwks,
    upstream,
    gateway,
    logs: () => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>),
    logText: () => text
  }
}
