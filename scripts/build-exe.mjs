#!/usr/bin/env node
// `npm run build:exe`: portvakt as one self-contained Linux executable (issue 5), using Node's
// single executable application (SEA) feature: https://nodejs.org/docs/latest-v20.x/api/single-executable-applications.html
//
// 1. esbuild bundles src/cli.ts and every dependency into one CommonJS file: Node 20's SEA runs a
//    single CommonJS script and cannot `require` anything from node_modules at run time.
// 2. `node --experimental-sea-config` turns the bundle into a blob.
// 3. postject copies the node binary that runs this script and injects the blob into the copy.
// The result, dist/portvakt, needs neither Node nor node_modules where it runs (only glibc and
// libstdc++, as the node binary itself does).
import { execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'
import { inject } from 'postject'

const root = join(import.meta.dirname, '..')
const work = join(root, 'dist', 'exe')
const bundle = join(work, 'portvakt.cjs')
const blob = join(work, 'portvakt.blob')
const output = join(root, 'dist', 'portvakt')
// The fuse Node 20 checks to know a SEA blob is present (from the Node docs).
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'

rmSync(work, { recursive: true, force: true })
mkdirSync(work, { recursive: true })

await build({
  entryPoints: [join(root, 'src', 'cli.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
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
writeFileSync(config, JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true }))
execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'inherit' })

rmSync(output, { force: true })
copyFileSync(process.execPath, output)
chmodSync(output, 0o755)
await inject(output, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SENTINEL_FUSE })
process.stdout.write(`built ${output}\n`)
