import t from 'tap'
import { join } from 'node:path'
import { checkRoutes } from '../src/commands/check.js'
import { runPortvakt } from './helpers/cli.js'
import { naisManifest } from './helpers/config.js'

const ROUTES = `routes:
  - path: /api/v1/arbeidsforhold
    methods: [GET, HEAD]
    scopes: [nav:arbeid:arbeidsforhold.read]
  - path: /api/v1/skjema
    scopes: [{ product: arbeid, name: skjema/innsending.write }]
  - path: /api/v1/rapport
    scopes: { anyOf: [nav:arbeid:rapport.read, nav:arbeid:rapport.admin] }
    audience: https://rapport.api.nav.no
    consumers: ["123456789"]
  - path: /internal/isalive
    public: true
`

const BAD_ROUTES = `routes:
  - path: /api/v1/arbeidsforhold
    methds: [GET]
    scopes: [nav:arbeid:arbeidsforhold.read]
  - path: /api/v1/rapport
    scopes: [not a scope]
`

const manifest = naisManifest

const EXPOSES = `        - name: arbeidsforhold.read
          enabled: true
          product: arbeid
        - name: skjema/innsending.write
          enabled: true
          product: arbeid
        - name: rapport.read
          enabled: true
          product: arbeid
          consumers:
            - orgno: "123456789"
        - name: rapport.admin
          enabled: true
          product: arbeid
`

const GOOD_MANIFEST = manifest(EXPOSES + `        - name: unused.read
          enabled: true
          product: arbeid
          consumers:
            - orgno: "123456789"
`)

// Line 12 misspells arbeidsforhold; line 23 exposes rapport.admin disabled.
const BAD_MANIFEST = manifest(EXPOSES.replace('arbeidsforhold.read', 'arbeidsforhold.raed').replace(/(rapport\.admin\n {10})enabled: true/, '$1enabled: false'))

t.test('prints the compiled table: path, methods, expanded scopes, audience, consumers, public', async (t) => {
  const dir = t.testdir({ 'routes.yaml': ROUTES })
  const report = await checkRoutes(join(dir, 'routes.yaml'))
  t.equal(report.ok, true)
  t.same(report.errors, [])
  const lines = (report.table ?? '').trimEnd().split('\n')
  t.match(lines[0], /^LINE\s+PATH\s+METHODS\s+SCOPES\s+AUDIENCE\s+CONSUMERS$/)
  t.match(lines[1], /^2\s+\/api\/v1\/arbeidsforhold\s+GET,HEAD\s+nav:arbeid:arbeidsforhold\.read\s+-\s+-$/)
  t.match(lines[2], /^5\s+\/api\/v1\/skjema\s+\*\s+nav:arbeid\/skjema\/innsending\.write\s+-\s+-$/, 'manifest form expanded by the NAIS rule')
  t.match(lines[3], /^7\s+\/api\/v1\/rapport\s+\*\s+any of: nav:arbeid:rapport\.read, nav:arbeid:rapport\.admin\s+https:\/\/rapport\.api\.nav\.no\s+123456789$/)
  t.match(lines[4], /^11\s+\/internal\/isalive\s+\*\s+public \(no token\)/)
})

t.test('lists every problem of a bad table with its line', async (t) => {
  const dir = t.testdir({ 'routes.yaml': BAD_ROUTES })
  const file = join(dir, 'routes.yaml')
  const report = await checkRoutes(file)
  t.equal(report.ok, false)
  t.equal(report.table, undefined)
  t.same(report.errors, [
    `${file}:3: route 1 (/api/v1/arbeidsforhold): unknown key "methds"; did you mean methods?`,
    `${file}:6: route 2 (/api/v1/rapport), scopes, item 1: a scope is "<prefix>:<subscope>" with no spaces, e.g. nav:arbeid:arbeidsforhold.read`
  ])
  const missing = await checkRoutes(join(dir, 'nope.yaml'))
  t.same(missing.errors, [`${join(dir, 'nope.yaml')}: no such file; check the path`])
  t.equal(missing.unreadable, true, 'one line says it all: no count after it')
})

t.test('--manifest: every route scope exposed and enabled passes; an unused exposed scope is a warning', async (t) => {
  const dir = t.testdir({ 'routes.yaml': ROUTES, 'nais.yaml': GOOD_MANIFEST })
  const report = await checkRoutes(join(dir, 'routes.yaml'), join(dir, 'nais.yaml'))
  t.equal(report.ok, true)
  t.same(report.errors, [])
  t.same(report.warnings, [`${join(dir, 'nais.yaml')}:26: nav:arbeid:unused.read is exposed but no route needs it; a token with only this scope reaches nothing`])
})

t.test('--manifest: a near miss in the manifest is blamed on the manifest\'s line, suggesting the route\'s scope; a disabled one on the route', async (t) => {
  const dir = t.testdir({ 'routes.yaml': ROUTES, 'nais.yaml': BAD_MANIFEST })
  const routes = join(dir, 'routes.yaml')
  const nais = join(dir, 'nais.yaml')
  const report = await checkRoutes(routes, nais)
  t.equal(report.ok, false)
  t.same(report.errors, [
    `${routes}:7: * /api/v1/rapport needs nav:arbeid:rapport.admin, which ${nais}:23 exposes without enabled: true, so no consumer can get it`,
    `${nais}:12: exposes nav:arbeid:arbeidsforhold.raed; did you mean nav:arbeid:arbeidsforhold.read (needed by ${routes}:2)?`
  ])
  t.same(report.warnings, [], 'the near miss is one error, not also an unused scope')
  t.ok(report.table, 'the table still prints: the routes themselves are valid')
})

t.test('--manifest: reads multi-document files and reports manifest problems with lines', async (t) => {
  const multi = `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: routes }\n---\n${GOOD_MANIFEST}`
  const broken = manifest('        - name: x.read\n          product: Arbeid\n')
  const dir = t.testdir({ 'routes.yaml': ROUTES, 'multi.yaml': multi, 'none.yaml': 'kind: Application\nspec: {}\n', 'broken.yaml': broken, 'list.yaml': manifest('          name: x\n'), 'syntax.yaml': 'a: [\n' })
  const routes = join(dir, 'routes.yaml')
  t.equal((await checkRoutes(routes, join(dir, 'multi.yaml'))).ok, true)
  t.match((await checkRoutes(routes, join(dir, 'none.yaml'))).errors, [/no spec\.maskinporten\.scopes\.exposes/])
  t.match((await checkRoutes(routes, join(dir, 'broken.yaml'))).errors, [/broken\.yaml:12: spec\.maskinporten\.scopes\.exposes, item 1, product: product is lower-case/])
  t.match((await checkRoutes(routes, join(dir, 'list.yaml'))).errors, [/list\.yaml:12: spec\.maskinporten\.scopes\.exposes must be a list/])
  t.match((await checkRoutes(routes, join(dir, 'syntax.yaml'))).errors, [/syntax\.yaml:\d+: /])
  t.same((await checkRoutes(routes, join(dir, 'missing.yaml'))).errors, [`${join(dir, 'missing.yaml')}: no such file (the --manifest file); check the path`])
})

t.test('portvakt check exits 0 with the table on stdout, warnings on stderr', async (t) => {
  const dir = t.testdir({ 'routes.yaml': ROUTES, 'nais.yaml': GOOD_MANIFEST })
  const result = await runPortvakt(['check', 'routes.yaml', '--manifest', 'nais.yaml'], { env: {}, cwd: dir, inheritEnv: true })
  t.equal(result.code, 0)
  t.match(result.stdout, /^LINE +PATH/)
  t.match(result.stdout, /routes\.yaml: valid, and nais\.yaml exposes every route scope and consumes every egress scope \(1 warning\)\n$/)
  t.match(result.stderr, /^warning: nais\.yaml:26: nav:arbeid:unused\.read is exposed but no route needs it/)
})

t.test('portvakt check exits 1 listing every problem with its line', async (t) => {
  const dir = t.testdir({ 'routes.yaml': BAD_ROUTES })
  const result = await runPortvakt(['check'], { env: { PORTVAKT_ROUTES: 'routes.yaml' }, cwd: dir, inheritEnv: true })
  t.equal(result.code, 1)
  t.equal(result.stdout, '')
  t.match(result.stderr, /error: routes\.yaml:3: route 1 \(\/api\/v1\/arbeidsforhold\): unknown key "methds"; did you mean methods\?\n/)
  t.match(result.stderr, /error: routes\.yaml:6: route 2 \(\/api\/v1\/rapport\), scopes, item 1: /)
  t.match(result.stderr, /routes\.yaml: 2 problems\n$/)
})

t.test('portvakt check --format github prints each problem as an annotation on its file and line, and exits 1', async (t) => {
  const dir = t.testdir({ 'routes.yaml': ROUTES, 'nais.yaml': BAD_MANIFEST })
  const result = await runPortvakt(['check', 'routes.yaml', '--manifest', 'nais.yaml', '--format', 'github'], { env: {}, cwd: dir, inheritEnv: true })
  t.equal(result.code, 1)
  const annotations = result.stdout.split('\n').filter((l) => l.startsWith('::'))
  t.same(annotations, [
    '::error file=routes.yaml,line=7,title=portvakt check::* /api/v1/rapport needs nav:arbeid:rapport.admin, which nais.yaml:23 exposes without enabled: true, so no consumer can get it',
    '::error file=nais.yaml,line=12,title=portvakt check::exposes nav:arbeid:arbeidsforhold.raed; did you mean nav:arbeid:arbeidsforhold.read (needed by routes.yaml:2)?'
  ])
  t.match(result.stdout, /^LINE +PATH/, 'the compiled table still prints')
  t.notMatch(result.stderr, /^(error|warning): /m, 'no text lines beside the annotations')
  t.match(result.stderr, /routes\.yaml and nais\.yaml: 2 problems\n$/)
})

t.test('--manifest: warns when a route admits a consumer the manifest grants none of its scopes', async (t) => {
  const routes = ROUTES.replace('consumers: ["123456789"]', 'consumers: ["123456789", "987654321"]')
  const dir = t.testdir({ 'routes.yaml': routes, 'nais.yaml': GOOD_MANIFEST })
  const report = await checkRoutes(join(dir, 'routes.yaml'), join(dir, 'nais.yaml'))
  t.equal(report.ok, true, 'a warning, not an error: the grant may live outside this manifest')
  t.match(report.warnings, [/unused\.read/, new RegExp(`routes\\.yaml:7: \\* /api/v1/rapport admits consumer 987654321, but .*nais\\.yaml does not grant it any of nav:arbeid:rapport\\.read, nav:arbeid:rapport\\.admin`)])
  t.equal(report.warnings.length, 2, '123456789 holds rapport.read, which is enough for anyOf')
})

const EGRESS = `egress:
  - name: skatt
    url: https://api.skatteetaten.no/v1
    scopes: [skatt:some.scope, skatt:other.scope]
    resource: https://api.skatteetaten.no
  - name: brreg
    url: https://data.brreg.no
    scopes: [brreg:read]
`

function consumes (names: readonly string[]): string {
  return `        - name: arbeidsforhold.read\n          enabled: true\n          product: arbeid\n      consumes:\n${names.map((n) => `        - name: "${n}"\n`).join('')}`
}

const EGRESS_ROUTES = `routes:
  - path: /api/v1/arbeidsforhold
    scopes: [nav:arbeid:arbeidsforhold.read]
${EGRESS}`

t.test('prints the egress targets after the routes: name, url, scopes, resource', async (t) => {
  const dir = t.testdir({ 'routes.yaml': ROUTES + EGRESS })
  const report = await checkRoutes(join(dir, 'routes.yaml'))
  t.equal(report.ok, true)
  const lines = (report.table ?? '').trimEnd().split('\n')
  const at = lines.findIndex((l) => l.startsWith('LINE') && l.includes('EGRESS'))
  t.ok(at > 5, 'after the route rows')
  t.equal(lines[at - 1], '', 'a blank line between the two tables')
  t.match(lines[at], /^LINE\s+EGRESS\s+URL\s+SCOPES\s+RESOURCE$/)
  t.match(lines[at + 1], /^14\s+skatt\s+https:\/\/api\.skatteetaten\.no\/v1\s+skatt:some\.scope skatt:other\.scope\s+https:\/\/api\.skatteetaten\.no$/)
  t.match(lines[at + 2], /^18\s+brreg\s+https:\/\/data\.brreg\.no\s+brreg:read\s+-$/)
  t.equal(lines.length, at + 3)
})

t.test('a table without egress prints no egress section', async (t) => {
  const dir = t.testdir({ 'routes.yaml': ROUTES })
  t.notMatch((await checkRoutes(join(dir, 'routes.yaml'))).table, /EGRESS/)
})

t.test('--manifest: every egress scope consumed passes', async (t) => {
  const dir = t.testdir({ 'routes.yaml': EGRESS_ROUTES, 'nais.yaml': manifest(consumes(['skatt:some.scope', 'skatt:other.scope', 'brreg:read'])) })
  const report = await checkRoutes(join(dir, 'routes.yaml'), join(dir, 'nais.yaml'))
  t.same(report.errors, [])
  t.same(report.warnings, [])
  t.equal(report.ok, true)
})

t.test('--manifest: an egress scope not consumed is an error (the token endpoint would refuse it); a consumed scope no egress requests is a warning', async (t) => {
  const dir = t.testdir({ 'routes.yaml': EGRESS_ROUTES, 'nais.yaml': manifest(consumes(['skatt:some.scope', 'brreg:raed', 'altinn:unused'])) })
  const routes = join(dir, 'routes.yaml')
  const nais = join(dir, 'nais.yaml')
  const report = await checkRoutes(routes, nais)
  t.equal(report.ok, false)
  t.same(report.errors, [
    `${routes}:5: egress skatt requests skatt:other.scope, which ${nais} does not consume (spec.maskinporten.scopes.consumes), so the token endpoint would refuse it`,
    `${nais}:17: consumes brreg:raed; did you mean brreg:read (requested by egress brreg, ${routes}:9)?`
  ])
  t.same(report.warnings, [`${nais}:18: altinn:unused is consumed but no egress target requests it`])
  t.ok(report.table, 'the table still prints')
})

t.test('--manifest: egress targets and a manifest with no consumes list: every egress scope is an error', async (t) => {
  const dir = t.testdir({ 'routes.yaml': EGRESS_ROUTES, 'nais.yaml': manifest('        - name: arbeidsforhold.read\n          enabled: true\n          product: arbeid\n') })
  const report = await checkRoutes(join(dir, 'routes.yaml'), join(dir, 'nais.yaml'))
  t.equal(report.ok, false)
  t.equal(report.errors.length, 3)
  t.match(report.errors[0], /egress skatt requests skatt:some\.scope, which .* does not consume/)
})

t.test('--manifest: a pod that only calls APIs needs consumes, not exposes', async (t) => {
  const only = `apiVersion: nais.io/v1alpha1
kind: Application
metadata: { name: caller }
spec:
  maskinporten:
    enabled: true
    scopes:
      consumes:
        - name: brreg:read
`
  const dir = t.testdir({ 'routes.yaml': 'egress:\n  - { name: brreg, url: "https://data.brreg.no", scopes: [brreg:read] }\n', 'nais.yaml': only })
  const report = await checkRoutes(join(dir, 'routes.yaml'), join(dir, 'nais.yaml'))
  t.same(report.errors, [])
  t.equal(report.ok, true)
})

t.test('--manifest: a consumes entry without a name is a manifest problem with its line', async (t) => {
  const dir = t.testdir({ 'routes.yaml': EGRESS_ROUTES, 'nais.yaml': manifest(consumes([]) + '        - scope: skatt:x\n') })
  const report = await checkRoutes(join(dir, 'routes.yaml'), join(dir, 'nais.yaml'))
  t.match(report.errors, [/nais\.yaml:16: spec\.maskinporten\.scopes\.consumes, item 1, name: required, and missing$/])
})

t.test('portvakt check prints the egress table on stdout', async (t) => {
  const dir = t.testdir({ 'routes.yaml': EGRESS_ROUTES })
  const result = await runPortvakt(['check', 'routes.yaml'], { env: {}, cwd: dir, inheritEnv: true })
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, /^LINE +EGRESS +URL +SCOPES +RESOURCE\n5 +skatt +https:\/\/api\.skatteetaten\.no\/v1 /m)
})

t.test('portvakt check warns of routes that differ only by letter case, naming both lines, and still exits 0', async (t) => {
  const dir = t.testdir({ 'routes.yaml': `routes:\n  - { path: /api/admin, scopes: [nav:x:admin] }\n  - { path: /api/x, scopes: [nav:x:read] }\n  - { path: /api/Admin, scopes: [nav:x:read] }\n` })
  const result = await runPortvakt(['check', 'routes.yaml'], { env: {}, cwd: dir, inheritEnv: true })
  t.equal(result.code, 0)
  t.match(result.stdout, /routes\.yaml: valid \(1 warning\)\n$/)
  t.equal(result.stderr, 'warning: routes.yaml:2: /api/admin and /api/Admin (line 4) differ only by letter case; an app that routes without regard to case (Express, ASP.NET Core) cannot tell them apart, so portvakt refuses requests under any of them (400): rename all but one\n')
  const report = await checkRoutes(join(dir, 'routes.yaml'), join(dir, 'missing.yaml'))
  t.match(report.warnings, [/differ only by letter case/], 'the warning stays when the manifest cannot be read')
})
