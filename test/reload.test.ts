import t from 'tap'
import { writeFileSync, mkdirSync, symlinkSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { build, TEST_ROUTES } from './helpers/build.js'
import { eventually, scrape, valueOf } from './helpers/metrics.js'

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
