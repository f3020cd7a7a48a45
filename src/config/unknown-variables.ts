/**
 * PORTVAKT_* variables that no setting reads: most often a misspelt one, whose intended setting then
 * silently keeps its default. Named at start (a warning, not a refusal: an old pod spec with a
 * removed setting should still start), each with the known name it most likely stands for.
 */
import { closestName } from './suggest.js'

/** A variable nothing reads, and the known one it most likely stands for. */
export interface UnknownVariable {
  variable: string
  didYouMean: string | undefined
}

/** The PORTVAKT_* variables in `env` not in `known` (every schema's names, given by the caller). */
export function findUnknownVariables (env: Record<string, string | undefined>, known: readonly string[]): UnknownVariable[] {
  const names = new Set(known)
  return Object.keys(env)
    .filter((name) => name.startsWith('PORTVAKT_') && !names.has(name))
    .sort()
    .map((variable) => ({ variable, didYouMean: closestName(variable, known.filter((k) => k.startsWith('PORTVAKT_'))) }))
}

/** The warning line's text: each unknown variable, with its suggestion. */
export function describeUnknownVariables (unknown: readonly UnknownVariable[]): string {
  const each = unknown.map((u) => u.didYouMean === undefined ? u.variable : `${u.variable} (did you mean ${u.didYouMean}?)`)
  return `portvakt reads no variable named ${each.join(', ')}; ${unknown.length === 1 ? 'it is' : 'they are'} ignored (the README's settings table lists those it reads)`
}
