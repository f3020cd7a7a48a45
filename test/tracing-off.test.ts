/**
 * Tracing off costs nothing: a `portvakt serve` without an OTLP endpoint loads no module of the
 * OpenTelemetry SDK or of gRPC (the same process with an endpoint does, the control), and the
 * request path has no tracing hook (the bench's warm --before main measures the rest).
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { CLI, spawnProcess } from './helpers/cli.js'

/** The modules of @opentelemetry/* and @grpc/* a `portvakt serve` loads by its first answered request. */
async function telemetryModulesLoaded (t: Test, env: Record<string, string>): Promise<string[]> {
  const dir = t.testdir({})
  const hook = join(dir, 'hook.mjs')
  // Node's synchronous module hooks see every module resolved, ESM and CommonJS alike.
  writeFileSync(hook, "import { registerHooks } from 'node:module'\nregisterHooks({ resolve (specifier, context, next) { if (/@opentelemetry\\/|@grpc\\//.test(specifier)) process.stderr.write('LOADED ' + specifier + '\\n'); return next(specifier, context) } })\n")
  const run = spawnProcess(t, process.execPath, ['--import', hook, CLI, 'serve'], {
    inheritEnv: true,
    env: { MASKINPORTEN_ISSUER: 'https://test.maskinporten.no/', MASKINPORTEN_JWKS_URI: 'http://127.0.0.1:9/jwks', PORTVAKT_ROUTES: 'config/routes.yaml', PORTVAKT_HOST: '127.0.0.1', PORTVAKT_PORT: '0', PORTVAKT_ADMIN_PORT: '0', ...env }
  })
  const started = JSON.parse(await run.waitFor(/"message":"portvakt started"/)) as { port: number }
  await fetch(`http://127.0.0.1:${started.port}/internal/isalive`)
  run.child.kill('SIGTERM')
  await run.exited
  return run.stderr().split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice('LOADED '.length))
}

t.test('without an endpoint no module of the SDK or of gRPC is loaded', async (t) => {
  // The API alone is prom-client's (it reads the active span for exemplars), loaded before tracing existed.
  t.same((await telemetryModulesLoaded(t, {})).filter((m) => m !== '@opentelemetry/api'), [])
})

t.test('the control: with an endpoint they are (grpc: the SDK and gRPC)', async (t) => {
  const loaded = await telemetryModulesLoaded(t, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', PORTVAKT_SHUTDOWN_DELAY: '0s' })
  t.ok(loaded.includes('@opentelemetry/sdk-trace'), 'the SDK')
  t.ok(loaded.includes('@grpc/grpc-js'), 'gRPC')
  t.notOk(loaded.includes('@opentelemetry/exporter-trace-otlp-proto'), 'only the exporter of the protocol in use')
})
