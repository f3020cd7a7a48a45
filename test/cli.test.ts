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

t.test('every command answers --help and -h with its own help on stdout and exit 0', async (t) => {
  for (const command of ['serve', 'dev', 'token', 'check']) {
    for (const flag of ['--help', '-h']) {
      const result = await runCli([command, flag], { NAIS_CLUSTER_NAME: 'prod-gcp' })
      t.equal(result.code, 0, `${command} ${flag}`)
      t.match(result.stdout, new RegExp(`^Usage: portvakt ${command}`), `${command} ${flag}`)
      t.equal(result.stderr, '', `${command} ${flag}`)
    }
  }
})

t.test('serve with an option is a usage error (exit 2) that points at serve --help', async (t) => {
  const result = await runCli(['serve', '--port', '80'])
  t.equal(result.code, 2)
  t.match(result.stderr, /^portvakt: serve takes no options \(portvakt serve --help\); .*portvakt serve -- <app command…>\n\n[\s\S]*Usage: portvakt <command>/)
})

t.test('token without --scope is a usage error (exit 2), before any issuer is asked', async (t) => {
  const result = await runCli(['token'], { PORTVAKT_DEV_ISSUER_PORT: '1' })
  t.equal(result.code, 2)
  t.equal(result.stdout, '')
  t.match(result.stderr, /^portvakt: give at least one --scope/)
})
