/**
 * The Maskinporten scopes a NAIS manifest exposes (`spec.maskinporten.scopes.exposes`, expanded by
 * the NAIS rule) and consumes (`spec.maskinporten.scopes.consumes`, written whole), located by line,
 * for `portvakt check --manifest`. A manifest file may hold several documents.
 */
import { readFile } from 'node:fs/promises'
import { isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml'
import { z } from 'zod'
import { ConfigError } from '../config/errors.js'
import { describeFileError, UnreadableFileError } from '../config/file-error.js'
import { issueText } from '../config/issue-text.js'
import { expandScope } from '../config/routes.js'
import { describePlace } from '../config/schema-issues.js'

/** One exposed scope, as the platform will register it. */
export interface ExposedScope {
  scope: string
  enabled: boolean
  /** the orgnos granted access (spec.maskinporten.scopes.exposes[].consumers) */
  consumers: ReadonlySet<string>
  /** where delegations of it come from (`delegationSource`, e.g. altinn); undefined: it cannot be delegated */
  delegationSource: string | undefined
  line: number
}

/** One consumed scope: the token endpoint hands out tokens for these only. */
export interface ConsumedScope {
  scope: string
  line: number
}

/** What the manifest says; a list is undefined when the manifest has no such section at all. */
export interface ManifestScopes {
  exposed: ExposedScope[] | undefined
  consumed: ConsumedScope[] | undefined
}

// Only what the cross-check reads; the rest (consumers, atMaxAge, ...) is NAIS's to validate.
const ExposeSchema = z.object({
  name: z.string().min(1),
  product: z.string().regex(/^[a-z0-9]+$/, 'product is lower-case letters and digits'),
  enabled: z.boolean().optional(),
  separator: z.enum(['/', ':', '.']).optional(),
  consumers: z.array(z.object({ orgno: z.string() })).optional(),
  delegationSource: z.string().optional()
})

// The NAIS docs ("Consume external API using Maskinporten"): `- name: "skatt:some.scope"`, the scope whole.
const ConsumeSchema = z.object({ name: z.string().min(1, 'the scope, written whole, e.g. skatt:some.scope') })

function lineOf (doc: Document, counter: LineCounter, path: unknown[]): number {
  const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined
  return node?.range == null ? 1 : counter.linePos(node.range[0]).line
}

// Every entry of the list at spec.maskinporten.scopes.<key> across the documents, parsed by `schema`
// and made into a T; undefined when no document has the list.
function readScopeList<S, T> (docs: readonly Document[], counter: LineCounter, file: string, key: string, schema: z.ZodType<S>, make: (entry: S, line: number) => T, problems: string[]): T[] | undefined {
  const where = ['spec', 'maskinporten', 'scopes', key]
  let found: T[] | undefined
  for (const doc of docs) {
    const node = doc.getIn(where, true)
    if (node === undefined || node === null) continue
    found ??= []
    if (!isSeq(node)) {
      problems.push(`${file}:${lineOf(doc, counter, where)}: ${where.join('.')} must be a list`)
      continue
    }
    const values = node.toJSON() as unknown[]
    values.forEach((item, index) => {
      const line = lineOf(doc, counter, [...where, index])
      const parsed = schema.safeParse(item, { error: issueText })
      if (parsed.success) found?.push(make(parsed.data, line))
      else problems.push(...parsed.error.issues.map((i) => `${file}:${line}: ${where.join('.')}, ${describePlace([index, ...i.path], item)}: ${i.message}`))
    })
  }
  return found
}

/** Read the exposed and consumed scopes from `file`; throws ConfigError listing every problem with its line. */
export async function loadManifestScopes (file: string): Promise<ManifestScopes> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new UnreadableFileError(`cannot read the manifest ${file}`, [`${file}: ${describeFileError(err)} (the --manifest file); check the path`])
  }
  const counter = new LineCounter()
  const docs = parseAllDocuments(text, { lineCounter: counter, prettyErrors: false })
  const list = Array.isArray(docs) ? docs : [docs]
  const syntax = list.flatMap((d) => d.errors).map((e) => `${file}:${e.linePos?.[0].line ?? 1}: ${e.message.split('\n')[0] ?? ''}`)
  if (syntax.length > 0) throw new ConfigError(`${file} is not valid YAML`, syntax)
  const problems: string[] = []
  const exposed = readScopeList(list, counter, file, 'exposes', ExposeSchema, (entry, line) => ({
    scope: expandScope(entry),
    enabled: entry.enabled === true,
    consumers: new Set((entry.consumers ?? []).map((c) => c.orgno)),
    delegationSource: entry.delegationSource,
    line
  }), problems)
  const consumed = readScopeList(list, counter, file, 'consumes', ConsumeSchema, (entry, line) => ({ scope: entry.name, line }), problems)
  if (problems.length > 0) throw new ConfigError(`${file} has problems`, problems)
  return { exposed, consumed }
}
