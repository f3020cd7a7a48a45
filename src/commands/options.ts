/**
 * Command-line options read with node:util's parseArgs in its token mode and checked here, so the
 * messages are ours: parseArgs' own ("Unknown option '--manifset'. To specify a positional argument
 * starting with a '-', place it at the end of the command after '--' …") would send a user with a
 * misspelt flag to the wrong fix. Unknown options get "did you mean".
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { didYouMean } from '../config/suggest.js'

type Options = NonNullable<ParseArgsConfig['options']>

/** What the arguments hold, or the first thing wrong with them. */
export type ReadOptions =
  | { ok: true, values: Record<string, string | string[] | boolean | undefined>, positionals: string[] }
  | { ok: false, problem: string }

function flagOf (name: string, options: Options): string {
  const short = options[name]?.short
  return short === undefined ? `--${name}` : `--${name} (-${short})`
}

/** Read `args` against `options`; unknown, repeated or value-less options are problems, named as typed. */
export function readOptions (args: readonly string[], options: Options, allowPositionals: boolean): ReadOptions {
  // strict: false so parseArgs never throws; every rule it would enforce is checked on the tokens.
  const { tokens } = parseArgs({ args: [...args], options, allowPositionals: true, strict: false, tokens: true })
  const values: Record<string, string | string[] | boolean | undefined> = {}
  const positionals: string[] = []
  const known = Object.keys(options).map((name) => `--${name}`)
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue
    if (token.kind === 'positional') {
      if (!allowPositionals) return { ok: false, problem: `unexpected argument "${token.value}"; this command takes options only` }
      positionals.push(token.value)
      continue
    }
    const spec = options[token.name]
    if (spec === undefined) {
      return { ok: false, problem: `unknown option ${token.rawName}${didYouMean(token.rawName, known)}` }
    }
    if (spec.type === 'boolean') {
      if (token.value !== undefined) return { ok: false, problem: `${flagOf(token.name, options)} takes no value (found "${token.value}")` }
      values[token.name] = true
      continue
    }
    // A string option followed by another option, or by nothing, lost its value.
    if (token.value === undefined || (token.inlineValue !== true && token.value.startsWith('-'))) {
      return { ok: false, problem: `${token.rawName} needs a value${token.value === undefined ? '' : ` (found the option ${token.value})`}; write ${token.rawName} <value>, or ${token.rawName}=<value> for one that starts with -` }
    }
    if (spec.multiple === true) {
      values[token.name] = [...(values[token.name] as string[] | undefined ?? []), token.value]
    } else if (values[token.name] !== undefined) {
      return { ok: false, problem: `${token.rawName} is given twice; give it once` }
    } else {
      values[token.name] = token.value
    }
  }
  return { ok: true, values, positionals }
}
