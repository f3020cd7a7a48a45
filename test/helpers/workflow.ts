/** Reading GitHub workflow and action files, and running a step's shell script the way a runner would. */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'

/** One step of a job or of a composite action. */
export interface Step { name?: string, id?: string, uses?: string, run?: string, env?: Record<string, string>, with?: Record<string, string> }

interface Workflow { jobs: Record<string, { steps?: Step[] }> }
interface Action { runs: { using: string, steps: Step[] } }

/** The steps of `job` in a workflow file, or of the composite action when `job` is undefined. */
export function readSteps (file: string, job?: string): Step[] {
  const document = parse(readFileSync(file, 'utf8')) as Workflow & Action
  const steps = job === undefined ? document.runs.steps : document.jobs[job]?.steps
  if (steps === undefined) throw new Error(`${file}: no steps${job === undefined ? '' : ` in job ${job}`}`)
  return steps
}

/** The `run:` script of the step named `name`. */
export function readScript (file: string, job: string | undefined, name: string): string {
  const step = readSteps(file, job).find((s) => s.name === name)
  if (step?.run === undefined) throw new Error(`${file}: no step "${name}" with a run: script`)
  return step.run
}

/** What a script printed and how it ended. */
export interface ScriptResult { code: number | null, stdout: string, stderr: string }

/** Run `script` with bash as a runner's `shell: bash` does (bash -e), in `cwd`, with exactly `env`. */
export async function runScript (script: string, env: Record<string, string>, cwd: string): Promise<ScriptResult> {
  const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  return { code, stdout, stderr }
}
