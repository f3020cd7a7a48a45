/** The longest-prefix walk route matching is built on: whole segments, from the full path up to `/`. */

/** The value under the longest prefix of `path` (on whole segments; `/api/` counts as `/api`) that `map` has. */
export function longestPrefix<T> (map: ReadonlyMap<string, T>, path: string): T | undefined {
  let candidate = path
  for (;;) {
    const found = map.get(candidate)
    if (found !== undefined) return found
    if (candidate === '/') return undefined
    const cut = candidate.lastIndexOf('/')
    candidate = cut <= 0 ? '/' : candidate.slice(0, cut)
  }
}

/** `path` cut to its first `depth` segments (`/` for none): the part a route of that depth can match. */
export function headOf (path: string, depth: number): string {
  let at = 0
  for (let n = 0; n < depth; n++) {
    at = path.indexOf('/', at + 1)
    if (at === -1) return path
  }
  return depth === 0 ? '/' : path.slice(0, at)
}
