/**
 * The YAML parser's errors in words a user can act on, translated by `code` (never by message,
 * STYLE §8): "Sequence item without - indicator" becomes which line is indented how far, and where
 * its map's keys start. The lines themselves are read to say it, since the parser's position is
 * often the line before or after the one to change.
 */
import type { ErrorCode } from 'yaml'

const indentOf = (text: string): number => /^ */.exec(text)?.[0].length ?? 0
// Where a line's keys start: after the "- " of a list item, else at its indent.
const keyColumn = (text: string): number => /^ *(?:- +)*/.exec(text)?.[0].length ?? 0
const isItem = (text: string): boolean => /^ *-( |$)/.test(text)
const opensBlock = (text: string): boolean => /:\s*(#.*)?$/.test(text) || /^ *-\s*$/.test(text)
const isContent = (text: string | undefined): text is string => text !== undefined && text.trim() !== '' && !text.trim().startsWith('#')

function previousContent (lines: readonly string[], index: number): number | undefined {
  for (let i = index - 1; i >= 0; i--) if (isContent(lines[i])) return i
  return undefined
}

/** A sentence about one line (1-based). */
export interface YamlProblem {
  line: number
  text: string
}

/** What is wrong with the indentation of line `index` (0-based) against the line before it, or undefined if it fits. */
function describeMisfit (lines: readonly string[], index: number): YamlProblem | undefined {
  const text = lines[index]
  const p = previousContent(lines, index)
  if (!isContent(text) || p === undefined) return undefined
  const prev = lines[p] as string
  const [n, base, keys] = [indentOf(text), indentOf(prev), keyColumn(prev)]
  const here = `"${text.trim()}" is indented ${n} space${n === 1 ? '' : 's'}`
  const above = `line ${p + 1} ("${prev.trim()}")`
  const at = (sentence: string): YamlProblem => ({ line: index + 1, text: sentence })
  if (/^ *\t/.test(text)) return at('this line is indented with a tab; YAML indents with spaces only')
  if (n > base && opensBlock(prev)) return undefined
  if (n > base && n !== keys) return at(`${here}, but the keys of the map on ${above} start at ${keys}: indent it ${keys} spaces`)
  if (n === base && isItem(prev) && !isItem(text)) return at(`${here}, the column of the "-" on ${above}: indent it ${keys} spaces to add to that list item, or start a new item with "- "`)
  if (n === base && isItem(text) && !isItem(prev)) return at(`${here}, the column of the keys of the map on ${above}: a "-" there starts no list; line it up with its list's other items`)
  return undefined
}

// Codes that mean "the lines do not nest as written": the indentation is the first thing to look at.
const INDENTATION: ReadonlySet<ErrorCode> = new Set(['BAD_INDENT', 'MISSING_CHAR', 'BLOCK_AS_IMPLICIT_KEY', 'MULTILINE_IMPLICIT_KEY', 'TAB_AS_INDENT', 'UNEXPECTED_TOKEN'])

// A quote that starts a value (after "key:", "- ", "[" or ",") and is left open once the closed ones are taken out.
function hasOpenQuote (text: string): boolean {
  const rest = text.replace(/"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'/g, '').replace(/(^|\s)#.*$/, '')
  return /(?:^|[:,[{-])\s*["']/.test(rest)
}

function describeOpenQuote (lines: readonly string[], index: number): YamlProblem | undefined {
  for (let i = index; i >= 0 && i >= index - 20; i--) {
    const text = lines[i]
    if (text !== undefined && hasOpenQuote(text)) return { line: i + 1, text: `"${text.trim()}" opens a quote it does not close; end the value with the same quote` }
  }
  return undefined
}

function describeIndentation (lines: readonly string[], index: number): YamlProblem | undefined {
  return describeOpenQuote(lines, index) ?? describeMisfit(lines, index) ?? describeMisfit(lines, index + 1)
}

const TEXTS: Partial<Record<ErrorCode, (line: string) => string>> = {
  DUPLICATE_KEY: (line) => `the key "${line.trim().replace(/^- +/, '').split(':')[0] ?? ''}" is given twice in one map; keep one`,
  BAD_SCALAR_START: (line) => `a value on this line ("${line.trim()}") starts with a character YAML reserves (@ \` | > % ! & * …); put the value in quotes`,
  TAG_RESOLVE_FAILED: () => 'an unknown tag (!…); a route table uses no tags, so remove it',
  MULTIPLE_DOCS: () => 'the file holds more than one YAML document (---); keep one',
  BAD_DQ_ESCAPE: () => 'a "\\" escape in a double-quoted value is not one YAML knows; use single quotes to keep backslashes as they are',
  BLOCK_IN_FLOW: () => 'a [ … ] or { … } is still open where "- " or "key:" lines start; close it on this line',
  BAD_ALIAS: () => 'an alias (*name) that is not valid here; write the value out',
  MULTIPLE_ANCHORS: () => 'two anchors (&name) on one value; keep one',
  MULTIPLE_TAGS: () => 'two tags (!…) on one value; remove them',
  NON_STRING_KEY: () => 'a key that is not text; keys in a route table are words like path or scopes',
  KEY_OVER_1024_CHARS: () => 'a key longer than 1024 characters; is a ":" missing?'
}

/**
 * One YAML parse error reported at `line` (1-based) of `lines`, as a sentence saying what to change,
 * at the line to change (which may be the one before or after).
 */
export function describeYamlError (code: ErrorCode, line: number, lines: readonly string[]): YamlProblem {
  const text = lines[line - 1] ?? ''
  const found = INDENTATION.has(code) ? describeIndentation(lines, line - 1) : undefined
  return found ?? { line, text: TEXTS[code]?.(text) ?? `YAML cannot read ${text.trim() === '' ? 'this line' : `"${text.trim()}"`}: check its indentation (spaces; the keys of one map in one column) and its quotes` }
}
