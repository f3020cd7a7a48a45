import t from 'tap'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../src/config/errors.js'
import { loadDevKey } from '../src/dev/dev-key.js'

t.test('generates the key on first run, keeps it private, and reuses it after a restart', async (t) => {
  const dir = join(t.testdir(), '.portvakt')
  const first = await loadDevKey(dir)
  t.equal(first.created, true)
  t.equal(first.file, join(dir, 'dev-key.json'))
  t.equal(statSync(first.file).mode & 0o777, 0o600, 'only the owner reads the private key')
  t.match(first.kid, /^portvakt-dev-/)
  const again = await loadDevKey(dir)
  t.equal(again.created, false)
  t.equal(again.kid, first.kid)
  t.same(again.publicJwk, first.publicJwk)
  t.notOk('d' in again.publicJwk, 'the public JWK holds no private member')
})

t.test('two first runs at once end up with one key', async (t) => {
  const dir = t.testdir()
  const [a, b] = await Promise.all([loadDevKey(dir), loadDevKey(dir)])
  t.equal(a.kid, b.kid)
  t.equal(JSON.parse(readFileSync(join(dir, 'dev-key.json'), 'utf8')).kid, a.kid)
})

t.test('a damaged key file is a config error that says to delete it', async (t) => {
  const dir = t.testdir({ 'dev-key.json': '{"kty":"RSA"}' })
  await t.rejects(loadDevKey(dir), ConfigError)
  await t.rejects(loadDevKey(dir), { message: /delete the file/ })
  writeFileSync(join(dir, 'dev-key.json'), 'not json')
  await t.rejects(loadDevKey(dir), { message: /delete the file/ })
})

t.test('a directory it cannot create is a config error naming PORTVAKT_DEV_DIR', async (t) => {
  const dir = t.testdir({ file: 'x' })
  await t.rejects(loadDevKey(join(dir, 'file', 'sub')), { message: /PORTVAKT_DEV_DIR/ })
})

t.test('a key path it cannot read is a config error naming PORTVAKT_DEV_DIR', async (t) => {
  const dir = t.testdir({ 'dev-key.json': {} })
  await t.rejects(loadDevKey(dir), { message: /PORTVAKT_DEV_DIR/ })
})
