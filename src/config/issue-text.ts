/**
 * zod's issues in our words, translated by `code` (never by message, STYLE §8): the per-parse error
 * map every schema of ours is parsed with, so zod's own texts ("Invalid input: expected object,
 * received array", `expected one of "a"|"b"`) never reach a user. It is consulted only where a
 * schema gives no message of its own. Each text says what was found and what to write, without the
 * key: the caller puts the place (a variable, `route 3 (/api), methods`) in front.
 */
import type { z } from 'zod'
import { didYouMean } from './suggest.js'

// What a value is called, in the words of a YAML file or an env variable.
const KINDS: Readonly<Record<string, string>> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a map (key: value lines)',
  array: 'a list ("- item" lines, or [a, b])'
}

/** How a value YAML (or the environment) produced is named in a message. */
export function describeValue (value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'an empty value'
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list'
  if (typeof value === 'object') return 'a map'
  if (typeof value === 'string') return `the text "${value}"`
  return `${typeof value === 'number' ? 'the number ' : ''}${String(value)}`
}

type RawIssue = z.core.$ZodRawIssue

function describeType (issue: RawIssue & { expected?: string }): string {
  if (issue.input === undefined) return 'required, and missing'
  const expected = KINDS[issue.expected ?? ''] ?? String(issue.expected)
  // A list where an entry's map was meant is most often one "-" too many.
  const hint = issue.expected === 'object' && Array.isArray(issue.input) ? ' (one "-" too many?)' : ''
  return `expected ${expected}, found ${describeValue(issue.input)}${hint}`
}

function describeOneOf (issue: RawIssue & { values?: readonly unknown[] }): string {
  const values = (issue.values ?? []).map(String)
  const found = typeof issue.input === 'string' ? `"${issue.input}" is not` : `${describeValue(issue.input)} is not`
  const suggestion = typeof issue.input === 'string' ? didYouMean(issue.input, values) : ''
  return `${found} one of ${values.join(', ')}${suggestion}`
}

function describeSize (issue: RawIssue & { origin?: string, minimum?: unknown, maximum?: unknown }, small: boolean): string {
  const bound = String(small ? issue.minimum : issue.maximum)
  if (issue.origin === 'array') return small ? `${describeValue(issue.input)}; list at least ${bound === '1' ? 'one' : bound}, or leave the key out` : `list at most ${bound}`
  if (issue.origin === 'string') return small ? (bound === '1' ? 'must not be empty' : `at least ${bound} characters`) : `at most ${bound} characters`
  return `${describeValue(issue.input)} is ${small ? 'below' : 'above'} ${bound}, the ${small ? 'least' : 'most'} allowed`
}

/** The message for a zod issue our schema gave none for. */
export const issueText: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type': return describeType(issue)
    case 'invalid_value': return describeOneOf(issue)
    case 'too_small': return describeSize(issue, true)
    case 'too_big': return describeSize(issue, false)
    case 'unrecognized_keys': return `unknown key${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
    case 'invalid_format': return `${describeValue(issue.input)} is not ${issue.format === 'url' ? 'a URL' : 'in the form this value takes'}`
    case 'invalid_union': return `${describeValue(issue.input)} fits none of the forms this value takes`
    case 'not_multiple_of': return `${describeValue(issue.input)} is not a multiple of ${String(issue.divisor)}`
    default: return `${describeValue(issue.input)} is not valid here`
  }
}
