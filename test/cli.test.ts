/**
 * The CLI's wiring, once, as a process: what argv.ts decides (help, usage errors, commands; tested
 * there without a process) reaches stdout, stderr and the exit code. The commands themselves run as
 * processes in their own tests (e2e, dev-e2e, check-command, token-command, launcher-cli).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { answerOf, parseArgv } from '../src/commands/argv.js'
import { runPortvakt } from './helpers/cli.js'

t.test('a usage error reaches stderr as argv.ts words it, nothing on stdout, exit 2', async (t) => {
  const args = ['check', 'a.yaml', 'b.yaml']
  const result = await runPortvakt(args, { inheritEnv: true })
  t.equal(result.code, 2)
  t.equal(result.stdout, '')
  t.equal(result.stderr, answerOf(parseArgv(args))?.stderr)
  t.match(result.stderr, /^portvakt: check takes one route file\n\nUsage: portvakt check/)
})

t.test('portvakt --version and -v print the version line on stdout, exit 0', async (t) => {
  const { version } = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { version: string }
  for (const flag of ['--version', '-v']) {
    const result = await runPortvakt([flag], { inheritEnv: true })
    t.same(result, { code: 0, stdout: `portvakt ${version} (node ${process.version})\n`, stderr: '' }, flag)
  }
})
