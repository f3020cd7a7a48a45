import t from 'tap'
import { runCli } from './helpers/processes.js'

t.test('portvakt --help lists the commands and the main environment variables', async (t) => {
  const result = await runCli(['--help'])
  t.equal(result.code, 0)
  for (const command of ['serve', 'dev', 'token', 'check']) t.match(result.stdout, new RegExp(`^  ${command} `, 'm'))
  t.match(result.stdout, 'MASKINPORTEN_ISSUER')
})

t.test('an unknown command or a bad option is a usage error (exit 2)', async (t) => {
  const unknown = await runCli(['frobnicate'])
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, 'unknown command "frobnicate"')
  const bad = await runCli(['check', 'a.yaml', 'b.yaml'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /^portvakt: check takes one route file\n\nUsage: portvakt check/)
})
