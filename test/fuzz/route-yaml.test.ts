/**
 * Fuzz: the route YAML loader. Any text, any YAML value, any mutation of a valid table:
 * parseRoutes returns a table or throws a ConfigError whose every problem names the file and a
 * line; never a crash. A table it accepts never has a route that is open without saying so.
 */
import fc from 'fast-check'
import t from 'tap'
import { stringify } from 'yaml'
import { ConfigError } from '../../src/config/errors.js'
import { parseRoutes } from '../../src/config/routes.js'
import { TEST_ROUTES } from '../helpers/build.js'
import { fuzzRuns } from '../helpers/fuzz.js'

const FILE = 'routes.yaml'

// How each check came out, so a test can assert that the fuzzer reached both answers.
const outcomes = { tables: 0, problems: 0 }

function check (text: string): void {
  try {
    const table = parseRoutes(text, FILE)
    for (const route of table.routes) {
      if (!route.public && (route.scopes === undefined || route.scopes.list.length === 0)) throw new Error(`route ${route.id} is open without public: true`)
    }
    outcomes.tables++
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    if (err.problems.length === 0) throw new Error('a ConfigError without problems')
    for (const problem of err.problems) {
      if (!problem.startsWith(`${FILE}:`) && !problem.includes(FILE)) throw new Error(`a problem that names no file: ${problem}`)
    }
    outcomes.problems++
  }
}

/** How many tables and refusals `run` produced. */
function counted (run: () => void): { tables: number, problems: number } {
  const before = { ...outcomes }
  run()
  return { tables: outcomes.tables - before.tables, problems: outcomes.problems - before.problems }
}

const lines = TEST_ROUTES.split('\n')
const mutation = fc.tuple(fc.nat({ max: lines.length - 1 }), fc.oneof(
  fc.constant(''), fc.string({ maxLength: 12 }),
  fc.constantFrom('  - path: /x', '    public: yes', '    scopes: []', '    scopes: [a]', '    methods: [get]', '    public: true', '      - x', '&a [1]', '*a', '<<: *a', '!!binary x', '? [a]', '  audience: http://', '    consumers: [123456789]', '    path: /api/../x', '"\\u0000"', '\t- path: /y')
), fc.constantFrom('replace', 'insert', 'append'))

t.test('any text: a table or a ConfigError, never a crash', async (t) => {
  const { tables, problems } = counted(() => { fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), check), { numRuns: fuzzRuns(1000) }) })
  t.equal(tables + problems, fuzzRuns(1000), 'every text came out as a table or as problems')
  t.ok(problems > 0, `${problems} refused with problems`)
})

t.test('any YAML value: a table or a ConfigError', async (t) => {
  const { tables, problems } = counted(() => fc.assert(fc.property(fc.anything({ maxDepth: 4 }), (value) => {
    let text: string | undefined
    try {
      text = stringify(value) as string | undefined
    } catch {
      return // not every JS value has a YAML form; that is the generator's problem, not ours
    }
    if (typeof text === 'string') check(text)
    check(stringify({ routes: [value] }))
    check(stringify({ routes: [{ path: '/x', scopes: value }] }))
  }), { numRuns: fuzzRuns(300) }))
  t.ok(tables + problems >= 2 * fuzzRuns(300), 'at least two documents checked per value')
  t.ok(problems > 0, `${problems} refused with problems`)
})

t.test('mutations of a valid table: a table or a ConfigError with lines', async (t) => {
  const { tables, problems } = counted(() => fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (edits) => {
    const copy = [...lines]
    for (const [at, text, how] of edits) {
      if (how === 'replace') copy[at] = text
      else if (how === 'insert') copy.splice(at, 0, text)
      else copy[at] = (copy[at] ?? '') + text
    }
    check(copy.join('\n'))
  }), { numRuns: fuzzRuns(600) }))
  // Both answers: some edits leave a valid table, others break it.
  t.ok(tables > 0, `${tables} still tables`)
  t.ok(problems > 0, `${problems} refused with problems`)
})

t.test('found by this fuzzer: an alias to no anchor, or an alias bomb, is a ConfigError with its line', async (t) => {
  t.throws(() => parseRoutes('\n<<: *a\nroutes:\n  - path: /x\n    public: true\n', FILE), { name: 'ConfigError', message: /routes\.yaml:2: \*a names no anchor &a above it/ })
  t.throws(() => parseRoutes('\n<<: *a\nroutes:\n  - path: /x\n    public: true\n', FILE), { message: /^(?![\s\S]*Unresolved)/ }, 'never the parser\'s own words')
  const bomb = ['a: &a [x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b]', 'routes: [*c, *c, *c, *c, *c, *c, *c, *c]'].join('\n')
  t.throws(() => parseRoutes(bomb, FILE), ConfigError)
})
