/**
 * `portvakt check` on delegation and system-user rules: the compiled table prints them, and with
 * --manifest it warns only where Maskinporten's own rules leave a route unreachable (a delegated
 * token exists only for scopes with a delegation source), nothing about suppliers or system-user
 * organisations, which need no grant (docs/delegation.md, "Which organisation holds the scope").
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { checkRoutes } from '../src/commands/check.js'
import { naisManifest } from './helpers/config.js'

const ROUTES = `routes:
  - path: /api/v1/arbeidsforhold
    scopes: [nav:arbeid:arbeidsforhold.read]
  - path: /api/v1/inntektsmelding
    scopes: [nav:helse/im.read]
    delegation: required
    suppliers: ["111111111", "991825827"]
  - path: /api/v1/lonn
    scopes: { anyOf: [nav:helse/im.read, nav:arbeid:arbeidsforhold.read] }
    systemUser: required
    systemUserOrgs: ["222222222"]
    systems: ["333333333_lonn"]
  - path: /api/v1/egen
    scopes: [nav:helse/im.read, nav:arbeid:arbeidsforhold.read]
    delegation: required
    systemUser: forbidden
    consumers: ["123456789"]
`

// nav:arbeid:arbeidsforhold.read (line 12) cannot be delegated; nav:helse/im.read (line 17) can.
const EXPOSES = `        - name: arbeidsforhold.read
          product: arbeid
          enabled: true
          consumers:
            - orgno: "123456789"
        - name: im.read
          product: helse
          separator: /
          enabled: true
          delegationSource: altinn
          consumers:
            - orgno: "123456789"
`

async function check (t: Test, routes: string, exposes?: string): Promise<Awaited<ReturnType<typeof checkRoutes>>> {
  const dir = t.testdir({ 'routes.yaml': routes, ...(exposes === undefined ? {} : { 'nais.yaml': naisManifest(exposes) }) })
  return await checkRoutes(join(dir, 'routes.yaml'), exposes === undefined ? undefined : join(dir, 'nais.yaml'))
}

t.test('prints the delegation and system-user rules in two columns, only for a table that has them', async (t) => {
  const lines = ((await check(t, ROUTES)).table ?? '').trimEnd().split('\n')
  t.match(lines[0], /^LINE\s+PATH\s+METHODS\s+SCOPES\s+AUDIENCE\s+CONSUMERS\s+DELEGATION\s+SYSTEM USER$/)
  t.match(lines[1], /^2\s+\/api\/v1\/arbeidsforhold\s+\*\s+nav:arbeid:arbeidsforhold\.read\s+-\s+-\s+-\s+-$/)
  t.match(lines[2], /^4\s+\/api\/v1\/inntektsmelding\s+.*\s+required \(suppliers: 111111111,991825827\)\s+allowed$/)
  t.match(lines[3], /^8\s+\/api\/v1\/lonn\s+.*\s+allowed\s+required \(orgs: 222222222; systems: 333333333_lonn\)$/)
  t.match(lines[4], /^13\s+\/api\/v1\/egen\s+.*\s+123456789\s+required\s+forbidden$/)
  const plain = ((await check(t, 'routes:\n  - { path: /a, scopes: [nav:x:a] }\n')).table ?? '').split('\n')[0]
  t.match(plain, /^LINE\s+PATH\s+METHODS\s+SCOPES\s+AUDIENCE\s+CONSUMERS$/, 'no new columns otherwise')
})

t.test('with --manifest, delegation: required on scopes without a delegation source is a warning; nothing else new is', async (t) => {
  const report = await check(t, ROUTES, EXPOSES)
  t.equal(report.ok, true, report.errors.join('\n'))
  const file = (name: string): string => `${t.testdirName}/${name}`
  t.same(report.warnings, [
    `${file('routes.yaml')}:13: * /api/v1/egen has delegation: required, but ${file('nais.yaml')} exposes nav:arbeid:arbeidsforhold.read (line 12) without delegationSource, so Maskinporten issues no delegated token for it and no token reaches this route`
  ], 'the all-of route: one scope that cannot be delegated is enough; suppliers, systemUserOrgs and systems are not held to the manifest')
})

t.test('an anyOf route is unreachable for delegated tokens only when none of its scopes can be delegated', async (t) => {
  const routes = `routes:
  - path: /a
    scopes: { anyOf: [nav:helse/im.read, nav:arbeid:arbeidsforhold.read] }
    delegation: required
`
  t.same((await check(t, routes, EXPOSES)).warnings, [], 'one delegable scope in the anyOf is enough')
  const closed = await check(t, routes, EXPOSES.replace('          delegationSource: altinn\n', ''))
  t.match(closed.warnings, [/\/a has delegation: required, but .* exposes nav:helse\/im\.read \(line 17\) and nav:arbeid:arbeidsforhold\.read \(line 12\) without delegationSource, so Maskinporten issues no delegated token for them/])
  t.same((await check(t, routes.replace('delegation: required', 'delegation: allowed'), EXPOSES.replace('          delegationSource: altinn\n', ''))).warnings, [], 'delegation allowed: plain tokens still reach it')
})
