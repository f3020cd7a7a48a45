/**
 * The dev issuer's signing key: generated on first run and kept in `<dir>/dev-key.json` (`.portvakt/`
 * by default, git-ignored), so tokens minted before a restart still verify after it.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose'
import { ConfigError } from '../config/errors.js'
import { describeFileError } from '../config/file-error.js'

/** A dev signing key: the private key for signing and the public JWK the issuer publishes. */
export interface DevKey {
  kid: string
  privateKey: CryptoKey
  publicJwk: JWK
  /** the file it is kept in */
  file: string
  /** true when this run generated it */
  created: boolean
}

const FILE_NAME = 'dev-key.json'

function toPublicJwk (jwk: JWK, kid: string): JWK {
  // Only the public members: the private ones (d, p, q, ...) must never be published.
  return { kty: jwk.kty, n: jwk.n, e: jwk.e, kid, alg: 'RS256', use: 'sig' }
}

/** Read the key file; undefined when there is none yet. */
async function readKey (file: string): Promise<DevKey | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ConfigError('cannot read the dev signing key', [`${file}: ${describeFileError(err)}; set PORTVAKT_DEV_DIR to a readable directory`])
  }
  let jwk: JWK
  try {
    jwk = JSON.parse(text) as JWK
    if (jwk.kty !== 'RSA' || typeof jwk.d !== 'string' || typeof jwk.kid !== 'string') throw new Error('not an RSA private JWK with a kid')
  } catch (err) {
    // JSON.parse's own message names a position, not the problem: the file is simply not our key.
    throw new ConfigError('cannot use the dev signing key', [`${file}: not an RSA private JWK with a kid (written by portvakt dev); delete the file and a new key is generated`])
  }
  const privateKey = await importJWK(jwk, 'RS256') as CryptoKey
  return { kid: jwk.kid as string, privateKey, publicJwk: toPublicJwk(jwk, jwk.kid as string), file, created: false }
}

async function createKey (file: string): Promise<DevKey | undefined> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true })
  const jwk = await exportJWK(privateKey)
  const kid = `portvakt-dev-${(await calculateJwkThumbprint(jwk)).slice(0, 12)}`
  try {
    // `wx`: two first runs at once must not overwrite each other's key; the loser reads the winner's.
    await writeFile(file, JSON.stringify({ ...jwk, kid, alg: 'RS256' }, null, 2) + '\n', { flag: 'wx', mode: 0o600 })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined
    throw err
  }
  return { kid, privateKey, publicJwk: toPublicJwk(jwk, kid), file, created: true }
}

/** Load the dev key from `dir`, generating and saving it on first use. */
export async function loadDevKey (dir: string): Promise<DevKey> {
  const file = join(dir, FILE_NAME)
  const existing = await readKey(file)
  if (existing !== undefined) return existing
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new ConfigError('cannot keep the dev signing key', [`${dir}: ${describeFileError(err)}; set PORTVAKT_DEV_DIR to a writable directory`])
  }
  const key = await createKey(file) ?? await readKey(file)
  if (key === undefined) throw new ConfigError('cannot keep the dev signing key', [`${file} vanished while it was being created; start again`])
  return key
}
