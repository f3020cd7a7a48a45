import t from 'tap'
import { problemsOf } from './helpers/config.js'
import { loadSettings } from '../src/config/env.js'
import { parseRoutes } from '../src/config/routes.js'

t.test('compiles egress targets: target space-joined, url without trailing slash, resource optional', async (t) => {
  const table = parseRoutes(`
routes:
  - { path: /a, public: true }
egress:
  - name: skatt
    url: https://api.skatteetaten.no/v1/
    scopes: [skatt:some.scope, skatt:other.scope]
    resource: https://api.skatteetaten.no
  - name: brreg
    url: http://127.0.0.1:9000
    scopes: [brreg:read]
`, 'routes.yaml')
  t.same(table.egress.map((e) => [e.name, e.url, e.target, e.resource, e.line]), [
    ['skatt', 'https://api.skatteetaten.no/v1', 'skatt:some.scope skatt:other.scope', 'https://api.skatteetaten.no', 5],
    ['brreg', 'http://127.0.0.1:9000', 'brreg:read', undefined, 9]
  ])
  t.equal(table.egressByName.get('skatt')?.scopes.length, 2)
  t.ok(Object.isFrozen(table.egress[0]))
})

t.test('a table without egress has an empty egress list', async (t) => {
  const table = parseRoutes('routes:\n  - { path: /a, public: true }\n', 'routes.yaml')
  t.same(table.egress, [])
  t.equal(table.egressByName.size, 0)
})

t.test('a pod that only calls APIs may leave routes out; the gate then forwards nothing', async (t) => {
  const table = parseRoutes('egress:\n  - { name: skatt, url: "https://x.example/v1", scopes: [skatt:a] }\n', 'routes.yaml')
  t.same(table.routes, [])
  t.equal(table.byPath.size, 0)
  t.equal(table.egress.length, 1)
})

t.test('a table with neither routes nor egress is refused with a hint', async (t) => {
  t.match(problemsOf('audience: https://a.example\n'), [/routes\.yaml:1: routes: list at least one route \(or, .* egress target\)/])
  t.match(problemsOf('routes: []\n'), [/routes\.yaml:1: routes: list at least one route/])
})

t.test('refuses duplicate egress names, naming both lines', async (t) => {
  t.match(problemsOf(`egress:
  - { name: skatt, url: "https://a.example", scopes: [skatt:a] }
  - { name: other, url: "https://b.example", scopes: [skatt:b] }
  - { name: skatt, url: "https://c.example", scopes: [skatt:c] }
`), [/^routes\.yaml:4: egress 3 \(skatt\): the name is already used at line 2/])
})

t.test('names the line of every bad egress entry at once', async (t) => {
  const problems = problemsOf(`egress:
  - name: Skatt/x
    url: https://a.example
    scopes: [skatt:a]
  - name: b
    url: ftp://b.example
    scopes: [skatt:b]
  - name: c
    url: https://c.example
    scopes: []
  - name: d
    url: https://d.example?x=1
    scopes: [skatt:d]
  - name: e
    url: https://e.example
    scopes: [skatt:e]
    audience: https://e.example
  - name: f
    url: /relative
    scopes: [not a scope]
    resource: nope
`)
  t.match(problems, [
    /^routes\.yaml:2: egress 1 \(Skatt\/x\), name: name is lower-case letters/,
    /^routes\.yaml:6: egress 2 \(b\), url: url is an absolute http\(s\) URL/,
    /^routes\.yaml:10: egress 3 \(c\), scopes: list at least one scope/,
    /^routes\.yaml:12: egress 4 \(d\), url: url takes no query/,
    /^routes\.yaml:17: egress 5 \(e\): unknown key "audience"; the keys here are name, url, scopes, resource$/,
    /^routes\.yaml:19: egress 6 \(f\), url: /,
    /^routes\.yaml:20: egress 6 \(f\), scopes, item 1: a scope is/,
    /^routes\.yaml:21: egress 6 \(f\), resource: resource is an absolute/
  ])
  t.equal(problems.length, 8)
})

t.test('egress settings: NAIS_TOKEN_ENDPOINT, port 8083 by default, proxy variables in either case', async (t) => {
  const base = { MASKINPORTEN_ISSUER: 'https://test.maskinporten.no/', MASKINPORTEN_JWKS_URI: 'https://test.maskinporten.no/jwk' }
  const defaults = loadSettings(base)
  t.same(defaults.egress, { tokenEndpoint: undefined, port: 8083, timeoutMs: 30_000, refreshIntervalMs: 10_000 })
  t.same(defaults.proxy, { httpProxy: '', httpsProxy: '', noProxy: '' })
  const set = loadSettings({
    ...base,
    NAIS_TOKEN_ENDPOINT: 'http://127.0.0.1:7164/api/v1/token',
    PORTVAKT_EGRESS_PORT: '9083',
    PORTVAKT_EGRESS_TIMEOUT: '5s',
    PORTVAKT_EGRESS_REFRESH_INTERVAL: '0',
    https_proxy: 'http://webproxy.nais:8088',
    HTTP_PROXY: 'http://webproxy.nais:8088',
    no_proxy: 'localhost,127.0.0.1,.local'
  })
  t.same(set.egress, { tokenEndpoint: 'http://127.0.0.1:7164/api/v1/token', port: 9083, timeoutMs: 5000, refreshIntervalMs: 0 })
  t.same(set.proxy, { httpProxy: 'http://webproxy.nais:8088', httpsProxy: 'http://webproxy.nais:8088', noProxy: 'localhost,127.0.0.1,.local' }, 'one proxy setting for every outbound call, egress included')
  t.throws(() => loadSettings({ ...base, PORTVAKT_EGRESS_PORT: '7164', NAIS_TOKEN_ENDPOINT: 'not a url' }), { message: /NAIS_TOKEN_ENDPOINT: "not a url" is not an absolute URL[\s\S]*PORTVAKT_EGRESS_PORT: 7164 is reserved/ })
})

t.test('refuses an egress url with plain http to a host that is not loopback: the token would travel in cleartext', async (t) => {
  const entry = (url: string): string => `egress:\n  - { name: x, url: "${url}", scopes: [skatt:a] }\n`
  t.match(problemsOf(entry('http://api.skatteetaten.no/v1')), [/^routes\.yaml:2: egress 1 \(x\), url: plain http to a host that is not loopback; use https:\/\/ \(the request carries a Maskinporten token\)/])
  t.equal(problemsOf(entry('http://10.0.0.7:8080')).length, 1, 'a private address is still a network')
  t.equal(problemsOf(entry('http://127.0.0.1.nip.io')).length, 1, 'a name that merely starts like loopback')
  for (const url of ['https://api.skatteetaten.no/v1', 'http://127.0.0.1:9000', 'http://127.8.9.10', 'http://localhost:9000/x', 'http://[::1]:9000']) {
    t.same(problemsOf(entry(url)), [], url)
  }
})
