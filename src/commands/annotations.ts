/**
 * `portvakt check --format github`: each problem as a GitHub Actions workflow command, so a run
 * shows it on the file and line it names, in the log and on the pull request's diff
 * (https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands#setting-an-error-message).
 */

/** How `check` reports its problems: `error: <file>:<line>: …` lines, or workflow commands. */
export type CheckFormat = 'text' | 'github'

/** The values `--format` takes. */
export const CHECK_FORMATS: readonly CheckFormat[] = ['text', 'github']

// The escaping @actions/core applies (https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts):
// a message must not end the command's line; a property must not hold the separators either.
function escapeData (text: string): string {
  return text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A')
}

function escapeProperty (text: string): string {
  return escapeData(text).replaceAll(':', '%3A').replaceAll(',', '%2C')
}

function command (level: 'error' | 'warning', properties: Record<string, string>, message: string): string {
  const props = Object.entries({ ...properties, title: 'portvakt check' }).map(([key, value]) => `${key}=${escapeProperty(value)}`)
  return `::${level} ${props.join(',')}::${escapeData(message)}\n`
}

/**
 * One problem as a workflow command. `files` are the paths check read, as given: a problem that
 * starts with `<file>:<line>: ` (or `<file>: `) for one of them is placed there, with the rest as
 * its message; anything else is an annotation on the run. Only those files' prefixes count, so a
 * message that names another file:line inside its text is never mistaken for a location.
 */
export function formatAnnotation (level: 'error' | 'warning', problem: string, files: readonly string[]): string {
  for (const file of files) {
    if (!problem.startsWith(`${file}:`)) continue
    // GitHub resolves the path against the repository root; `./x` names the same file as `x` there.
    const path = file.replace(/^(\.\/)+/, '')
    const rest = problem.slice(file.length + 1)
    const located = /^(\d+): ([\s\S]*)$/.exec(rest)
    if (located !== null) return command(level, { file: path, line: located[1] as string }, located[2] as string)
    if (rest.startsWith(' ')) return command(level, { file: path }, rest.slice(1))
  }
  return command(level, {}, problem)
}
