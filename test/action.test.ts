/**
 * action.yml's step, run as a runner runs it (bash, the inputs as INPUT_* variables, GITHUB_ACTION_PATH
 * at this checkout), with the repository's files in a workspace. npx stands in for the registry: a
 * stub that insists on `--yes portvakt@<package.json's version>` and runs this build's dist/cli.js.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import t, { type Test } from 'tap'
import { naisManifest } from './helpers/config.js'
import { readSteps, runScript } from './helpers/workflow.js'

const ROOT = process.cwd()
const [step] = readSteps(join(ROOT, 'action.yml'))
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

const ROUTES = `routes:
  - path: /api/v1/arbeidsforhold
    methods: [GET, HEAD]
    scopes: [nav:arbeid:arbeidsforhold.read]
  - path: /internal/isalive
    public: true
`

function manifest (scope: string): string {
  return naisManifest(`        - name: ${scope}\n          enabled: true\n          product: arbeid\n`)
}

/** A workspace with the route table and manifests, and a bin folder with the npx stand-in. */
function workspace (t: Test): { dir: string, env: Record<string, string> } {
  const dir = t.testdir({ config: { 'routes.yaml': ROUTES }, '.nais': { 'nais.yaml': manifest('arbeidsforhold.read'), 'other.yaml': manifest('rapport.read') }, bin: {} })
  const npx = join(dir, 'bin', 'npx')
  writeFileSync(npx, [
    '#!/bin/sh',
    `[ "$1" = --yes ] && [ "$2" = "portvakt@${version}" ] || { echo "npx stand-in: called with $*" >&2; exit 99; }`,
    'shift 2',
    `exec "${process.execPath}" "${join(ROOT, 'dist', 'cli.js')}" "$@"`,
    ''
  ].join('\n'))
  chmodSync(npx, 0o755)
  return { dir, env: { PATH: `${join(dir, 'bin')}:${dirname(process.execPath)}:/usr/bin:/bin`, GITHUB_ACTION_PATH: ROOT, HOME: dir } }
}

t.test('the step passes the inputs as variables, never spliced into the script', async (t) => {
  t.same(step?.env, { INPUT_ROUTES: '${{ inputs.routes }}', INPUT_MANIFEST: '${{ inputs.manifest }}' })
  t.notMatch(step?.run, /\$\{\{/, 'no expression in the script itself')
})

t.test('a scope the manifest lacks is an error annotation on the route\'s file and line, and the step fails', async (t) => {
  const { dir, env } = workspace(t)
  const result = await runScript(step?.run as string, { ...env, INPUT_ROUTES: 'config/routes.yaml', INPUT_MANIFEST: '.nais/other.yaml' }, dir)
  t.equal(result.code, 1, result.stderr)
  const annotations = result.stdout.split('\n').filter((l) => l.startsWith('::'))
  t.equal(annotations.length, 2, annotations.join('\n'))
  t.match(annotations[0], /^::warning file=\.nais\/other\.yaml,line=12,title=portvakt check::.*nav:arbeid:rapport\.read/, 'the unused scope, on the manifest\'s line')
  t.match(annotations[1], /^::error file=config\/routes\.yaml,line=2,title=portvakt check::.*nav:arbeid:arbeidsforhold\.read/, 'the missing scope, on the route\'s line')
})

t.test('a manifest that exposes every route scope passes with no annotation', async (t) => {
  const { dir, env } = workspace(t)
  const result = await runScript(step?.run as string, { ...env, INPUT_ROUTES: 'config/routes.yaml', INPUT_MANIFEST: '.nais/nais.yaml' }, dir)
  t.equal(result.code, 0, result.stderr)
  t.notMatch(result.stdout, /^::/m)
  t.match(result.stdout, 'config/routes.yaml: valid, and .nais/nais.yaml exposes every route scope')
})

t.test('an input left empty fails the step with an annotation saying what to set', async (t) => {
  const { dir, env } = workspace(t)
  const result = await runScript(step?.run as string, { ...env, INPUT_ROUTES: 'config/routes.yaml', INPUT_MANIFEST: '' }, dir)
  t.equal(result.code, 1)
  t.match(result.stdout, /^::error title=portvakt check::set both inputs, paths from the repository root/)
})
