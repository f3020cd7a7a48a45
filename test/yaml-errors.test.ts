import t from 'tap'
import { ConfigError } from '../src/config/errors.js'
import { parseRoutes } from '../src/config/routes.js'

function problemsOf (text: string): readonly string[] {
  try {
    parseRoutes(text, 'routes.yaml')
    return []
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
}

t.test('a key indented one space off says which line, how far, and where its map\'s keys start', async (t) => {
  t.same(problemsOf('routes:\n  - path: /a\n   scopes: [a:b]\n'), ['routes.yaml:3: "scopes: [a:b]" is indented 3 spaces, but the keys of the map on line 2 ("- path: /a") start at 4: indent it 4 spaces'])
  t.same(problemsOf('routes:\n  - path: /a\n      scopes: [a:b]\n'), ['routes.yaml:3: "scopes: [a:b]" is indented 6 spaces, but the keys of the map on line 2 ("- path: /a") start at 4: indent it 4 spaces'])
})

t.test('a key under the "-" of a list item says to indent it to the item\'s keys or start a new item', async (t) => {
  t.same(problemsOf('routes:\n  - path: /a\n    scopes: [a:b]\n  - path: /b\n  scopes: [x:y]\n'), ['routes.yaml:5: "scopes: [x:y]" is indented 2 spaces, the column of the "-" on line 4 ("- path: /b"): indent it 4 spaces to add to that list item, or start a new item with "- "'])
})

t.test('a list item at the column of a map\'s keys says to line it up with its list', async (t) => {
  t.same(problemsOf('routes:\n- path: /a\n  scopes: [a:b]\n  - path: /b\n'), ['routes.yaml:4: "- path: /b" is indented 2 spaces, the column of the keys of the map on line 3 ("scopes: [a:b]"): a "-" there starts no list; line it up with its list\'s other items'])
})

t.test('tabs, open quotes, repeated keys, reserved characters, tags, documents: each in words, never the parser\'s', async (t) => {
  t.same(problemsOf('routes:\n\t- path: /a\n'), ['routes.yaml:2: this line is indented with a tab; YAML indents with spaces only'])
  t.same(problemsOf('routes:\n  - path: "/a\n    scopes: [a]\n'), ['routes.yaml:2: "- path: "/a" opens a quote it does not close; end the value with the same quote'])
  t.same(problemsOf('routes:\n  - path: /a\n    path: /b\n'), ['routes.yaml:3: the key "path" is given twice in one map; keep one'])
  t.match(problemsOf('routes:\n  - path: @a\n'), [/^routes\.yaml:2: a value on this line \("- path: @a"\) starts with a character YAML reserves .*; put the value in quotes$/])
  t.same(problemsOf('routes: !foo\n  - path: /a\n'), ['routes.yaml:1: an unknown tag (!…); a route table uses no tags, so remove it'])
  t.same(problemsOf('routes: []\n---\nroutes: []\n'), ['routes.yaml:2: the file holds more than one YAML document (---); keep one'])
})

t.test('an alias to no anchor, and an alias bomb, are told apart and named at the alias', async (t) => {
  t.same(problemsOf('routes:\n  - path: /a\n    scopes: *x\n'), ['routes.yaml:3: *x names no anchor &x above it; define the anchor first, or write the value out'])
  const bomb = 'a: &a [1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nroutes: *c\n'
  t.same(problemsOf(bomb), ['routes.yaml:2: *a expands to too many values (over 50); write them out'])
})

t.test('no parser text reaches the user, whatever the mistake', async (t) => {
  const parserWords = /Sequence item without|All mapping items|Implicit|Nested mappings|Map keys must be unique|Unresolved|Plain value|Missing closing|compact mappings|indicator/
  for (const text of ['routes:\n  - path: /a\n   scopes: [a:b]\n', 'routes:\n- path: /a\n  scopes: [a:b]\n  - path: /b\n', 'routes:\n  - path: /a\n    scopes: [a:b\n  - path: /c\n', 'routes:\n  - path /a\n    scopes: [a:b]\n', 'a: b: c\n', 'routes:\n  - { path: /a\n', '"\\q": 1\n']) {
    const problems = problemsOf(text)
    t.ok(problems.length > 0, JSON.stringify(text))
    for (const p of problems) t.notMatch(p, parserWords, p)
  }
})
