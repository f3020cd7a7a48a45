import t from 'tap'
import { writeFileSync, mkdirSync, symlinkSync, renameSync, rmSync, watch, type FSWatcher } from 'node:fs'
import { join } from 'node:path'
import { RouteHolder, type ReloadResult } from '../src/config/route-holder.js'
import { loadRoutes } from '../src/config/routes.js'
import { build, TEST_ROUTES } from './helpers/build.js'
import { scrape, valueOf } from './helpers/metrics.js'
import { eventually } from './helpers/poll.js'

const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })
const WITH_NEW_ROUTE = TEST_ROUTES + `
  - path: /v2/ny
    scopes: [nav:arbeid:arbeidsforhold.read]
`

t.test('a valid new route file is picked up by the watch and swapped in', async (t) => {
  const h = await build(t)
  const token = await h.mint()
  t.equal((await fetch(`${h.url}/v2/ny`, auth(token))).status, 404)
  writeFileSync(h.gateway.routes.file, WITH_NEW_ROUTE)
  t.ok(await eventually(async () => (await fetch(`${h.url}/v2/ny`, auth(token))).status === 200), 'the new route serves')
  const samples = await scrape(h.adminUrl)
  t.ok((valueOf(samples, 'portvakt_config_reloads_total', { result: 'ok', trigger: 'watch' }) ?? 0) >= 1)
  t.ok(h.logs().some((l) => l.msg === 'route table reloaded'))
})

t.test('an invalid route file is rejected with every problem logged, and the old table keeps serving', async (t) => {
  const h = await build(t)
  const token = await h.mint()
  writeFileSync(h.gateway.routes.file, 'routes:\n  - path: no-slash\n    scopes: [nav:arbeid:x]\n  - path: /open\n    public: true\n    bogus: 1\n')
  const result = await h.gateway.routes.reload('SIGHUP')
  t.equal(result.ok, false)
  t.equal((await fetch(`${h.url}/api/v1/arbeidsforhold`, auth(token))).status, 200, 'the old table still serves')
  t.equal((await fetch(`${h.url}/open`)).status, 404, 'nothing of the new file is in force')
  const logged = h.logs().find((l) => l.msg === 'route table reload rejected; the previous table keeps serving')
  t.equal((logged?.problems as string[]).length, 2, 'both problems are logged')
  t.equal(logged?.level, 50)
  const samples = await scrape(h.adminUrl)
  t.equal(valueOf(samples, 'portvakt_config_reloads_total', { result: 'error', trigger: 'SIGHUP' }), 1)
  t.equal((await fetch(`${h.adminUrl}/isready`)).status, 200, 'still ready on the old table')
})

t.test('a ConfigMap-style symlink swap of the directory is noticed', async (t) => {
  // Kubernetes mounts a ConfigMap as routes.yaml → ..data/routes.yaml, ..data → ..<timestamp>; an
  // update writes a new timestamped dir and renames a new ..data link over the old one.
  const dir = t.testdir({ '..v1': { 'routes.yaml': TEST_ROUTES } })
  symlinkSync('..v1', join(dir, '..data'))
  symlinkSync(join('..data', 'routes.yaml'), join(dir, 'routes.yaml'))
  const { RouteHolder } = await import('../src/config/route-holder.js')
  const holder = await RouteHolder.load(join(dir, 'routes.yaml'))
  t.teardown(() => { holder.close() })
  holder.watch(20)
  mkdirSync(join(dir, '..v2'))
  writeFileSync(join(dir, '..v2', 'routes.yaml'), WITH_NEW_ROUTE)
  symlinkSync('..v2', join(dir, '..data_tmp'))
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'))
  t.ok(await eventually(() => holder.current.routes.some((r) => r.path === '/v2/ny')), 'the swapped table is in force')
})

const hasNewRoute = (holder: RouteHolder): boolean => holder.current.routes.some((r) => r.path === '/v2/ny')
const problemsOf = (result: ReloadResult | undefined): readonly string[] => result === undefined || result.ok ? [] : result.problems

t.test('a watcher error is reported, the table in force keeps serving, SIGHUP still reloads, and the watch comes back', async (t) => {
  const dir = t.testdir({ 'routes.yaml': TEST_ROUTES })
  const file = join(dir, 'routes.yaml')
  // The real fs.watch, kept at hand so the test can deliver what the OS sends on an unmount.
  const watchers: FSWatcher[] = []
  const holder = new RouteHolder(file, await loadRoutes(file), (d, onChange) => {
    const watcher = watch(d, onChange)
    watchers.push(watcher)
    return watcher
  })
  t.teardown(() => { holder.close() })
  const results: ReloadResult[] = []
  holder.onReload((r) => { results.push(r) })
  holder.watch(20, 200)
  const before = holder.current

  watchers[0]?.emit('error', Object.assign(new Error('EIO: i/o error, watch'), { code: 'EIO' }))
  t.match(results[0], { ok: false, trigger: 'watch' })
  t.match(problemsOf(results[0]), [/the watch on .* stopped \(it cannot be read \(EIO\)\); the current table keeps serving, SIGHUP still reloads, and the watch is retried every 200ms$/])
  t.equal(holder.current, before, 'the table in force is untouched')

  writeFileSync(file, WITH_NEW_ROUTE)
  t.match(await holder.reload('SIGHUP'), { ok: true, trigger: 'SIGHUP' }, 'SIGHUP still reloads')
  t.ok(hasNewRoute(holder))
  t.ok(await eventually(() => results.length >= 3), 'watched again, and re-read once for what the pause may have missed')
  t.equal(watchers.length, 2)
  t.match(results[2], { ok: true, trigger: 'watch' })
  t.ok(hasNewRoute(holder))

  writeFileSync(file, TEST_ROUTES)
  t.ok(await eventually(() => !hasNewRoute(holder)), 'a change is seen by the new watch')
  t.match(results.at(-1), { ok: true, trigger: 'watch' })
})

t.test('a removed route directory is reported, and watched again once it is back', async (t) => {
  const root = t.testdir({ config: { 'routes.yaml': TEST_ROUTES } })
  const dir = join(root, 'config')
  const holder = await RouteHolder.load(join(dir, 'routes.yaml'))
  t.teardown(() => { holder.close() })
  const results: ReloadResult[] = []
  holder.onReload((r) => { results.push(r) })
  holder.watch(20, 50)
  const before = holder.current

  rmSync(dir, { recursive: true })
  t.ok(await eventually(() => results.some((r) => problemsOf(r).some((p) => p.includes('the watch on')))), 'the lost watch is reported')
  t.equal(holder.current, before, 'the table in force keeps serving')

  // Back as a remount brings it: a whole directory at once.
  mkdirSync(join(root, 'next'))
  writeFileSync(join(root, 'next', 'routes.yaml'), WITH_NEW_ROUTE)
  renameSync(join(root, 'next'), dir)
  t.ok(await eventually(() => hasNewRoute(holder)), 'the table in the directory that came back is in force')
})

t.test('overlapping reloads run one at a time, and those asked for during one share exactly one more', async (t) => {
  const dir = t.testdir({ 'routes.yaml': TEST_ROUTES })
  const file = join(dir, 'routes.yaml')
  const holder = await RouteHolder.load(file)
  const results: ReloadResult[] = []
  holder.onReload((r) => { results.push(r) })

  const first = holder.reload('watch')
  writeFileSync(file, WITH_NEW_ROUTE)
  const second = holder.reload('SIGHUP')
  const third = holder.reload('watch')
  const [a, b, c] = await Promise.all([first, second, third])
  t.equal(results.length, 2, 'two reads, not three')
  t.equal(results[0], a)
  t.equal(b, c, 'the two asked for during the first share one result')
  t.equal(results[1], b, 'and it came after the first')
  t.same(results.map((r) => r.trigger), ['watch', 'SIGHUP'])
  t.ok(hasNewRoute(holder), 'the newest file is in force')

  t.equal((await holder.reload('SIGHUP')).ok, true, 'once idle, a reload runs at once')
  t.equal(results.length, 3)
})
