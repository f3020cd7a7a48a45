import t from 'tap'
import { stringify } from 'yaml'
import { ConfigError } from '../src/config/errors.js'
import { parseRoutes } from '../src/config/routes.js'
import { RouteTableSchema } from '../src/config/route-schema.js'
import { knownKeysAt } from '../src/config/schema-keys.js'
import { closestName, didYouMean, editDistance } from '../src/config/suggest.js'

function problemsOf (document: unknown): readonly string[] {
  try {
    parseRoutes(stringify(document), 'routes.yaml')
    return []
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
}

// The slip people make most: two neighbouring letters swapped.
function swapped (key: string): string {
  const i = key[0] === key[1] ? 1 : 0
  return key.slice(0, i) + (key[i + 1] ?? '') + (key[i] ?? '') + key.slice(i + 2)
}

t.test('edit distance counts a swap of neighbours as one edit', async (t) => {
  t.equal(editDistance('scoeps', 'scopes'), 1)
  t.equal(editDistance('raed', 'read'), 1)
  t.equal(editDistance('publc', 'public'), 1)
  t.equal(editDistance('', 'abc'), 3)
  t.equal(editDistance('kitten', 'sitting'), 3)
  t.equal(editDistance('same', 'same'), 0)
})

t.test('a suggestion is a typo away, never another word: tight for short names, case alone always', async (t) => {
  t.equal(closestName('ulr', ['name', 'url', 'scopes']), 'url')
  t.equal(closestName('Scopes', ['path', 'scopes']), 'scopes', 'a case slip')
  t.equal(closestName('x', ['/', ':', '.']), undefined, 'under three characters only case counts')
  t.equal(closestName('nav:arbeid:x.read', ['nav:arbeid:x.write']), undefined, 'read is not write')
  t.equal(closestName('PORTVAKT_FORWARD_TOKN', ['PORTVAKT_PORT', 'PORTVAKT_FORWARD_TOKEN']), 'PORTVAKT_FORWARD_TOKEN')
  t.equal(closestName('path', ['path']), undefined, 'the word itself is no suggestion')
  t.equal(didYouMean('--manifset', ['--manifest', '--format']), '; did you mean --manifest?')
  t.equal(didYouMean('zzz', ['--manifest']), '')
})

// The keys come from the schema itself: a key any helper adds to it is covered here without an edit.
const PLACES: Array<{ where: string, path: Array<string | number>, base: Record<string, unknown>, wrap: (entry: Record<string, unknown>) => unknown }> = [
  { where: 'the file', path: [], base: { routes: [{ path: '/a', public: true }] }, wrap: (e) => e },
  { where: 'route 1', path: ['routes', 0], base: { path: '/a', scopes: ['nav:a:b'] }, wrap: (e) => ({ routes: [e] }) },
  { where: 'scopes, item 1', path: ['routes', 0, 'scopes', 0], base: { product: 'arbeid', name: 'x.read' }, wrap: (e) => ({ routes: [{ path: '/a', scopes: [e] }] }) },
  { where: 'scopes', path: ['routes', 0, 'scopes'], base: { anyOf: ['nav:a:b'] }, wrap: (e) => ({ routes: [{ path: '/a', scopes: e }] }) },
  { where: 'egress 1', path: ['egress', 0], base: { name: 'skatt', url: 'https://a.example', scopes: ['skatt:a'] }, wrap: (e) => ({ egress: [e] }) }
]

t.test('every key the route table\'s schema knows, at every level, gets "did you mean" when misspelt', async (t) => {
  for (const place of PLACES) {
    const keys = knownKeysAt(RouteTableSchema, place.path)
    t.ok(keys.length > 0, `${place.where} has keys`)
    for (const key of keys) {
      const typo = swapped(key)
      const entry: Record<string, unknown> = { ...place.base, [typo]: place.base[key] ?? 'x' }
      Reflect.deleteProperty(entry, key)
      const problems = problemsOf(place.wrap(entry))
      t.ok(problems.some((p) => p.includes(`unknown key "${typo}"; did you mean ${key}?`)), `${place.where}: ${typo} → ${key}`)
      t.notOk(problems.some((p) => p.includes(`${key}: required, and missing`)), `${place.where}: the misspelt ${key} is not also reported missing`)
    }
  }
})

t.test('an unknown key with no close match lists the keys that place takes', async (t) => {
  t.same(problemsOf({ routes: [{ path: '/a', public: true, colour: 'red' }] }), ['routes.yaml:4: route 1 (/a): unknown key "colour"; the keys here are path, methods, scopes, audience, consumers, public, delegation, suppliers, systemUser, systemUserOrgs, systems, altinn'])
})
