/**
 * Model upstreams that route without regard to letter case, each the way a real stack compares:
 * Express (path-to-regexp's `RegExp` with `i`, on the raw path), find-my-way with
 * caseSensitive: false (the real router: decoded, then toLowerCase), ASP.NET Core (decoded,
 * OrdinalIgnoreCase), Spring with a case-insensitive matcher (decoded, Java's equalsIgnoreCase),
 * a RegExp with `iu`, and toUpperCase and Turkish lower case as hand-written middleware might.
 * Each answers which route path it would serve a target from, given the table's paths.
 */
import FindMyWay from 'find-my-way'

/** The route path a model serves a target from; 'ambiguous' when two paths tie in its comparison. */
export type CaseChoice = string | 'ambiguous' | undefined

/** A model upstream: its name and its choice for a raw request target. */
export interface CaseRouter {
  name: string
  choose: (target: string) => CaseChoice
}

const escapeRegExp = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')
const single = (mapped: string, c: string): string => [...mapped].length === 1 ? mapped : c
const simpleUpper = (c: string): string => single(c.toUpperCase(), c)
const simpleLower = (c: string): string => c === '\u0130' ? 'i' : single(c.toLowerCase(), c)

function eachChar (a: string, b: string, same: (x: string, y: string) => boolean): boolean {
  const x = [...a]
  const y = [...b]
  return x.length === y.length && x.every((c, i) => c === y[i] || same(c, y[i] as string))
}

/** The path part of a target, raw. */
function rawPath (target: string): string {
  const cut = target.search(/[?#]/)
  return cut === -1 ? target : target.slice(0, cut)
}

/** The longest prefix of `path` (whole segments, `/api/` as `/api`) that `equal` finds among `paths`. */
function longestBy (paths: readonly string[], path: string, equal: (prefix: string, route: string) => boolean): CaseChoice {
  const segments = path.split('/').slice(1)
  for (let n = segments.length; n >= 0; n--) {
    const prefix = '/' + segments.slice(0, n).join('/')
    const hits = paths.filter((route) => equal(prefix, route))
    if (hits.length > 1) return 'ambiguous'
    if (hits.length === 1) return hits[0]
  }
  return undefined
}

function decodedModel (name: string, paths: readonly string[], equal: (prefix: string, route: string) => boolean): CaseRouter {
  return { name, choose: (target) => longestBy(paths, decodeURIComponent(rawPath(target)), equal) }
}

/** find-my-way, the router itself: every path registered as a prefix, case-insensitively. */
function findMyWay (paths: readonly string[]): CaseRouter {
  const router = FindMyWay({ caseSensitive: false })
  const tied = new Set<string>()
  for (const path of paths) {
    for (const pattern of path === '/' ? ['/', '/*'] : [path, `${path}/*`]) {
      try {
        router.on('GET', pattern, () => {}, { path })
      } catch {
        // Already declared: another path equal to this one once lower-cased.
        tied.add(path.toLowerCase())
      }
    }
  }
  return {
    name: 'find-my-way (caseSensitive: false)',
    choose: (target) => {
      const found = router.find('GET', rawPath(target))
      const path = (found?.store as { path?: string } | undefined)?.path
      return path !== undefined && tied.has(path.toLowerCase()) ? 'ambiguous' : path
    }
  }
}

/** Every model upstream, for a table with these route paths. */
export function caseRouters (paths: readonly string[]): CaseRouter[] {
  return [
    { name: 'Express (path-to-regexp, i, raw path)', choose: (target) => longestBy(paths, rawPath(target), (a, b) => new RegExp(`^${escapeRegExp(b)}$`, 'i').test(a)) },
    findMyWay(paths),
    decodedModel('ASP.NET Core (OrdinalIgnoreCase)', paths, (a, b) => eachChar(a, b, (x, y) => {
      const upper = (c: string): string => c === '\u0131' || c === '\u017f' ? c : simpleUpper(c)
      return upper(x) === upper(y)
    })),
    decodedModel('Spring, case-insensitive (equalsIgnoreCase)', paths, (a, b) => eachChar(a, b, (x, y) => simpleUpper(x) === simpleUpper(y) || simpleLower(simpleUpper(x)) === simpleLower(simpleUpper(y)))),
    decodedModel('RegExp iu', paths, (a, b) => new RegExp(`^${escapeRegExp(b)}$`, 'iu').test(a)),
    decodedModel('toUpperCase', paths, (a, b) => a.toUpperCase() === b.toUpperCase()),
    decodedModel('Turkish toLocaleLowerCase', paths, (a, b) => a.toLocaleLowerCase('tr') === b.toLocaleLowerCase('tr'))
  ]
}
