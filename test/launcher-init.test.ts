/**
 * PID 1 in a container must reap every process re-parented to it. Node reaps only the children it
 * started, so a grandchild the app abandons stays a zombie under portvakt as PID 1; the image puts
 * tini in front (`ENTRYPOINT ["/tini", "--", "/portvakt"]`), which reaps it and passes signals and
 * the exit status through. Both cases run here for real, in a PID namespace of their own.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { launchPortvakt, ROOT } from './helpers/cli.js'
import { pollUntil } from './helpers/poll.js'

// Real processes on a 2-core machine shared with other builds; no assertion depends on timing.
t.setTimeout(240_000)

/** tini's static build from Debian's `tini` package: the very file the Dockerfile copies to /tini. */
const TINI = '/usr/bin/tini-static'

function unavailable (): string | false {
  if (spawnSync('unshare', ['--pid', '--fork', 'true']).status !== 0) return 'unshare --pid is not available here, so nothing can run as PID 1'
  return existsSync(TINI) ? false : `${TINI} is not installed here (.ci/run installs it: apt-get install tini)`
}

/** The direct children of `pid`, each with whether it is a zombie. */
function children (pid: number): Array<{ pid: number, zombie: boolean }> {
  const list = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
  return list === '' ? [] : list.split(' ').map(Number).map((child) => ({ pid: child, zombie: isZombie(child) }))
}

function isZombie (pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}


t.test('portvakt alone as PID 1 leaves an abandoned grandchild a zombie (why the image runs tini)', { skip: unavailable() }, async (t) => {
  const { run } = await launchPortvakt(t, {
    portvakt: ['unshare', '--pid', '--fork', '--kill-child', process.execPath, join(ROOT, 'dist', 'cli.js')],
    env: { FIXTURE_ORPHAN: '1' }
  })
  await run.waitFor(/^app orphaned a sleep$/)
  const unsharePid = run.child.pid as number
  const pid1 = (await pollUntil(() => children(unsharePid), (c) => c.length === 1))[0]?.pid as number
  const zombies = await pollUntil(() => children(pid1).filter((c) => c.zombie), (z) => z.length > 0)
  t.equal(zombies.length, 1, 'the sleep, re-parented to portvakt, ended and was never reaped')
  process.kill(pid1, 'SIGTERM')
  t.equal(await run.exited, 0, 'portvakt still stops the app and exits with its status')
})

t.test('tini as PID 1 in front of portvakt: the grandchild is reaped, SIGTERM reaches portvakt, the app status comes out', { skip: unavailable() }, async (t) => {
  const { run } = await launchPortvakt(t, {
    portvakt: ['unshare', '--pid', '--fork', '--kill-child', TINI, '--', process.execPath, join(ROOT, 'dist', 'cli.js')],
    env: { FIXTURE_ORPHAN: '1', FIXTURE_TERM_EXIT: '9' }
  })
  await run.waitFor(/^app orphaned a sleep$/)
  await run.waitFor(/"message":"app accepts connections"/)
  const unsharePid = run.child.pid as number
  const tiniPid = (await pollUntil(() => children(unsharePid), (c) => c.length === 1))[0]?.pid as number
  t.match(readFileSync(`/proc/${tiniPid}/cmdline`, 'utf8'), /tini/, 'PID 1 is tini')
  // The sleep is re-parented to tini, ends after 0.5 s and is reaped: tini is left with portvakt alone.
  const left = await pollUntil(() => children(tiniPid), (c) => c.length === 1 && !c[0]?.zombie)
  t.equal(left.length, 1, 'only portvakt remains under tini')
  t.notOk(left[0]?.zombie, 'and it is no zombie')
  t.match(readFileSync(`/proc/${left[0]?.pid}/cmdline`, 'utf8'), /cli\.js\0serve/, 'the one left is portvakt')
  // Kubernetes signals PID 1; tini passes it on to portvakt, which stops the app and exits with its status.
  process.kill(tiniPid, 'SIGTERM')
  t.equal(await run.exited, 9, 'the app status, through portvakt, tini and unshare')
  t.match(run.stdout(), '\napp stdout: got SIGTERM\n')
})
