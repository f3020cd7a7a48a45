import t from 'tap'
import { problemsOf } from './helpers/config.js'
import { readFileSync } from 'node:fs'
import { expandScope, loadRoutes, parseRoutes } from '../src/config/routes.js'

t.test('compiles the annotated example in config/routes.yaml', async (t) => {
  const table = await loadRoutes('config/routes.yaml')
  t.equal(table.routes.length, 8)
  const skjema = table.routes.find((r) => r.path === '/api/v1/skjema')
  t.same(skjema?.scopes, { mode: 'all', list: ['nav:arbeid/skjema/innsending.write'] })
  const rapport = table.routes.find((r) => r.path === '/api/v1/rapport')
  t.equal(rapport?.scopes?.mode, 'any')
  t.equal(table.byPath.get('/api/v1/arbeidsforhold')?.allow, 'GET, HEAD, POST, PUT, PATCH, DELETE')
})

t.test('expands manifest-form scopes by the NAIS rule', async (t) => {
  t.equal(expandScope({ product: 'arbeid', name: 'some.scope.read' }), 'nav:arbeid:some.scope.read')
  t.equal(expandScope({ product: 'arbeid', name: 'some/scope.read' }), 'nav:arbeid/some/scope.read')
  t.equal(expandScope({ product: 'arbeid', name: 'some.scope', separator: '/' }), 'nav:arbeid/some.scope')
  t.equal(expandScope('skatt:some.scope'), 'skatt:some.scope')
})

t.test('applies the default audience, a per-route override, and audience: null', async (t) => {
  const table = parseRoutes(`
audience: https://arbeid.api.nav.no
routes:
  - { path: /a, scopes: [nav:x:a] }
  - { path: /b, scopes: [nav:x:b], audience: https://b.api.nav.no }
  - { path: /c, scopes: [nav:x:c], audience: null }
  - { path: /d, public: true }
`, 'routes.yaml')
  t.same(table.routes.map((r) => r.audience), ['https://arbeid.api.nav.no', 'https://b.api.nav.no', undefined, undefined])
})

t.test('names the line of each problem and lists them all at once', async (t) => {
  const problems = problemsOf(`routes:
  - methods: [GET]
    scopes: [nav:x:a]
  - path: api/v1
    scopes: [nav:x:b]
  - path: /c
    scopes: []
  - path: /d
    scope: [nav:x:d]
  - path: /e
    methods: [GET, FETCH]
    scopes: [nav:x:e]
`)
  t.match(problems, [
    /^routes\.yaml:2: route 1, path: required, and missing$/,
    /^routes\.yaml:4: route 2 \(api\/v1\), path: a path starts with \//,
    /^routes\.yaml:7: route 3 \(\/c\), scopes: /,
    /^routes\.yaml:9: route 4 \(\/d\): unknown key "scope"; did you mean scopes\?$/,
    /^routes\.yaml:11: route 5 \(\/e\), methods, item 2: "FETCH" is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS; did you mean PATCH\?$/
  ])
  t.equal(problems.length, 5)
})

// A route that is both public and scoped, on lines 2 to 4 of the tables that start with it.
const PUBLIC_AND_SCOPED = `  - path: /a
    public: true
    scopes: [nav:x:a]
`

t.test('refuses a route that is both public and scoped, or neither', async (t) => {
  const problems = problemsOf(`routes:
${PUBLIC_AND_SCOPED}  - path: /b
    methods: [GET]
`)
  t.match(problems[0], /routes\.yaml:2: .*either public: true or has scopes, not both/)
  t.match(problems[1], /routes\.yaml:5: .*say which scopes the route needs/)
})

t.test('refuses a duplicate path and method, naming both lines', async (t) => {
  const problems = problemsOf(`routes:
  - path: /a
    scopes: [nav:x:a]
  - path: /a
    methods: [GET]
    scopes: [nav:x:b]
`)
  t.match(problems, [/routes\.yaml:4: .*GET \/a is already routed at line 2/])
})

t.test('reports YAML syntax errors with their line', async (t) => {
  const problems = problemsOf('routes:\n  - path: /a\n    scopes: [nav:x:a\n')
  t.ok(problems.length > 0)
  t.match(problems[0], /^routes\.yaml:\d+: /)
})

t.test('reports duplicate keys in a mapping', async (t) => {
  t.match(problemsOf('routes:\n  - path: /a\n    path: /b\n    public: true\n'), ['routes.yaml:3: the key "path" is given twice in one map; keep one'])
})

t.test('refuses paths that could be read two ways', async (t) => {
  for (const path of ['/a/', '/a//b', '/a/../b', '/a;x', '/a%2fb', '/a b']) {
    t.equal(problemsOf(`routes:\n  - { path: "${path}", public: true }\n`).length, 1, path)
  }
})

t.test('refuses scopes that are not prefix:subscope and orgnos that are not 9 digits', async (t) => {
  t.equal(problemsOf('routes:\n  - { path: /a, scopes: ["just-a-word"] }\n').length, 1)
  t.equal(problemsOf('routes:\n  - { path: /a, scopes: [nav:x:a], consumers: [12345] }\n').length, 1)
  t.equal(problemsOf('routes:\n  - { path: /a, scopes: [{ product: Arbeid, name: xy }] }\n').length, 1)
})

t.test('refuses an empty document and a missing file with a hint', async (t) => {
  t.match(problemsOf(''), [/routes/])
  await t.rejects(loadRoutes('no/such/routes.yaml'), { name: 'ConfigError', message: /set PORTVAKT_ROUTES/ })
})

t.test('the annotated example compiles to exactly the table its comments describe', async (t) => {
  const table = parseRoutes(readFileSync('config/routes.yaml', 'utf8'), 'config/routes.yaml')
  const all = (...list: string[]): object => ({ mode: 'all', list })
  t.same(table.routes.map((r) => ({ id: r.id, methods: r.methods, public: r.public, scopes: r.scopes, audience: r.audience, consumers: r.consumers })), [
    { id: 'GET,HEAD /api/v1/arbeidsforhold', methods: ['GET', 'HEAD'], public: false, scopes: all('nav:arbeid:arbeidsforhold.read'), audience: undefined, consumers: undefined },
    { id: 'POST,PUT,PATCH,DELETE /api/v1/arbeidsforhold', methods: ['POST', 'PUT', 'PATCH', 'DELETE'], public: false, scopes: all('nav:arbeid:arbeidsforhold.write'), audience: undefined, consumers: undefined },
    { id: '* /api/v1/rapport', methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], public: false, scopes: { mode: 'any', list: ['nav:arbeid:rapport.read', 'nav:arbeid:rapport.admin'] }, audience: undefined, consumers: undefined },
    { id: '* /api/v1/skjema', methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], public: false, scopes: all('nav:arbeid/skjema/innsending.write'), audience: undefined, consumers: undefined },
    { id: 'GET,HEAD /api/v1/lonn', methods: ['GET', 'HEAD'], public: false, scopes: all('nav:arbeid:arbeidsforhold.read'), audience: undefined, consumers: undefined },
    { id: 'GET,HEAD,POST /api/v1/kravogbetaling', methods: ['GET', 'HEAD', 'POST'], public: false, scopes: all('nav:arbeid:arbeidsforhold.read'), audience: undefined, consumers: undefined },
    { id: '* /internal/isalive', methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], public: true, scopes: undefined, audience: undefined, consumers: undefined },
    { id: '* /internal/isready', methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], public: true, scopes: undefined, audience: undefined, consumers: undefined }
  ])
  t.same([...table.byPath.keys()], ['/api/v1/arbeidsforhold', '/api/v1/rapport', '/api/v1/skjema', '/api/v1/lonn', '/api/v1/kravogbetaling', '/internal/isalive', '/internal/isready'], 'one lookup entry per path')
  t.same(table.routes.map((r) => r.parties?.systemUser), [undefined, undefined, undefined, undefined, 'required', 'required', undefined, undefined], 'only /api/v1/lonn and /api/v1/kravogbetaling ask for a system user')
  t.same(table.routes.map((r) => r.altinn === undefined ? undefined : [r.altinn.resource, Object.fromEntries(r.altinn.actions)]), [undefined, undefined, undefined, undefined, undefined, ['kravogbetaling', { GET: 'read', HEAD: 'read', POST: 'write' }], undefined, undefined], 'only /api/v1/kravogbetaling asks Altinn')
  t.same(table.egress, [], 'no egress targets')
  t.equal(table.source, 'config/routes.yaml')
})

t.test('a schema error in one entry does not hide the route checks on the others; all sorted by line', async (t) => {
  const problems = problemsOf(`routes:
${PUBLIC_AND_SCOPED}  - path: /b
    methods: [FETCH]
    scopes: [nav:x:b]
  - path: /c
    scopes: [nav:x:c]
  - path: /c
    methods: [GET]
    scopes: [nav:x:d]
  - path: /e
    methods: [GET]
egress:
  - { name: skatt, url: "https://a.example", scopes: [skatt:a] }
  - { name: skatt, url: "https://b.example", scopes: [skatt:b] }
  - { name: bad, url: "https://c.example", scopes: [] }
`)
  t.match(problems, [
    /^routes\.yaml:2: route 1 \(\/a\): a route is either public: true or has scopes, not both/,
    /^routes\.yaml:6: route 2 \(\/b\), methods, item 1: "FETCH" is not one of/,
    /^routes\.yaml:10: route 4 \(\/c\): GET \/c is already routed at line 8/,
    /^routes\.yaml:13: route 5 \(\/e\): say which scopes the route needs/,
    /^routes\.yaml:17: egress 2 \(skatt\): the name is already used at line 16/,
    /^routes\.yaml:18: egress 3 \(bad\), scopes: list at least one scope/
  ])
  t.equal(problems.length, 6)
})

t.test('a route with a schema error takes no part in the duplicate check', async (t) => {
  const problems = problemsOf(`routes:
  - path: /a
    methods: [GET]
    scopes: [nav:x:a]
    consumers: ["12345"]
  - path: /a
    methods: [GET]
    scopes: [nav:x:b]
`)
  t.match(problems, [/^routes\.yaml:5: route 1 \(\/a\), consumers, item 1: an orgno is 9 digits/])
  t.equal(problems.length, 1, 'the malformed route is not compiled, so /a GET is routed once')
})

t.test('an unquoted org number names its route and shows the quoted fix, leading 0 kept', async (t) => {
  const problems = problemsOf(`routes:
  - path: /api/v1/a
    scopes: [nav:x:a]
    consumers: [123456789, 012345678]
`)
  t.same(problems, [
    'routes.yaml:4: route 1 (/api/v1/a), consumers, item 1: an org number must be a quoted string; unquoted, YAML reads 123456789 as a number. Write consumers: ["123456789"]',
    'routes.yaml:4: route 1 (/api/v1/a), consumers, item 2: an org number must be a quoted string; unquoted, YAML reads 012345678 as a number. Write consumers: ["012345678"]'
  ])
})

t.test('a manifest scope with a number for product or name, even inside anyOf, says to quote it', async (t) => {
  const problems = problemsOf(`routes:
  - path: /a
    scopes:
      - { product: 2024, name: some.read }
  - path: /b
    scopes:
      anyOf:
        - product: arbeid
          name: 1.5
`)
  t.same(problems, [
    'routes.yaml:4: route 1 (/a), scopes, item 1, product: product must be a quoted string; unquoted, YAML reads 2024 as a number. Write product: "2024"',
    'routes.yaml:9: route 2 (/b), scopes, anyOf, item 1, name: name must be a quoted string; unquoted, YAML reads 1.5 as a number. Write name: "1.5"'
  ])
})

t.test('public: yes or "true" is a string in YAML 1.2, and the message says write public: true', async (t) => {
  const problems = problemsOf(`routes:
  - { path: /a, public: yes }
  - { path: /b, public: "true" }
`)
  t.match(problems, [
    /^routes\.yaml:2: route 1 \(\/a\), public: public is true or false, unquoted; YAML reads yes as a string .* Write public: true$/,
    /^routes\.yaml:3: route 2 \(\/b\), public: public is true or false, unquoted; YAML reads "true" as a string/
  ])
  t.equal(problems.length, 2)
})

t.test('an egress name YAML reads as a number says to quote it', async (t) => {
  t.same(problemsOf(`egress:
  - { name: 2024, url: "https://a.example", scopes: [skatt:a] }
`), ['routes.yaml:2: egress 1, name: name must be a quoted string; unquoted, YAML reads 2024 as a number. Write name: "2024"'])
})

t.test('a method listed twice in one route is named as such, on the repeat, not as already routed', async (t) => {
  const problems = problemsOf(`routes:
  - path: /a
    methods:
      - GET
      - POST
      - GET
    scopes: [nav:x:a]
`)
  t.same(problems, ['routes.yaml:6: route 1 (/a), methods, item 3: GET is listed twice in this route; list each method once'])
})

t.test('a file that is a list or a word, not a map, says what a route table looks like', async (t) => {
  t.same(problemsOf('- path: /a\n  public: true\n'), ['routes.yaml:1: the file: a route table is a map, not a list: routes: (and egress:) at the top, the routes listed under it'])
  t.same(problemsOf('hello\n'), ['routes.yaml:1: the file: a route table is a map, not the text "hello": routes: (and egress:) at the top, the routes listed under it'])
})

t.test('a route that is a list inside the list (one "-" too many) is named by its number, counted from 1', async (t) => {
  t.same(problemsOf('routes:\n  - { path: /a, public: true }\n  -\n    - path: /b\n'), ['routes.yaml:4: route 2: expected a map (key: value lines), found a list (one "-" too many?)'])
})
