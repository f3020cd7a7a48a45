/**
 * The single executable: `npm run build:exe` builds it, and it serves the end-to-end curl test from
 * a directory with no node_modules anywhere above it and no Node on PATH. One file, because the
 * build takes a while (esbuild bundle, SEA blob, a copy of the node binary with the blob injected).
 */
import { execFile } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { launchPortvakt, ROOT, runCli, startedPort } from './helpers/cli.js'
import { requiredNodeMajor } from './helpers/node-version.js'
import { startOtlpReceiver } from './helpers/otlp-receiver.js'
import { pollUntil } from './helpers/poll.js'

const run = promisify(execFile)

// The build and two process starts on a 2-core machine shared with other builds; no assertion
// depends on timing.
t.setTimeout(600_000)

/** curl as a consumer would run it: status, headers and body. */
async function curl (url: string, token?: string): Promise<{ status: number, headers: string, body: string }> {
  const args = ['-sS', '-D', '-', url]
  if (token !== undefined) args.push('-H', `Authorization: Bearer ${token}`)
  const { stdout } = await run('curl', args)
  const split = stdout.indexOf('\r\n\r\n')
  const headers = stdout.slice(0, split)
  return { status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(headers)?.[1]), headers, body: stdout.slice(split + 4) }
}

function hasNodeModulesAbove (dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) return true
    if (dirname(d) === d) return false
  }
}

t.test('the single executable serves the end-to-end curl test with no Node and no node_modules', async (t) => {
  const built = await run('npm', ['run', 'build:exe', '--silent'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 })
  t.match(built.stdout, /^built .*dist\/portvakt \(Node v\d+\.\d+\.\d+\)\n$/, 'one line says what was built')
  t.equal(built.stderr, '', 'no warnings a user would have to ask about (README, Single executable)')
  const dir = mkdtempSync(join(tmpdir(), 'portvakt-exe-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const exe = join(dir, 'portvakt')
  copyFileSync(join(ROOT, 'dist', 'portvakt'), exe)
  chmodSync(exe, 0o755)
  mkdirSync(join(dir, 'config'))
  copyFileSync(join(ROOT, 'config', 'routes.yaml'), join(dir, 'config', 'routes.yaml'))
  t.notOk(hasNodeModulesAbove(dir), `no node_modules in ${dir} or above it`)

  const help = runCli(t, exe, ['--help'], { PATH: '/nonexistent' }, dir)
  t.equal(await help.exited, 0)
  t.match(help.stdout(), 'serve -- <app command…>')
  // Baked in at build time: there is no package.json beside the executable to read it from.
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  const versionRun = runCli(t, exe, ['--version'], { PATH: '/nonexistent' }, dir)
  t.equal(await versionRun.exited, 0)
  t.equal(versionRun.stdout(), `portvakt ${version} (node ${process.version})\n`)

  // Traced as NAIS's auto-instrumentation sets it up: the SDK is bundled, and loaded only now.
  const rx = await startOtlpReceiver()
  t.teardown(rx.close)
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: rx.grpcUrl, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_INSECURE: 'true', OTEL_SERVICE_NAME: 'fixture', OTEL_BSP_SCHEDULE_DELAY: '10' }
  // The app is the test fixture, named by absolute path: portvakt itself finds no node on PATH.
  const { run: portvakt, mint, appPort } = await launchPortvakt(t, {
    portvakt: [exe],
    cwd: dir,
    env: { PATH: '/nonexistent', PORTVAKT_ROUTES: 'config/routes.yaml', ...otel }
  })
  const started = await portvakt.waitFor(/"message":"portvakt started"/)
  const port = startedPort(started)
  // The executable embeds the Node that built it: the one this suite runs on, the major engines names.
  const embedded = (JSON.parse(started) as { node: string }).node
  t.equal(embedded, process.version, 'the executable embeds the Node that npm run build:exe ran on')
  t.equal(embedded.split('.')[0], `v${requiredNodeMajor()}`, 'that Node is the major package.json engines requires')
  await portvakt.waitFor(/"message":"app accepts connections"/)
  const url = `http://127.0.0.1:${port}/api/v1/arbeidsforhold/42`

  const ok = await curl(url, await mint())
  t.equal(ok.status, 200)
  const seen = JSON.parse(ok.body) as { app: string, port: string, headers: Record<string, string> }
  t.equal(seen.app, 'fixture')
  t.equal(seen.port, String(appPort))
  t.equal(seen.headers['x-maskinporten-consumer'], '123456789')

  const spans = await pollUntil(() => rx.spans, (all) => all.some((s) => s.kind === 'SERVER') && all.some((s) => s.attributes['portvakt.call'] === 'upstream'))
  t.match(spans.find((s) => s.kind === 'SERVER'), { name: 'GET /api/v1/arbeidsforhold', resource: { 'service.name': 'fixture-portvakt', 'service.version': version }, attributes: { 'http.response.status_code': 200 } }, 'the executable exports its spans')

  const missing = await curl(url)
  t.equal(missing.status, 401)
  t.match(missing.headers, /\r\nwww-authenticate: Bearer realm="portvakt"/i)

  const short = await curl(url, await mint({ claims: { scope: 'nav:arbeid:rapport.read' } }))
  t.equal(short.status, 403)
  t.match(short.headers, /error="insufficient_scope"/)
  t.match(JSON.parse(short.body), { code: 'PORTVAKT_ERR_INSUFFICIENT_SCOPE' })

  portvakt.child.kill('SIGTERM')
  t.equal(await portvakt.exited, 0)
  t.notMatch(portvakt.stderr(), /Warning/, 'no SEA or experimental warnings')
})
