/**
 * Letter case, as the most lenient router would read it. Express and ASP.NET Core route without
 * regard to case, and apps differ in how they fold it, so route paths are also indexed by one fold
 * that equates everything any of them equates; the gate refuses a path whose folded reading picks
 * another route than its exact spelling does (gate/letter-case.ts).
 */
import type { PathEntry } from './routes.js'

/**
 * Fold `text` so that two strings any common router takes for the same path fold alike: ASCII case
 * (Express's `RegExp` with `i`), .NET's OrdinalIgnoreCase (simple upper case), Java's
 * equalsIgnoreCase (upper, then lower: `ſ`~`s`, `ı`~`i`, Kelvin `K`~`k`, `İ`~`i`), JavaScript's
 * full toLowerCase/toUpperCase (find-my-way's caseSensitive: false; `ß`~`ss`) and RegExp `iu`
 * (simple case folding), in the root locale and in Turkish. Lower, upper, lower: each pass maps
 * both members of a case pair alike, so the result is the same from either end; `İ` lowers to `i`
 * plus U+0307 in full mapping and to `i` in simple mapping, so the dot is dropped after `i`.
 * test/case-fold.test.ts holds this to every code point. It is per character and never touches
 * `/`, so a folded path has the same segments as the path.
 */
export function foldCase (text: string): string {
  // ASCII folds to its lower case; one pass instead of three.
  if (!NON_ASCII.test(text)) return text.toLowerCase()
  return text.toLowerCase().toUpperCase().toLowerCase().replaceAll('i\u0307', 'i')
}

const NON_ASCII = /[^\x00-\x7f]/

// A character that may fold to something else: an ASCII capital, or anything beyond ASCII. A path
// without one folds to itself (lower-case ASCII is already folded).
const MAY_FOLD = /[A-Z\u0080-\uffff]/

/** Whether `text` could fold to something else than itself; false for lower-case ASCII. */
export function mayFold (text: string): boolean {
  return MAY_FOLD.test(text)
}

/** The path entries by folded path; entries that differ only by letter case share a key. */
export function indexByFold (entries: Iterable<PathEntry>): Map<string, readonly PathEntry[]> {
  const byFold = new Map<string, PathEntry[]>()
  for (const entry of entries) {
    const key = foldCase(entry.path)
    const list = byFold.get(key)
    if (list === undefined) byFold.set(key, [entry])
    else list.push(entry)
  }
  return byFold
}

/** A warning for each set of route paths that differ only by letter case, naming their lines. */
export function describeCaseCollisions (byFold: ReadonlyMap<string, readonly PathEntry[]>, file: string): string[] {
  return [...byFold.values()].filter((entries) => entries.length > 1).map(([first, ...others]) => {
    const where = [first?.path, ...others.map((e) => `${e.path} (line ${e.line})`)].join(' and ')
    return `${file}:${first?.line ?? 1}: ${where} differ only by letter case; an app that routes without regard to case (Express, ASP.NET Core) cannot tell them apart, so portvakt refuses requests under any of them (400): rename all but one`
  })
}
