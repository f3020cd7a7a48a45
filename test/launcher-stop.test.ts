/**
 * Launcher mode shutdown: the built CLI (`node dist/cli.js serve -- node test/fixtures/app.js`)
 * as a child process with real signals, a real JWKS server and real tokens.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { isRunning, launchPortvakt, ROOT } from './helpers/cli.js'
import { eventually } from './helpers/poll.js'

// Each test starts real processes (portvakt, the app) on a 2-core machine shared with other builds:
// allow more than .taprc's 60 s per file. No assertion depends on timing.
t.setTimeout(240_000)

t.test('SIGTERM order: readiness off at once, the app keeps serving through the delay, and only then gets SIGTERM', async (t) => {
  const { run, mint } = await launchPortvakt(t, { env: { PORTVAKT_SHUTDOWN_DELAY: '2s', FIXTURE_TERM_EXIT: '5' } })
  const started = JSON.parse(await run.waitFor(/"message":"portvakt started"/)) as { port: number, adminPort: number }
  const url = `http://127.0.0.1:${started.port}/api/v1/arbeidsforhold/42`
  const admin = `http://127.0.0.1:${started.adminPort}`
  await run.waitFor(/"message":"app accepts connections"/)
  const token = await mint()
  t.ok(await eventually(async () => (await fetch(`${admin}/isready`)).status === 200), 'ready before the signal')

  // Each observation is recorded when it happens; the assertion is on their order, not on times.
  const events: string[] = []
  const appGotTerm = run.waitFor(/^app stdout: got SIGTERM$/).then(() => { events.push('the app got SIGTERM') })
  run.child.kill('SIGTERM')
  t.ok(await eventually(async () => await fetch(`${admin}/isready`).then((r) => r.status === 503, () => false)), 'isready answers 503')
  events.push('isready 503')
  const served = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
  const body = await served.json() as { app?: string }
  if (served.status === 200 && body.app === 'fixture') events.push('a request served by the app')
  t.equal(served.status, 200, 'a request during the delay still succeeds')
  t.equal(body.app, 'fixture', 'answered by the app itself')
  await appGotTerm
  t.same(events, ['isready 503', 'a request served by the app', 'the app got SIGTERM'])
  t.equal(await run.exited, 5, 'portvakt exits with the app\'s status')
})

t.test('kills an app that ignores SIGTERM after PORTVAKT_SHUTDOWN_TIMEOUT and leaves none of its processes', async (t) => {
  const { run } = await launchPortvakt(t, { env: { FIXTURE_IGNORE_TERM: '1', FIXTURE_GRANDCHILD: '1', PORTVAKT_SHUTDOWN_TIMEOUT: '500ms' } })
  const line = await run.waitFor(/^app grandchild pid \d+$/)
  const grandchild = Number(/\d+$/.exec(line)?.[0])
  const appPid = (JSON.parse(await run.waitFor(/"message":"app started"/)) as { pid: number }).pid
  await run.waitFor(/"message":"app accepts connections"/)
  t.ok(isRunning(grandchild), 'the grandchild runs')
  run.child.kill('SIGTERM')
  t.equal(await run.exited, 137, 'SIGKILL: 128 + 9')
  t.match(run.stdout(), '\napp stdout: got SIGTERM\n')
  t.notOk(isRunning(appPid), 'the app is gone')
  t.notOk(isRunning(grandchild), 'the app\'s own child is gone too')
})

t.test('stops the app on SIGINT too', async (t) => {
  const { run } = await launchPortvakt(t)
  await run.waitFor(/"message":"app accepts connections"/)
  run.child.kill('SIGINT')
  t.equal(await run.exited, 0)
  t.match(run.stdout(), /"signal":"SIGINT"/)
})


/** Whether this machine lets us start a PID namespace (root with unshare, as on CI); else why not. */
function pidNamespaceUnavailable (): string | false {
  const probe = spawnSync('unshare', ['--pid', '--fork', 'true'])
  return probe.status === 0 ? false : 'unshare --pid is not available here, so portvakt cannot be started as PID 1'
}

t.test('as PID 1 (its own PID namespace, as in a container) it stops the app on SIGTERM and exits with its status', { skip: pidNamespaceUnavailable() }, async (t) => {
  const { run } = await launchPortvakt(t, {
    portvakt: ['unshare', '--pid', '--fork', '--kill-child', process.execPath, join(ROOT, 'dist', 'cli.js')],
    env: { FIXTURE_TERM_EXIT: '9' }
  })
  await run.waitFor(/"message":"app accepts connections"/)
  const appPid = (JSON.parse(await run.waitFor(/"message":"app started"/)) as { pid: number }).pid
  t.ok(appPid > 1 && appPid < 1000, `the app's pid ${appPid} is in the new namespace`)
  // unshare forks portvakt; the signal goes to portvakt itself, as Kubernetes sends it to PID 1.
  const unsharePid = run.child.pid as number
  const portvakt = Number(readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(' ')[0])
  process.kill(portvakt, 'SIGTERM')
  t.equal(await run.exited, 9, 'the app status, through unshare')
  t.match(run.stdout(), '\napp stdout: got SIGTERM\n')
})
