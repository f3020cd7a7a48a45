import { join } from 'node:path'
import t from 'tap'
import { findUnknownVariables } from '../src/config/unknown-variables.js'
import { SETTING_NAMES } from '../src/config/env.js'
import { DEV_SETTING_NAMES } from '../src/dev/dev-config.js'
import { ROOT, runPortvakt, startPortvakt } from './helpers/cli.js'
import { TEST_ISSUER } from './helpers/tokens.js'

const KNOWN = [...SETTING_NAMES, ...DEV_SETTING_NAMES]

t.test('unknown PORTVAKT_* variables: one warning at start naming each, with the setting it likely means', async (t) => {
  const run = startPortvakt(t, ['serve'], {
    env: {
      MASKINPORTEN_ISSUER: TEST_ISSUER,
      MASKINPORTEN_JWKS_URI: 'http://127.0.0.1:9/jwks',
      PORTVAKT_ROUTES: join(ROOT, 'config', 'routes.yaml'),
      PORTVAKT_HOST: '127.0.0.1',
      PORTVAKT_PORT: '0',
      PORTVAKT_ADMIN_HOST: '127.0.0.1',
      PORTVAKT_ADMIN_PORT: '0',
      PORTVAKT_FORWARD_TOKN: 'false',
      PORTVAKT_COLOUR: 'blue',
      PORTVAKT_DEV_DIR: '.portvakt'
    }
  })
  await run.waitFor(/"message":"portvakt started"/)
  const warnings = run.logs().filter((l) => l.level === 'WARN' && Array.isArray(l.unknownVariables))
  t.equal(warnings.length, 1, 'one line')
  t.same(warnings[0]?.unknownVariables, [{ variable: 'PORTVAKT_COLOUR' }, { variable: 'PORTVAKT_FORWARD_TOKN', didYouMean: 'PORTVAKT_FORWARD_TOKEN' }])
  t.equal(warnings[0]?.message, 'portvakt reads no variable named PORTVAKT_COLOUR, PORTVAKT_FORWARD_TOKN (did you mean PORTVAKT_FORWARD_TOKEN?); they are ignored (the README\'s settings table lists those it reads)')
  run.child.kill('SIGTERM')
  await run.exited
})

t.test('the known names come from the schemas: every setting, the PORTVAKT_DEV_* ones included, is known', async (t) => {
  const env = Object.fromEntries(KNOWN.map((name) => [name, 'x']))
  t.same(findUnknownVariables(env, KNOWN), [])
  t.ok(KNOWN.includes('PORTVAKT_DEV_ISSUER_PORT') && KNOWN.includes('PORTVAKT_JWKS_STALE_MAX'))
  t.same(findUnknownVariables({ PORTVAKT_DEV_ISUER_PORT: '1', HOME: '/root', MASKINPORTEN_CLIENT_ID: 'x' }, KNOWN), [{ variable: 'PORTVAKT_DEV_ISUER_PORT', didYouMean: 'PORTVAKT_DEV_ISSUER_PORT' }], 'only PORTVAKT_* are looked at')
  t.same(findUnknownVariables({ PORTVAKT_BODY_BUFER: '1', PORTVAKT_UPSTREAM_CONECTIONS: '2' }, KNOWN).map((u) => u.didYouMean), ['PORTVAKT_BODY_BUFFER', 'PORTVAKT_UPSTREAM_CONNECTIONS'], 'settings added since are known without a list kept by hand')
})

t.test('check with a file given that does not exist says so in one line, and does not point at PORTVAKT_ROUTES', async (t) => {
  const dir = t.testdir({})
  const given = await runPortvakt(['check', '/missing.yaml'], { cwd: dir, inheritEnv: true })
  t.equal(given.code, 1)
  t.equal(given.stderr, 'error: /missing.yaml: no such file; check the path\n')
  const fromEnv = await runPortvakt(['check'], { cwd: dir, inheritEnv: true, env: { PORTVAKT_ROUTES: 'mine.yaml' } })
  t.equal(fromEnv.stderr, 'error: mine.yaml: no such file; PORTVAKT_ROUTES names it; check the path\n')
  const fallback = await runPortvakt(['check'], { cwd: dir, inheritEnv: true })
  t.equal(fallback.stderr, 'error: config/routes.yaml: no such file; name your route table: portvakt check <routes.yaml>, or set PORTVAKT_ROUTES\n')
  const folder = await runPortvakt(['check', dir], { cwd: dir, inheritEnv: true })
  t.equal(folder.stderr, `error: ${dir}: it is a folder; name the file; check the path\n`)
})

t.test('check --manifest with a manifest that does not exist: one clear line, no errno text, no count', async (t) => {
  const dir = t.testdir({ 'routes.yaml': 'routes:\n  - { path: /a, scopes: [nav:arbeid:a.read] }\n' })
  const result = await runPortvakt(['check', 'routes.yaml', '--manifest', 'nais.yaml'], { cwd: dir, inheritEnv: true })
  t.equal(result.code, 1)
  t.equal(result.stderr, 'error: nais.yaml: no such file (the --manifest file); check the path\n')
})

t.test('a misspelt flag is named as typed, with the flag it likely means, never parseArgs\' hint', async (t) => {
  const result = await runPortvakt(['check', '--manifset', 'nais.yaml'], { inheritEnv: true })
  t.equal(result.code, 2)
  t.match(result.stderr, /^portvakt: unknown option --manifset; did you mean --manifest\?\n\nUsage: portvakt check/)
  t.notMatch(result.stderr, /positional|place it at the end/)
  const command = await runPortvakt(['chekc'], { inheritEnv: true })
  t.match(command.stderr, /^portvakt: unknown command "chekc"; did you mean check\?\n/)
})

t.test('portvakt token names its flags, never the token endpoint\'s field names', async (t) => {
  const result = await runPortvakt(['token', '--scope', 'nav:arbeid:a.read', '--orgno', '12345', '--expires', '7200', '--audience', 'arbeid'], { inheritEnv: true })
  t.equal(result.code, 2, 'a usage error: nothing was asked of the issuer')
  t.match(result.stderr, /^portvakt: --audience: an absolute URI, e.g. https:\/\/arbeid\.api\.nav\.no; --orgno: an orgno is 9 digits, e.g. 123456789; --expires: at most 3600 seconds\n/)
  t.notMatch(result.stderr.split('\n')[0], /consumer_orgno|expires_in|resource/)
  const zero = await runPortvakt(['token', '--scope', 'nav:arbeid:a.read', '--expires', '0'], { inheritEnv: true })
  t.match(zero.stderr, /^portvakt: --expires: at least 1 second\n/)
  const bare = await runPortvakt(['token', '--scope', 'nav:arbeid:a.read', '--fresh=yes'], { inheritEnv: true })
  t.match(bare.stderr, /^portvakt: --fresh takes no value \(found "yes"\)\n/)
})
