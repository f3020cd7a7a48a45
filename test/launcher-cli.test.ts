/**
 * Launcher mode end to end: the built CLI (`node dist/cli.js serve -- node test/fixtures/app.js`)
 * as a child process with real signals, a real JWKS server and real tokens.
 */
import { join } from 'node:path'
import t from 'tap'
import { launchPortvakt, ROOT, runCli, startedPort } from './helpers/cli.js'
import { eventually } from './helpers/poll.js'

// Each test starts real processes (portvakt, the app) on a 2-core machine shared with other builds:
// allow more than .taprc's 60 s per file. No assertion depends on timing.
t.setTimeout(240_000)

t.test('fronts the app: gives it PORT, passes its output through, and exits with its status on SIGTERM', async (t) => {
  const { run, appPort, mint } = await launchPortvakt(t, { env: { FIXTURE_TERM_EXIT: '7' } })
  const port = startedPort(await run.waitFor(/"message":"portvakt started"/))
  await run.waitFor(/"message":"app accepts connections"/)

  const token = await mint({ claims: { scope: 'nav:arbeid:arbeidsforhold.read' } })
  const ok = await fetch(`http://127.0.0.1:${port}/api/v1/arbeidsforhold/42`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(ok.status, 200)
  const seen = await ok.json() as { app: string, port: string, headers: Record<string, string> }
  t.equal(seen.app, 'fixture')
  t.equal(seen.port, String(appPort), 'the app got PORT = the upstream port')
  t.equal(seen.headers['x-maskinporten-consumer'], '123456789')

  const denied = await fetch(`http://127.0.0.1:${port}/api/v1/arbeidsforhold/42`)
  t.equal(denied.status, 401)
  t.equal(denied.headers.get('www-authenticate'), 'Bearer realm="portvakt"')

  run.child.kill('SIGTERM')
  t.equal(await run.exited, 7, 'portvakt exits with the app status')
  t.match(run.stdout(), new RegExp(`(^|\\n)app stdout: starting on port ${appPort}\\n`), 'app stdout passes through untouched')
  t.match(run.stdout(), '\napp stdout: got SIGTERM\n', 'the app got SIGTERM')
  t.match(run.stderr(), 'app stderr: a line on stderr\n', 'app stderr passes through untouched')
  t.notMatch(run.stdout(), token, 'the token never reaches the log')
})

t.test('readiness waits for the app: /isready stays 503 while the app does not listen, /isalive is 200', async (t) => {
  const { run } = await launchPortvakt(t, { env: { FIXTURE_NO_LISTEN: '1' } })
  const started = JSON.parse(await run.waitFor(/"message":"portvakt started"/)) as { adminPort: number }
  const admin = `http://127.0.0.1:${started.adminPort}`
  await run.waitFor(/^app stdout: starting on port \d+$/)
  // Until the first key fetch, the keys are the reason; wait for that to pass, then the app is the only one.
  let report: { status: number, body: { status?: string, reasons?: string[] } } = { status: 0, body: {} }
  t.ok(await eventually(async () => {
    const res = await fetch(`${admin}/isready`)
    report = { status: res.status, body: await res.json() as typeof report.body }
    return !(report.body.reasons ?? []).some((r) => /signing keys/.test(r))
  }), 'the signing keys are in hand')
  t.equal(report.status, 503, 'not ready')
  const waiting = /^the app does not accept connections on 127\.0\.0\.1:(\d+) yet; it must listen on \$PORT \(\1\), which portvakt sets from PORTVAKT_UPSTREAM$/
  t.match(report.body, { status: 'not_ready', reasons: [waiting] }, 'because of the app alone, naming the address it waits on')
  t.equal(report.body.reasons?.length, 1)
  const warning = JSON.parse(await run.waitFor(/"message":"the app does not accept connections on/)) as { level: string, message: string, port: number }
  t.equal(warning.level, 'WARN', 'said in the log too, as a warning, after a few seconds')
  t.match(warning.message, waiting)
  t.equal((await fetch(`${admin}/isalive`)).status, 200, 'alive all the same')
  t.notMatch(run.stdout(), /"message":"app accepts connections"/)
  const again = await fetch(`${admin}/isready`)
  t.equal(again.status, 503, 'still not ready')
  run.child.kill('SIGTERM')
  t.equal(await run.exited, 0, 'the app exits 0 on SIGTERM, and so does portvakt')
})

t.test('exits with the app status when the app exits on its own', async (t) => {
  const { run } = await launchPortvakt(t, { env: { FIXTURE_EXIT_ON_LISTEN: '3' } })
  t.equal(await run.exited, 3)
  t.match(run.stdout(), /"status":3,.*"message":"the app exited; portvakt exits with its status"/)
})

t.test('a command that does not exist: never "app started", one clear error, exit 127', async (t) => {
  const { run } = await launchPortvakt(t, { app: ['/nonexistent/app'] })
  t.equal(await run.exited, 127)
  const errors = run.logs().filter((l) => l.level === 'ERROR')
  t.same(errors.map((l) => l.message), ['portvakt cannot launch the app: /nonexistent/app: no such command (no such file, and not found on PATH); check the command after --; it exits with 127'])
  t.notOk(run.logs().some((l) => l.message === 'app started'), 'no "app started" for an app that never ran')
  t.notMatch(run.stdout(), /spawn|ENOENT/, 'no errno text of Node\'s')
})

t.test('a command that is not executable: one clear error, exit 126', async (t) => {
  const { run } = await launchPortvakt(t, { app: [process.cwd()] })
  t.equal(await run.exited, 126)
  t.match(run.stdout(), `"message":"portvakt cannot launch the app: ${process.cwd()}: not executable (a folder, or a file without execute permission: chmod +x it); it exits with 126"`)
  t.notOk(run.logs().some((l) => l.message === 'app started'))
})

t.test('refuses launcher mode when PORTVAKT_UPSTREAM is not on loopback', async (t) => {
  const { run } = await launchPortvakt(t, { env: { PORTVAKT_UPSTREAM: 'http://app.team.svc.cluster.local:8081' } })
  t.equal(await run.exited, 1)
  t.match(run.stderr(), 'PORTVAKT_UPSTREAM is http://app.team.svc.cluster.local:8081/; in launcher mode the app runs in this container')
})

t.test('refuses serve arguments it does not know, with usage', async (t) => {
  for (const args of [['serve', '--'], ['serve', '--port', '1'], ['nonsense']]) {
    const run = runCli(t, process.execPath, [join(ROOT, 'dist', 'cli.js'), ...args], {})
    t.equal(await run.exited, 2, args.join(' '))
    t.match(run.stderr(), 'Usage: portvakt <command>')
  }
})
