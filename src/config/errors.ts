/** A configuration problem list: every problem at once, each saying where and how to fix it. */
export class ConfigError extends Error {
  readonly problems: readonly string[]

  constructor (title: string, problems: readonly string[]) {
    super(`${title}:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}
