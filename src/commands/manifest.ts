/**
 * The scopes a NAIS manifest exposes (`spec.maskinporten.scopes.exposes`), expanded by the NAIS rule
 * and located by line, for `portvakt check --manifest`. A manifest file may hold several documents.
 */
import { readFile } from 'node:fs/promises'
import { isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml'
import { z } from 'zod'
import { ConfigError } from '../config/errors.js'
import { expandScope } from '../config/routes.js'

/** One exposed scope, as the platform will register it. */
export interface ExposedScope {
  scope: string
  enabled: boolean
  /** the orgnos granted access (spec.maskinporten.scopes.exposes[].consumers) */
  consumers: ReadonlySet<string>
  line: number
}

// Only what the cross-check reads; the rest (consumers, atMaxAge, ...) is NAIS's to validate.
const ExposeSchema = z.object({
  name: z.string().min(1),
  product: z.string().regex(/^[a-z0-9]+$/, 'product is lower-case letters and digits'),
  enabled: z.boolean().optional(),
  separator: z.enum(['/', ':', '.']).optional(),
  consumers: z.array(z.object({ orgno: z.string() })).optional()
})

function lineOf (doc: Document, counter: LineCounter, path: unknown[]): number {
  const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined
  return node?.range == null ? 1 : counter.linePos(node.range[0]).line
}

/** Read every exposed scope from `file`; throws ConfigError listing every problem with its line. */
export async function loadExposedScopes (file: string): Promise<ExposedScope[]> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read the manifest ${file}`, [String((err as Error).message)])
  }
  const counter = new LineCounter()
  const docs = parseAllDocuments(text, { lineCounter: counter, prettyErrors: false })
  const list = Array.isArray(docs) ? docs : [docs]
  const syntax = list.flatMap((d) => d.errors).map((e) => `${file}:${e.linePos?.[0].line ?? 1}: ${e.message.split('\n')[0] ?? ''}`)
  if (syntax.length > 0) throw new ConfigError(`${file} is not valid YAML`, syntax)
  const problems: string[] = []
  const exposed: ExposedScope[] = []
  let found = false
  const where = ['spec', 'maskinporten', 'scopes', 'exposes']
  for (const doc of list) {
    const node = doc.getIn(where, true)
    if (node === undefined || node === null) continue
    found = true
    if (!isSeq(node)) {
      problems.push(`${file}:${lineOf(doc, counter, where)}: spec.maskinporten.scopes.exposes must be a list`)
      continue
    }
    const values = node.toJSON() as unknown[]
    values.forEach((item, index) => {
      const line = lineOf(doc, counter, [...where, index])
      const parsed = ExposeSchema.safeParse(item)
      if (!parsed.success) {
        problems.push(...parsed.error.issues.map((i) => `${file}:${line}: spec.maskinporten.scopes.exposes.${[index, ...i.path].join('.')}: ${i.message}`))
        return
      }
      const consumers = new Set((parsed.data.consumers ?? []).map((c) => c.orgno))
      exposed.push({ scope: expandScope(parsed.data), enabled: parsed.data.enabled === true, consumers, line })
    })
  }
  if (!found) problems.push(`${file}: no spec.maskinporten.scopes.exposes; is this the NAIS manifest of the API portvakt guards?`)
  if (problems.length > 0) throw new ConfigError(`${file} has problems`, problems)
  return exposed
}
