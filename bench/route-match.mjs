// The letter-case check's cost per request: matchRoute (exact walk, then the folded check) against
// the exact walk alone (the previous matchRoute), in paired rounds on the same paths and tables.
// Usage: npm run build && node bench/route-match.mjs [rounds]   (see bench/README.md, "Route matching")
import { parseRoutes } from '../dist/config/routes.js'
import { matchRoute } from '../dist/gate/match.js'
import { headOf, longestPrefix } from '../dist/gate/prefix.js'

const ROUTES = `routes:
  - { path: /api/v1/arbeidsforhold, methods: [GET], scopes: [nav:a:read] }
  - { path: /api/v1/arbeidsforhold, methods: [POST], scopes: [nav:a:write] }
  - { path: /api/v1/rapport, scopes: [nav:a:rapport] }
  - { path: /api, scopes: [nav:a:api] }
  - { path: /internal/isalive, public: true }
`
const lower = parseRoutes(ROUTES, 'lower.yaml')
const capital = parseRoutes(ROUTES + '  - { path: /api/v1/Skjema, scopes: [nav:a:skjema] }\n', 'capital.yaml')

// matchRoute without the folded check: the same exact walk, on the same head of the path.
function exactOnly (table, path, method) {
  const entry = longestPrefix(table.byPath, headOf(path, table.depth))
  if (entry === undefined) throw new Error('no route')
  return entry.byMethod.get(method)
}

const CASES = [
  ['lower-case ASCII path, lower-case table', lower, '/api/v1/arbeidsforhold/12345'],
  ['a capital past the deepest route (not folded)', lower, '/api/v1/arbeidsforhold/ABC-12345'],
  ['a capital within it (folded walk)', lower, '/api/Other/12345'],
  ['a non-ASCII path (folded walk)', lower, '/api/søknad/2024'],
  ['lower-case path, a table with a capital (folded walk)', capital, '/api/v1/arbeidsforhold/12345']
]
const rounds = Number(process.argv[2] ?? 21)
const calls = 200_000
let sink = 0

function timeNs (fn, table, path) {
  const start = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) sink += fn(table, path, 'GET').line
  return Number(process.hrtime.bigint() - start) / calls
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
process.stdout.write(`node ${process.version}, ${rounds} rounds of ${calls} calls each, order alternating per round\n`)
for (const [name, table, path] of CASES) {
  for (let i = 0; i < 3; i++) { timeNs(exactOnly, table, path); timeNs(matchRoute, table, path) } // warm up
  const exact = []
  const checked = []
  const added = []
  for (let r = 0; r < rounds; r++) {
    const [a, b] = r % 2 === 0 ? [timeNs(exactOnly, table, path), timeNs(matchRoute, table, path)] : [undefined, undefined]
    const [d, c] = r % 2 === 0 ? [b, a] : [timeNs(matchRoute, table, path), timeNs(exactOnly, table, path)]
    exact.push(c); checked.push(d); added.push(d - c)
  }
  process.stdout.write(`${name}: exact walk ${median(exact).toFixed(1)} ns, with the check ${median(checked).toFixed(1)} ns, added ${median(added).toFixed(1)} ns (median of paired rounds), ratio ${(median(checked) / median(exact)).toFixed(2)}\n`)
}
if (sink === 0) process.stdout.write('\n')
