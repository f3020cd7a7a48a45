/**
 * The GitHub workflows and action.yml cannot run here, so they are validated against the schemas
 * @action-validator/cli ships (SchemaStore's github-workflow and github-action), offline, on the
 * Node this suite runs on; and held to the house rules: actions pinned by commit SHA, CI runs
 * exactly .ci/run.
 */
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parseDocument, YAMLMap } from 'yaml'
import { readSteps } from './helpers/workflow.js'

const ROOT = process.cwd()
const VALIDATOR = join(ROOT, 'node_modules', '@action-validator', 'cli', 'cli.mjs')
const WORKFLOWS = readdirSync(join(ROOT, '.github', 'workflows')).filter((f) => /\.ya?ml$/.test(f)).map((f) => join('.github', 'workflows', f))

function validate (file: string): Promise<{ code: number, output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [VALIDATOR, file], (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code: number }).code, output: stdout + stderr })
    })
  })
}

/**
 * The workflow without its `attestations:` permissions. GitHub documents that permission (it is
 * what actions/attest-build-provenance needs:
 * https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#permissions),
 * but the schema in @action-validator/cli 0.6.0 predates it and refuses every job that has it.
 */
function dropAttestations (text: string): { text: string, dropped: number } {
  const doc = parseDocument(text)
  let dropped = 0
  const jobs = doc.get('jobs')
  const holders = [doc.contents, ...(jobs instanceof YAMLMap ? jobs.items.map((job) => job.value) : [])]
  for (const holder of holders) {
    const permissions = holder instanceof YAMLMap ? holder.get('permissions') : undefined
    if (permissions instanceof YAMLMap && permissions.delete('attestations')) dropped++
  }
  return { text: doc.toString(), dropped }
}

t.test('every workflow passes the GitHub workflow schema (with the one permission it predates)', async (t) => {
  t.ok(WORKFLOWS.length >= 2, WORKFLOWS.join(', '))
  for (const file of WORKFLOWS) {
    const text = readFileSync(join(ROOT, file), 'utf8')
    const { text: checked, dropped } = dropAttestations(text)
    t.equal(dropped, (text.match(/^\s+attestations: write\b/gm) ?? []).length, `${file}: only attestations: write entries were dropped`)
    const copy = join(t.testdir(), file.split('/').at(-1) as string)
    writeFileSync(copy, checked)
    const result = await validate(copy)
    t.equal(result.code, 0, `${file}: ${result.output}`)
  }
})

t.test('action.yml passes the GitHub action schema', async (t) => {
  const result = await validate(join(ROOT, 'action.yml'))
  t.equal(result.code, 0, result.output)
})

t.test('the validator refuses a broken workflow and a broken action, so the checks above can fail', async (t) => {
  const dir = t.testdir({
    'ci.yml': readFileSync(join(ROOT, '.github', 'workflows', 'ci.yml'), 'utf8').replace(/^ {4}runs-on: .*\n/m, ''),
    'action.yml': readFileSync(join(ROOT, 'action.yml'), 'utf8').replace(/^ {6}shell: bash\n/m, '')
  })
  const workflow = await validate(join(dir, 'ci.yml'))
  t.equal(workflow.code, 1)
  t.match(workflow.output, '/jobs/ci/runs-on')
  const action = await validate(join(dir, 'action.yml'))
  t.equal(action.code, 1)
  t.match(action.output, 'shell')
})

t.test('every action a workflow or action.yml uses is pinned by commit SHA, with its version in a comment', async (t) => {
  for (const file of [...WORKFLOWS, 'action.yml']) {
    const lines = readFileSync(join(ROOT, file), 'utf8').split('\n')
    for (const [i, line] of lines.entries()) {
      const uses = /^\s*(?:- )?uses: (\S+)(.*)$/.exec(line)
      if (uses === null || (uses[1] as string).startsWith('./')) continue
      t.match(uses[1], /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/, `${file}:${i + 1}: ${uses[1]} is pinned by a full commit SHA`)
      t.match(uses[2], /^ # v\d+\.\d+\.\d+$/, `${file}:${i + 1}: the version it is, for Dependabot and the reader`)
    }
  }
})

t.test('CI runs bash .ci/run on every pull request and push to main, and the release runs CI first', async (t) => {
  const ci = parseDocument(readFileSync(join(ROOT, '.github', 'workflows', 'ci.yml'), 'utf8')).toJS() as { on: Record<string, unknown> }
  t.ok('pull_request' in ci.on)
  t.same(ci.on.push, { branches: ['main'] })
  t.ok('workflow_call' in ci.on, 'the release workflow calls it')
  t.ok(readSteps(join(ROOT, '.github', 'workflows', 'ci.yml'), 'ci').some((s) => s.run === 'bash .ci/run'))
  const release = parseDocument(readFileSync(join(ROOT, '.github', 'workflows', 'release.yml'), 'utf8')).toJS() as { on: { push: { tags: string[] } }, jobs: Record<string, { uses?: string, needs?: string[] }> }
  t.same(release.on.push.tags, ['v[0-9]+.[0-9]+.[0-9]+'], 'X.Y.Z tags only: the moving major tag starts nothing')
  t.equal(release.jobs.test?.uses, './.github/workflows/ci.yml')
  for (const job of ['npm', 'image', 'executables']) t.ok(release.jobs[job]?.needs?.includes('test'), `${job} waits for CI`)
})
