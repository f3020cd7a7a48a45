/**
 * "Did you mean …?" for every name a user types: route-table keys, PORTVAKT_* variables, command-line
 * flags, scopes. Distance is optimal string alignment (Damerau-Levenshtein without repeated edits of
 * one substring): a swap of two neighbouring letters (`scoeps`, `raed`, `ulr`) is one slip, not two,
 * which lets the threshold stay tight enough that short names are not matched with unrelated ones.
 */

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`. */
export function editDistance (a: string, b: string): number {
  // rows[i][j]: the distance between a's first i and b's first j characters.
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => i === 0 ? j : j === 0 ? i : 0))
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Infinity
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const same = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + same)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1)
      ;(rows[i] as number[])[j] = best
    }
  }
  return at(a.length, b.length)
}

/**
 * The known name `word` most likely stands for, or undefined when none is close: a match that
 * differs only in case first, else the nearest within no edit (under three characters: too short to
 * tell a slip from another word), one (under five), two (under
 * fifteen) or three: typos, not other words (`x.read` is five edits from `x.write`, never offered for
 * it); on a tie, the first in `known`'s order.
 */
export function closestName (word: string, known: Iterable<string>): string | undefined {
  const names = [...known].filter((name) => name !== word)
  const folded = names.find((name) => name.toLowerCase() === word.toLowerCase())
  if (folded !== undefined) return folded
  const limit = word.length < 3 ? 0 : word.length < 5 ? 1 : word.length < 15 ? 2 : 3
  let best: { name: string, distance: number } | undefined
  for (const name of names) {
    const distance = editDistance(word.toLowerCase(), name.toLowerCase())
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { name, distance }
  }
  return best?.name
}

/** `; did you mean <name>?` for the closest known name, or '' when none is close. */
export function didYouMean (word: string, known: Iterable<string>, show: (name: string) => string = (name) => name): string {
  const name = closestName(word, known)
  return name === undefined ? '' : `; did you mean ${show(name)}?`
}
