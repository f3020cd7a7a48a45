/** Parse YAML keeping positions, so every config problem can name its line. */
import { isMap, isPair, isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml'
import { describeYamlError } from './yaml-errors.js'

/** A parsed YAML file that can answer "which line is this path on?". */
export interface LocatedYaml {
  value: unknown
  /** problems the YAML parser itself found, each with its line */
  syntaxProblems: string[]
  /** the 1-based line of the node at `path` (or of `key` inside it), or of its nearest ancestor */
  lineOf: (path: readonly PropertyKey[], key?: string) => number
  /** the scalar at `path`: its value as YAML read it and its text as written; undefined if not a scalar */
  scalarAt: (path: readonly PropertyKey[]) => { value: unknown, source: string } | undefined
}

/** Parse `text` (named `file` in messages) into a value plus a line locator. */
export function parseLocatedYaml (text: string, file: string): LocatedYaml {
  const lineCounter = new LineCounter()
  const doc: Document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false })
  const lines = text.split(/\r?\n/)
  // One mistake often trips several errors; each sentence is said once, at the first line it came up.
  const said = new Set<string>()
  const syntaxProblems: string[] = []
  for (const e of [...doc.errors, ...doc.warnings]) {
    const line = e.linePos?.[0].line ?? lineCounter.linePos(e.pos[0]).line
    const problem = describeYamlError(e.code, line, lines)
    if (!said.has(problem.text)) syntaxProblems.push(`${file}:${problem.line}: ${problem.text}`)
    said.add(problem.text)
  }
  const lineOf = (path: readonly PropertyKey[], key?: string): number => {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as unknown[], true)
      if (node === undefined || node === null) continue
      if (key !== undefined && n === path.length && isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key)
        const range = pair !== undefined && isScalar(pair.key) ? pair.key.range : undefined
        if (range != null) return lineCounter.linePos(range[0]).line
      }
      const range = (node as { range?: [number, number, number] }).range
      if (range != null) return lineCounter.linePos(range[0]).line
    }
    return 1
  }
  const scalarAt = (path: readonly PropertyKey[]): { value: unknown, source: string } | undefined => {
    const node: unknown = doc.getIn(path as unknown[], true)
    if (!isScalar(node) || node.range == null) return undefined
    // As written, quotes included: a quoted "true" must read as what it is in the message.
    return { value: node.value, source: text.slice(node.range[0], node.range[1]) }
  }
  let value: unknown
  if (syntaxProblems.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 50 })
    } catch {
      // toJS throws (not reports, and with no code) for an alias to no anchor or an alias bomb: tell
      // them apart by looking, and name the alias's line.
      let found: { line: number, text: string } | undefined
      visit(doc, {
        Alias (_key, node) {
          const line = node.range == null ? 1 : lineCounter.linePos(node.range[0]).line
          found ??= { line, text: `*${node.source} expands to too many values (over 50); write them out` }
          if (node.resolve(doc) !== undefined) return undefined
          found = { line, text: `*${node.source} names no anchor &${node.source} above it; define the anchor first, or write the value out` }
          return visit.BREAK
        }
      })
      syntaxProblems.push(`${file}:${found?.line ?? 1}: ${found?.text ?? 'the document cannot be read as data; check its anchors (&) and aliases (*)'}`)
    }
  }
  return { value, syntaxProblems, lineOf, scalarAt }
}
