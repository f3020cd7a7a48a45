/**
 * The route table's `altinn` field (src/config/altinn-rules.ts): what it compiles to (an action for
 * each admitted method, HEAD included when GET implies it), and every problem at load time with its
 * line: systemUser: required, the resource id's pattern, actions, a per-method map naming every
 * admitted method and no other, public routes, HEAD against GET.
 */
import t from 'tap'
import { parseRoutes } from '../src/config/routes.js'
import { problemsOf } from './helpers/config.js'

const all = (yaml: string): string => `routes:\n${yaml}`

t.test('a route without altinn compiles to no Altinn rule', async (t) => {
  const table = parseRoutes(all('  - { path: /a, scopes: [nav:x:a] }\n  - { path: /b, public: true }\n'), 'routes.yaml')
  t.same(table.routes.map((r) => r.altinn), [undefined, undefined])
})

t.test('one action applies to every method the route admits, HEAD implied by GET included', async (t) => {
  const table = parseRoutes(all(`  - path: /krav
    methods: [GET]
    scopes: [nav:okonomi/krav.read]
    systemUser: required
    altinn: { resource: kravogbetaling, action: read }
  - path: /alle
    scopes: [nav:okonomi/krav.read]
    systemUser: required
    altinn: { resource: nav_sykepenger_inntektsmelding-nedlasting, action: access }
`), 'routes.yaml')
  const [krav, alle] = table.routes
  t.equal(krav?.altinn?.resource, 'kravogbetaling')
  t.same([...(krav?.altinn?.actions ?? [])], [['GET', 'read'], ['HEAD', 'read']])
  t.same([...(alle?.altinn?.actions.keys() ?? [])], ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
  t.ok(Object.isFrozen(krav?.altinn))
})

t.test('a per-method map compiles to its actions', async (t) => {
  const table = parseRoutes(all(`  - path: /krav
    methods: [GET, POST]
    scopes: [nav:okonomi/krav.read]
    systemUser: required
    altinn:
      resource: kravogbetaling
      action: { GET: read, HEAD: read, POST: write }
`), 'routes.yaml')
  t.same([...(table.routes[0]?.altinn?.actions ?? [])], [['GET', 'read'], ['HEAD', 'read'], ['POST', 'write']])
})

t.test('altinn without systemUser: required is refused at its line', async (t) => {
  t.same(problemsOf(all(`  - path: /a
    scopes: [nav:x:a]
    altinn: { resource: kravogbetaling, action: read }
  - path: /b
    scopes: [nav:x:a]
    systemUser: forbidden
    altinn: { resource: kravogbetaling, action: read }
`)), [
    'routes.yaml:2: route 1 (/a): altinn asks Altinn what the token\'s system user may do, so the route needs systemUser: required (now allowed, the default)',
    'routes.yaml:5: route 2 (/b): altinn asks Altinn what the token\'s system user may do, so the route needs systemUser: required (now forbidden)'
  ])
})

t.test('a per-method map that misses an admitted method, HEAD implied by GET included, is refused with the line', async (t) => {
  t.same(problemsOf(all(`  - path: /a
    methods: [GET, POST]
    scopes: [nav:x:a]
    systemUser: required
    altinn: { resource: kravogbetaling, action: { GET: read } }
`)), ['routes.yaml:2: route 1 (/a): altinn.action names no action for HEAD, POST, which the route admits (HEAD because GET admits it: the app answers HEAD with its GET handler); name one for each, or write one action for all'])
  t.same(problemsOf(all(`  - path: /a
    scopes: [nav:x:a]
    systemUser: required
    altinn: { resource: kravogbetaling, action: { GET: read, HEAD: read } }
`)), ['routes.yaml:2: route 1 (/a): altinn.action names no action for POST, PUT, PATCH, DELETE, OPTIONS, which the route admits; name one for each, or write one action for all'], 'no methods means every method')
})

t.test('a per-method map naming a method the route does not admit is refused', async (t) => {
  t.same(problemsOf(all(`  - path: /a
    methods: [GET]
    scopes: [nav:x:a]
    systemUser: required
    altinn: { resource: kravogbetaling, action: { GET: read, HEAD: read, DELETE: write } }
`)), ['routes.yaml:2: route 1 (/a): altinn.action names DELETE, which the route does not admit; remove it or add it to methods'])
})

t.test('a bad resource id, action, method name or unknown key is refused at its line', async (t) => {
  const problems = problemsOf(all(`  - path: /a
    scopes: [nav:x:a]
    systemUser: required
    altinn: { resource: Krav Og Betaling, action: read }
  - path: /b
    scopes: [nav:x:a]
    systemUser: required
    altinn: { resource: krav, action: "" }
  - path: /c
    scopes: [nav:x:a]
    systemUser: required
    altinn: { resource: krav, action: { FETCH: read } }
  - path: /d
    scopes: [nav:x:a]
    systemUser: required
    altinn: { resource: krav, action: read, org: "123456789" }
  - path: /e
    scopes: [nav:x:a]
    systemUser: required
    altinn: { action: read }
  - path: /f
    scopes: [nav:x:a]
    systemUser: required
    altinn: { resource: krav, action: {} }
`))
  t.match(problems.find((p) => p.includes('FETCH')), /^routes\.yaml:13: route 3 \(\/c\), altinn, action: unknown key "FETCH"/)
  t.same(problems.filter((p) => !p.includes('FETCH')), [
    'routes.yaml:5: route 1 (/a), altinn, resource: resource is the resource-registry identifier: lower-case letters, digits, - and _, e.g. kravogbetaling',
    'routes.yaml:9: route 2 (/b), altinn, action: an action is a non-empty word of the resource\'s policy, e.g. read, write or access',
    'routes.yaml:13: route 3 (/c), altinn, action: name an action for each method the route admits, e.g. { GET: read, HEAD: read }',
    'routes.yaml:17: route 4 (/d), altinn: unknown key "org"; the keys here are resource, action',
    'routes.yaml:21: route 5 (/e), altinn, resource: resource is the resource-registry identifier, e.g. kravogbetaling',
    'routes.yaml:25: route 6 (/f), altinn, action: name an action for each method the route admits, e.g. { GET: read, HEAD: read }'
  ])
  t.same(problemsOf(all('  - { path: /g, methods: [GET], scopes: [nav:x:a], systemUser: required, altinn: { resource: krav, action: { GTE: read, HEAD: read } } }\n')), ['routes.yaml:2: route 1 (/g), altinn, action: unknown key "GTE"; did you mean GET?'], 'a misspelt method gets did-you-mean')
})

t.test('altinn on a public route is refused', async (t) => {
  t.match(problemsOf(all('  - { path: /a, public: true, altinn: { resource: krav, action: read } }\n')), [/routes\.yaml:2: route 1 \(\/a\): a public route takes no token, so altinn means nothing there; remove it/])
})

t.test('a HEAD route asking Altinn other than the GET on its path is refused', async (t) => {
  t.match(problemsOf(all(`  - { path: /a, methods: [GET], scopes: [nav:x:a], systemUser: required, altinn: { resource: krav, action: read } }
  - { path: /a, methods: [HEAD], scopes: [nav:x:a], systemUser: required, altinn: { resource: krav, action: peek } }
`)), [/^routes\.yaml:3: HEAD \/a asks other scopes, audience, consumers, delegation and system-user rules or Altinn action than GET \/a at line 2/])
  t.same(problemsOf(all(`  - { path: /a, methods: [GET], scopes: [nav:x:a], systemUser: required, altinn: { resource: krav, action: read } }
  - { path: /a, methods: [HEAD], scopes: [nav:x:a], systemUser: required, altinn: { resource: krav, action: read } }
`)), [], 'the same question is fine')
})

t.test('portvakt check prints the Altinn question in its own column, only for a table that has one', async (t) => {
  const { checkRoutes } = await import('../src/commands/check.js')
  const dir = t.testdir({
    'routes.yaml': all(`  - { path: /plain, scopes: [nav:x:a] }
  - path: /krav
    methods: [GET, POST]
    scopes: [nav:x:a]
    systemUser: required
    altinn: { resource: kravogbetaling, action: { GET: read, HEAD: read, POST: write } }
`),
    'plain.yaml': all('  - { path: /plain, scopes: [nav:x:a] }\n')
  })
  const lines = ((await checkRoutes(`${dir}/routes.yaml`)).table ?? '').trimEnd().split('\n')
  t.match(lines[0], /^LINE\s+PATH\s+METHODS\s+SCOPES\s+AUDIENCE\s+CONSUMERS\s+DELEGATION\s+SYSTEM USER\s+ALTINN$/)
  t.match(lines[1], /^2\s+\/plain\s+.*\s+-$/)
  t.match(lines[2], /^3\s+\/krav\s+GET,HEAD,POST\s+.*\s+required\s+kravogbetaling: GET,HEAD=read POST=write$/)
  t.notMatch(((await checkRoutes(`${dir}/plain.yaml`)).table ?? '').split('\n')[0], /ALTINN/)
})
