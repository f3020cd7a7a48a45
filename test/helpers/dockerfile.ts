/** A small Dockerfile reader for tests: stages and their instructions (no Docker engine runs here). */

/** One instruction, continuation lines joined. */
export interface Instruction {
  keyword: string
  args: string
  line: number
}

/** One `FROM` and what follows it. */
export interface Stage {
  image: string
  name: string | undefined
  instructions: Instruction[]
}

/** Split a Dockerfile into stages; comments and blank lines are dropped. */
export function parseDockerfile (text: string): Stage[] {
  const stages: Stage[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1
    let line = lines[i] ?? ''
    if (/^\s*(#|$)/.test(line)) continue
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + (lines[++i] ?? '').trim()
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line)
    if (match === null) throw new Error(`Dockerfile line ${start}: cannot read "${line}"`)
    const keyword = (match[1] as string).toUpperCase()
    const args = (match[2] as string).trim()
    if (keyword === 'FROM') {
      const [image = '', as, name] = args.split(/\s+/)
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] })
    } else {
      const stage = stages.at(-1)
      if (stage === undefined) throw new Error(`Dockerfile line ${start}: ${keyword} before FROM`)
      stage.instructions.push({ keyword, args, line: start })
    }
  }
  return stages
}

/** A COPY's flags, sources and destination. */
export function readCopy (args: string): { from: string | undefined, sources: string[], destination: string } {
  const words = args.split(/\s+/)
  const flags = words.filter((w) => w.startsWith('--'))
  const paths = words.filter((w) => !w.startsWith('--'))
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length)
  return { from, sources: paths.slice(0, -1), destination: paths.at(-1) ?? '' }
}
