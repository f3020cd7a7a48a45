/**
 * The route table's delegation and system-user fields (src/config/party-rules.ts): what each
 * compiles to, the defaults (no rules at all, so the gate does nothing extra), and every problem at
 * load time with its line: orgnos as quoted 9-digit strings, systems as non-empty strings, rules
 * from their three words, contradictions, public routes, HEAD against GET.
 */
import t from 'tap'
import { parseRoutes } from '../src/config/routes.js'
import { problemsOf } from './helpers/config.js'

const all = (yaml: string): string => `routes:\n${yaml}`

t.test('a route that sets none of the fields, or only their defaults, has no party rules', async (t) => {
  const table = parseRoutes(all(`  - { path: /a, scopes: [nav:x:a] }
  - { path: /b, scopes: [nav:x:a], delegation: allowed, systemUser: allowed }
  - { path: /c, public: true }
`), 'routes.yaml')
  t.same(table.routes.map((r) => r.parties), [undefined, undefined, undefined])
})

t.test('each field compiles: the rules as written, the lists as sets', async (t) => {
  const table = parseRoutes(all(`  - path: /inntektsmelding
    scopes: [nav:helse/im.read]
    delegation: required
    suppliers: ["111111111"]
    systemUser: required
    systemUserOrgs: ["222222222", "310385980"]
    systems: ["333333333_lonn", matrix_test]
  - { path: /egen, scopes: [nav:x:a], delegation: forbidden, systemUser: forbidden }
  - { path: /kunder, scopes: [nav:x:a], systemUserOrgs: ["222222222"] }
`), 'routes.yaml')
  const [full, own, customers] = table.routes
  t.same(full?.parties, { delegation: 'required', suppliers: new Set(['111111111']), systemUser: 'required', systemUserOrgs: new Set(['222222222', '310385980']), systems: new Set(['333333333_lonn', 'matrix_test']) })
  t.same(own?.parties, { delegation: 'forbidden', suppliers: undefined, systemUser: 'forbidden', systemUserOrgs: undefined, systems: undefined })
  t.same(customers?.parties, { delegation: 'allowed', suppliers: undefined, systemUser: 'allowed', systemUserOrgs: new Set(['222222222']), systems: undefined }, 'a list alone keeps the rules at allowed')
  t.ok(Object.isFrozen(full?.parties))
})

t.test('an unquoted orgno in suppliers or systemUserOrgs gets its quoting spelled out, at its line', async (t) => {
  t.same(problemsOf(all(`  - path: /a
    scopes: [nav:x:a]
    suppliers: [111111111]
    systemUserOrgs: [012345678]
`)), [
    'routes.yaml:4: route 1 (/a), suppliers, item 1: an org number must be a quoted string; unquoted, YAML reads 111111111 as a number. Write suppliers: ["111111111"]',
    'routes.yaml:5: route 1 (/a), systemUserOrgs, item 1: an org number must be a quoted string; unquoted, YAML reads 012345678 as a number. Write systemUserOrgs: ["012345678"]'
  ])
})

t.test('an orgno that is not 9 digits, an empty list, and a system id that is empty or a number are refused with their lines', async (t) => {
  t.same(problemsOf(all(`  - path: /a
    scopes: [nav:x:a]
    suppliers: ["12345678"]
    systemUserOrgs: []
    systems: ["", 123]
`)), [
    'routes.yaml:4: route 1 (/a), suppliers, item 1: an orgno is 9 digits, in quotes: "123456789"',
    'routes.yaml:5: route 1 (/a), systemUserOrgs: list at least one orgno, or leave the key out',
    'routes.yaml:6: route 1 (/a), systems, item 1: a system id is a non-empty string, e.g. "991825827_lonn"',
    'routes.yaml:6: route 1 (/a), systems, item 2: a system id must be a quoted string; unquoted, YAML reads 123 as a number. Write systems: ["123"]'
  ])
  t.same(problemsOf(all('  - { path: /a, scopes: [nav:x:a], systems: [] }\n')), ['routes.yaml:2: route 1 (/a), systems: list at least one system id, or leave the key out'])
})

t.test('a rule other than allowed, forbidden or required is refused, naming the three', async (t) => {
  t.same(problemsOf(all(`  - path: /a
    scopes: [nav:x:a]
    delegation: yes
    systemUser: true
`)), [
    'routes.yaml:4: route 1 (/a), delegation: delegation is allowed (the default), forbidden or required',
    'routes.yaml:5: route 1 (/a), systemUser: systemUser is allowed (the default), forbidden or required'
  ])
  t.match(problemsOf(all('  - { path: /a, scopes: [nav:x:a], systemuser: required }\n')), [/unknown key "systemuser"/], 'the key is spelt as the interface spells it')
  t.same(problemsOf(all('  - { path: /a, scopes: [nav:x:a], delegation: requird, systemUser: forbiden }\n')), [
    'routes.yaml:2: route 1 (/a), delegation: delegation is allowed (the default), forbidden or required; did you mean required?',
    'routes.yaml:2: route 1 (/a), systemUser: systemUser is allowed (the default), forbidden or required; did you mean forbidden?'
  ], 'a misspelt rule gets the one it likely means')
})

t.test('forbidden with its rule\'s lists is a contradiction, at the route\'s line', async (t) => {
  t.same(problemsOf(all(`  - path: /a
    scopes: [nav:x:a]
    delegation: forbidden
    suppliers: ["111111111"]
  - path: /b
    scopes: [nav:x:a]
    systemUser: forbidden
    systemUserOrgs: ["222222222"]
    systems: ["333333333_lonn"]
  - { path: /c, scopes: [nav:x:a], systemUser: forbidden, systems: [x] }
  - { path: /d, scopes: [nav:x:a], delegation: forbidden, systemUserOrgs: ["222222222"], systemUser: required, suppliers: ["111111111"] }
`)), [
    'routes.yaml:2: route 1 (/a): delegation: forbidden refuses every delegated token, so suppliers can never match; remove it, or allow delegated tokens',
    'routes.yaml:6: route 2 (/b): systemUser: forbidden refuses every token with a system user, so systemUserOrgs and systems can never match; remove them, or allow system users',
    'routes.yaml:11: route 3 (/c): systemUser: forbidden refuses every token with a system user, so systems can never match; remove it, or allow system users',
    'routes.yaml:12: route 4 (/d): delegation: forbidden refuses every delegated token, so suppliers can never match; remove it, or allow delegated tokens'
  ])
})

t.test('a public route takes none of the fields', async (t) => {
  t.same(problemsOf(all('  - { path: /p, public: true, delegation: forbidden, systems: [x] }\n')), [
    'routes.yaml:2: route 1 (/p): a public route takes no token, so delegation and systems mean nothing there; remove them'
  ])
  t.same(problemsOf(all('  - { path: /p, public: true, systemUser: required }\n')), [
    'routes.yaml:2: route 1 (/p): a public route takes no token, so systemUser means nothing there; remove it'
  ])
})

t.test('a HEAD route must ask GET\'s delegation and system-user rules too', async (t) => {
  t.match(problemsOf(all(`  - { path: /a, methods: [GET], scopes: [nav:x:a], systemUser: required }
  - { path: /a, methods: [HEAD], scopes: [nav:x:a] }
`)), [/^routes\.yaml:3: HEAD \/a asks other scopes, audience, consumers, delegation and system-user rules or Altinn action than GET \/a at line 2/])
  t.same(problemsOf(all(`  - { path: /a, methods: [GET], scopes: [nav:x:a], systemUserOrgs: ["222222222", "111111111"] }
  - { path: /a, methods: [HEAD], scopes: [nav:x:a], systemUserOrgs: ["111111111", "222222222"] }
`)), [], 'the same lists in another order are the same rules')
  t.match(problemsOf(all(`  - { path: /a, methods: [GET], scopes: [nav:x:a], systems: [a] }
  - { path: /a, methods: [HEAD], scopes: [nav:x:a], systems: [b] }
`)), [/HEAD \/a asks other/])
})
