/**
 * The npm package as the release workflow publishes it, and the workflow's own small scripts: its
 * steps run here on a copy of the package (test/helpers/workflow.ts), with the npm and the Node that
 * run this suite through npm, the oldest a user's npx is likely to bring.
 */
import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { readScript, runScript } from './helpers/workflow.js'

const ROOT = process.cwd()
const RELEASE = join(ROOT, '.github', 'workflows', 'release.yml')
const run = promisify(execFile)
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }

// npm test and npx tap name the npm and the Node that started them (as test/node-version.test.ts uses).
function npmOf (): { node: string, cli: string } {
  const node = process.env.npm_node_execpath
  const cli = process.env.npm_execpath
  if (node === undefined || cli === undefined) throw new Error('run through npm test or npx tap: npm_node_execpath and npm_execpath tell which npm to use')
  return { node, cli }
}

function baseEnv (): Record<string, string> {
  const npm = npmOf()
  return { PATH: `${dirname(npm.node)}:/usr/bin:/bin`, HOME: process.env.HOME ?? '/tmp' }
}

/** A checkout's worth of what the package is made from, after `npm run build`, with the published package.json. */
async function publishedCopy (t: Test): Promise<string> {
  const dir = t.testdir()
  for (const file of ['package.json', 'README.md', 'LICENSE.md', 'CHANGELOG.md']) cpSync(join(ROOT, file), join(dir, file))
  mkdirSync(join(dir, 'config'))
  for (const file of ['routes.yaml', 'altinn-grants.yaml']) cpSync(join(ROOT, 'config', file), join(dir, 'config', file))
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true, filter: (src) => statSync(src).isDirectory() ? !/exe/.test(src) : src.endsWith('.js') })
  const shaped = await runScript(readScript(RELEASE, 'npm', 'Shape the published package.json'), baseEnv(), dir)
  if (shaped.code !== 0) throw new Error(`the shaping step failed: ${shaped.stderr}`)
  return dir
}

t.test('the published package.json has no Node download, no dev tooling, and an engines range npm\'s own Node meets', async (t) => {
  const dir = await publishedCopy(t)
  const published = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown> & { engines: { node: string } }
  for (const key of ['optionalDependencies', 'devDependencies', 'devEngines', 'allowScripts', 'scripts']) t.notOk(key in published, `no ${key}`)
  // The OpenTelemetry SDK and gRPC are loaded only when tracing is on (src/observe/tracing.ts), but ship with the package.
  const otel = ['@grpc/grpc-js', '@opentelemetry/api', '@opentelemetry/core', '@opentelemetry/exporter-trace-otlp-grpc', '@opentelemetry/exporter-trace-otlp-http', '@opentelemetry/exporter-trace-otlp-proto', '@opentelemetry/resources', '@opentelemetry/sdk-trace', '@opentelemetry/semantic-conventions']
  t.same(Object.keys(published.dependencies as object).sort(), [...otel, 'fastify', 'jose', 'pino', 'prom-client', 'undici', 'yaml', 'zod'])
  t.same(published.bin, { portvakt: 'dist/cli.js' })
  t.match(published.repository, { url: 'git+https://github.com/navikt/portvakt.git' }, 'npm provenance needs the repository it was built from')
  const [major, minor] = /^>=(\d+)\.(\d+)$/.exec(published.engines.node)?.slice(1).map(Number) ?? []
  const [runningMajor, runningMinor] = (await run(npmOf().node, ['-p', 'process.versions.node'])).stdout.trim().split('.').map(Number)
  t.ok((runningMajor as number) > (major as number) || (runningMajor === major && (runningMinor as number) >= (minor as number)), `npm's Node ${runningMajor}.${runningMinor} meets engines ${published.engines.node}`)
})

t.test('npm pack ships the CLI, the example routes, the dev grants and the docs, and nothing else', async (t) => {
  const dir = await publishedCopy(t)
  const npm = npmOf()
  for (const where of [dir, ROOT]) {
    const { stdout } = await run(npm.node, [npm.cli, 'pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: where })
    const files = ((JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]?.files ?? []).map((f) => f.path)
    t.ok(files.includes('dist/cli.js'), `${where === ROOT ? 'repository' : 'published copy'}: the bin`)
    const others = files.filter((f) => !/^dist\/[\w/-]+\.js$/.test(f))
    t.same(others.sort(), ['CHANGELOG.md', 'LICENSE.md', 'README.md', 'config/altinn-grants.yaml', 'config/routes.yaml', 'package.json'], 'besides dist/**/*.js: docs, licence, the example table and the dev PDP\'s grants')
  }
})

t.test('the published files run portvakt check on the Node that runs npm', async (t) => {
  const dir = await publishedCopy(t)
  // The dependencies a user's npx would install next to it, as this checkout has them.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  const { stdout } = await run(npmOf().node, [join(dir, 'dist', 'cli.js'), 'check', 'config/routes.yaml', '--manifest', join(ROOT, 'nais.yaml')], { cwd: dir })
  t.match(stdout, /config\/routes\.yaml: valid, and .*nais\.yaml exposes every route scope/)
})

t.test('the release refuses a tag that is not package.json\'s version, and names its version otherwise', async (t) => {
  const script = readScript(RELEASE, 'version', 'Check the tag against package.json and CHANGELOG.md')
  const output = join(t.testdir(), 'output')
  writeFileSync(output, '')
  const good = await runScript(script, { ...baseEnv(), GITHUB_REF_NAME: `v${pkg.version}`, GITHUB_OUTPUT: output }, ROOT)
  t.equal(good.code, 0, good.stdout + good.stderr)
  t.equal(readFileSync(output, 'utf8'), `version=${pkg.version}\n`)
  const bad = await runScript(script, { ...baseEnv(), GITHUB_REF_NAME: 'v9.9.9', GITHUB_OUTPUT: output }, ROOT)
  t.equal(bad.code, 1)
  t.match(bad.stdout, `::error file=package.json::the tag is v9.9.9 but package.json's version is ${pkg.version}`)
})

t.test('the release notes are CHANGELOG.md\'s entry for the version, and only it', async (t) => {
  const dir = t.testdir({ 'CHANGELOG.md': readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8') })
  const script = readScript(RELEASE, 'release', 'Release notes from CHANGELOG.md')
  const result = await runScript(script, { ...baseEnv(), VERSION: pkg.version, GITHUB_REPOSITORY: 'navikt/portvakt' }, dir)
  t.equal(result.code, 0, result.stderr)
  const notes = readFileSync(join(dir, 'notes.md'), 'utf8')
  t.match(notes, /^\n?The first release|^\n?### /, 'starts with the entry\'s text')
  t.notMatch(notes, /^## /m, 'no other entry')
  t.match(notes, `npx portvakt@${pkg.version} check`)
  t.match(notes, `uses: navikt/portvakt@v${pkg.version.split('.')[0]}`)
})
