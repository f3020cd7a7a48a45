/**
 * The Dockerfile, checked without a Docker engine: every file it copies exists, every command it
 * runs is one CI runs on the same files, and the runtime stage is small, non-root and keyless.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { parseDockerfile, readCopy, type Stage } from './helpers/dockerfile.js'
import { requiredNodeMajor } from './helpers/node-version.js'

const ROOT = process.cwd()
const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
const stages = parseDockerfile(text)
const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
const runtime = stages.at(-1) as Stage
const build = stages.find((s) => s.name === 'build') as Stage

/** The commands CI runs: .ci/run's npm and apt-get lines, plus `npm run build:exe`, which test/exe.test.ts runs. */
function ciCommands (): string[] {
  const commands = readFileSync(join(ROOT, '.ci', 'run'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l.startsWith('npm ') || l.startsWith('apt-get '))
  if (readFileSync(join(ROOT, 'test', 'exe.test.ts'), 'utf8').includes("['run', 'build:exe'")) commands.push('npm run build:exe')
  return commands
}

function isIgnored (path: string): boolean {
  const clean = path.replace(/^\.\//, '').replace(/\/$/, '')
  return ignored.some((pattern) => {
    const p = pattern.replace(/\/$/, '')
    if (p.endsWith('*')) return clean.startsWith(p.slice(0, -1))
    return clean === p || clean.startsWith(p + '/')
  })
}

t.test('is multi-stage: builds with the toolchain, runs from a minimal image without Node', async (t) => {
  t.ok(stages.length >= 2)
  t.match(build.image, new RegExp(`^node:${requiredNodeMajor()}\\.\\d+-`), 'the build stage has the Node major package.json engines requires')
  t.notMatch(runtime.image, /node/, 'the runtime image has no Node of its own')
  t.match(runtime.image, /^gcr\.io\/distroless\//)
  const debian: Record<string, string> = { bookworm: '12', trixie: '13' }
  const release = debian[/-(\w+)$/.exec(build.image)?.[1] ?? '']
  t.ok(release !== undefined && runtime.image.includes(`-debian${release}:`), `${runtime.image} is the Debian release ${build.image} builds on`)
})

t.test('every COPY from the build context names a file that exists and is not .dockerignored', async (t) => {
  for (const stage of stages) {
    for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
      t.equal(copy.keyword, 'COPY', `line ${copy.line}: COPY, not ADD`)
      const { from, sources } = readCopy(copy.args)
      if (from !== undefined) continue
      for (const source of sources) {
        t.ok(existsSync(join(ROOT, source)), `line ${copy.line}: ${source} exists`)
        t.notOk(isIgnored(source), `line ${copy.line}: ${source} is in the build context`)
        t.notMatch(source, /\.portvakt|\.env|key/i, `line ${copy.line}: ${source} is no key or secret`)
      }
    }
  }
})

t.test('the runtime stage copies from the build stage only tini, the executable the build makes and libatomic', async (t) => {
  const copies = runtime.instructions.filter((i) => i.keyword === 'COPY').map((i) => readCopy(i.args)).filter((c) => c.from !== undefined)
  t.same(copies, [
    { from: 'build', sources: ['/usr/bin/tini-static'], destination: '/tini' },
    { from: 'build', sources: ['/src/dist/portvakt'], destination: '/portvakt' },
    { from: 'build', sources: ['/usr/lib/*-linux-gnu/libatomic.so.1.2.0'], destination: '/usr/lib/libatomic.so.1' }
  ])
  t.ok(build.instructions.some((i) => i.keyword === 'RUN' && /apt-get install .*\blibatomic1 tini$/.test(i.args)), 'the build stage installs Debian\'s tini, which has /usr/bin/tini-static, and libatomic1')
  t.match(readFileSync(join(ROOT, 'test', 'launcher-init.test.ts'), 'utf8'), "const TINI = '/usr/bin/tini-static'", 'the PID 1 test runs the same tini')
  t.ok(build.instructions.some((i) => i.keyword === 'WORKDIR' && i.args === '/src'), 'the build works in /src')
  t.match(readFileSync(join(ROOT, 'scripts', 'build-exe.mjs'), 'utf8'), "join(root, 'dist', 'portvakt')", 'build:exe writes dist/portvakt')
})

// What gcr.io/distroless/cc-debian13 holds besides the kernel's vDSO: base-debian13's libc6 and
// libssl3t64, and cc's libgcc-s1, libstdc++6, libgomp1 and zlib1g
// (https://github.com/GoogleContainerTools/distroless/blob/main/cc/config.bzl).
const DISTROLESS_CC = new Set(['linux-vdso.so.1', 'libc.so.6', 'libm.so.6', 'libdl.so.2', 'libpthread.so.0', 'librt.so.1',
  'ld-linux-x86-64.so.2', 'ld-linux-aarch64.so.1', 'libssl.so.3', 'libcrypto.so.3', 'libgcc_s.so.1', 'libstdc++.so.6', 'libgomp.so.1', 'libz.so.1'])

t.test('every shared library the executable loads is in distroless cc or copied into the runtime stage', { skip: process.platform === 'linux' ? false : 'ldd reads Linux executables' }, async (t) => {
  // The executable is a copy of the Node that builds it with the bundle injected (scripts/build-exe.mjs),
  // so it loads what this Node loads.
  const { stdout } = await promisify(execFile)('ldd', [process.execPath])
  const needed = stdout.split('\n').map((l) => /^\s*(\S+)/.exec(l)?.[1]).filter((name) => name !== undefined).map((name) => basename(name))
  t.ok(needed.includes('libc.so.6'), `ldd listed ${needed.join(', ')}`)
  const copied = runtime.instructions.filter((i) => i.keyword === 'COPY').map((i) => basename(readCopy(i.args).destination))
  for (const library of needed) t.ok(DISTROLESS_CC.has(library) || copied.includes(library), `${library}: in distroless cc, or copied in`)
})

t.test('every RUN is a command CI runs', async (t) => {
  const allowed = ciCommands()
  const runs = stages.flatMap((s) => s.instructions.filter((i) => i.keyword === 'RUN'))
  t.ok(runs.length > 0)
  for (const run of runs) t.ok(allowed.includes(run.args), `line ${run.line}: "${run.args}" is one of: ${allowed.join('; ')}`)
})

t.test('the runtime is non-root, production, with an exec-form ENTRYPOINT and no secrets', async (t) => {
  const get = (keyword: string): string[] => runtime.instructions.filter((i) => i.keyword === keyword).map((i) => i.args)
  const user = get('USER').at(-1) ?? 'root'
  t.notMatch(user, /^(root|0)(:|$)/, `runs as ${user}`)
  t.ok(get('ENV').includes('NODE_ENV=production'))
  const entrypoint = JSON.parse(get('ENTRYPOINT').at(-1) ?? 'null') as unknown
  t.same(entrypoint, ['/tini', '--', '/portvakt'], 'exec form: tini is PID 1, reaps orphans and passes SIGTERM to portvakt')
  t.same(JSON.parse(get('CMD').at(-1) ?? 'null'), ['serve'])
  for (const stage of stages) {
    for (const i of stage.instructions.filter((i) => i.keyword === 'ENV' || i.keyword === 'ARG')) {
      t.notMatch(i.args, /secret|password|token|private|jwk/i, `line ${i.line}: no secret in ${i.keyword}`)
    }
  }
  t.ok(isIgnored('.portvakt/keys.json'), '.dockerignore keeps the dev keys out')
  t.ok(isIgnored('node_modules/x'), '.dockerignore keeps local node_modules out')
})

t.test('a comment shows an app team the same-pod pattern', async (t) => {
  t.match(text, '#   COPY --from=portvakt /tini /portvakt /usr/local/bin/')
  t.match(text, '#   COPY --from=portvakt /usr/lib/libatomic.so.1 /usr/lib/', 'and the library the executable needs that distroless lacks')
  t.match(readFileSync(join(ROOT, 'README.md'), 'utf8'), '   COPY --from=portvakt /usr/lib/libatomic.so.1 /usr/lib/', 'the README shows it too')
  t.match(text, '#   ENTRYPOINT ["tini", "--", "portvakt", "serve", "--", "java", "-jar", "/app/app.jar"]')
})
