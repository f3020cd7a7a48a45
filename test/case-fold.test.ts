/**
 * The fold is at least as loose as every router's case rule, for every code point: whatever two
 * characters some router takes for one, foldCase takes for one too. Then an exact match and a
 * folded match that agree on a route leave no router that picks another (gate/letter-case.ts).
 */
import t from 'tap'
import { foldCase, mayFold } from '../src/config/case-fold.js'

// Every character that case mapping or folding changes; all others map to themselves everywhere.
const CASED: string[] = []
for (let cp = 0; cp <= 0x10ffff; cp++) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue
  const c = String.fromCodePoint(cp)
  if (/\p{CWCM}|\p{CWCF}/u.test(c)) CASED.push(c)
}

// One code point in, one out: the simple mappings Java's Character and .NET's ordinal casing use.
const single = (mapped: string, c: string): string => [...mapped].length === 1 ? mapped : c
const simpleLower = (c: string): string => c === '\u0130' ? 'i' : single(c.toLowerCase(), c)
const simpleUpper = (c: string): string => single(c.toUpperCase(), c)
// .NET OrdinalIgnoreCase: simple upper case, except that ı and ſ keep their case
// (https://github.com/dotnet/runtime/blob/main/src/native/libs/System.Globalization.Native/pal_casing.c).
const dotnetUpper = (c: string): string => c === '\u0131' || c === '\u017f' ? c : simpleUpper(c)

t.test('every case mapping of every cased character folds like the character itself', async (t) => {
  t.ok(CASED.length > 2000, `${CASED.length} cased characters`)
  const mappings: Record<string, (c: string) => string> = {
    'full lower (JavaScript, find-my-way)': (c) => c.toLowerCase(),
    'full upper': (c) => c.toUpperCase(),
    'Turkish lower': (c) => c.toLocaleLowerCase('tr'),
    'Turkish upper': (c) => c.toLocaleUpperCase('tr'),
    'simple lower': simpleLower,
    'simple upper': simpleUpper,
    'Java equalsIgnoreCase (upper, then lower)': (c) => simpleLower(simpleUpper(c)),
    '.NET OrdinalIgnoreCase': dotnetUpper
  }
  const wrong: string[] = []
  for (const c of CASED) {
    for (const [name, map] of Object.entries(mappings)) {
      if (foldCase(map(c)) !== foldCase(c)) wrong.push(`${name}: U+${c.codePointAt(0)?.toString(16)}`)
    }
  }
  t.same(wrong, [], 'no mapping separates what the fold joins')
})

t.test('two characters a case-insensitive RegExp matches, with u or without, fold alike', async (t) => {
  const escape = (c: string): string => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')
  // Every cased character on its own line: one scan per character finds all it matches.
  const all = CASED.join('\n')
  const wrong: string[] = []
  let pairs = 0
  for (const c of CASED) {
    const matched = [...all.matchAll(new RegExp(escape(c), 'giu'))].map((m) => m[0])
    if (c.length === 1) matched.push(...[...all.matchAll(new RegExp(escape(c), 'gi'))].map((m) => m[0]))
    for (const d of matched) {
      pairs++
      if (foldCase(d) !== foldCase(c)) wrong.push(`${c} ~ ${d}`)
    }
  }
  t.ok(pairs > CASED.length * 2, `${pairs} matching pairs`)
  t.same(wrong, [])
})

t.test('the attack spellings fold to their ASCII letters', async (t) => {
  t.equal(foldCase('/api/ADMIN'), '/api/admin')
  t.equal(foldCase('\u017fikker'), 'sikker', 'ſ (upper case S)')
  t.equal(foldCase('adm\u0131n'), 'admin', 'ı (upper case I)')
  t.equal(foldCase('adm\u0130n'), 'admin', 'İ (simple lower case i)')
  t.equal(foldCase('admi\u0307n'), 'admin', 'i and a combining dot (full lower case of İ)')
  t.equal(foldCase('\u212aontakt'), 'kontakt', 'the Kelvin sign (lower case k)')
  t.equal(foldCase('stra\u00dfe'), foldCase('STRASSE'), 'ß (upper case SS)')
})

t.test('a folded path keeps its segments, so prefixes fold to prefixes', async (t) => {
  const samples = ['/a/ΣΑ/x', '/ς/Σ', '/İ/ı/ß', '/ǅ/ſ', '/\u212a/K', ...CASED.slice(0, 500).map((c) => `/x${c}/${c}y`)]
  const split = samples.filter((path) => foldCase(path).split('/').join('\n') !== path.split('/').map(foldCase).join('\n'))
  t.same(split, [])
})

t.test('mayFold is false only for text that folds to itself', async (t) => {
  for (const text of ['/api/v1/items', '/a-b_c.d~e/0123', '/%zz']) t.equal(mayFold(text) || foldCase(text) !== text, false, text)
  for (const text of ['/API', '/\u017f', '/æ']) t.equal(mayFold(text), true, text)
})
