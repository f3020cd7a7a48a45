/**
 * A self-signed TLS certificate for 127.0.0.1 and localhost, made with node:crypto alone, so tests
 * of https endpoints need no `openssl` on the machine. Node can sign but not build an X.509
 * certificate, so the few DER structures of RFC 5280 §4.1 are written here by hand.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto'

/** A certificate and its private key, both PEM. */
export interface SelfSignedCert {
  cert: string
  key: string
}

function der (tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content)
  const n = body.length
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff])
  return Buffer.concat([Buffer.from([tag]), length, body])
}

const seq = (...content: Buffer[]): Buffer => der(0x30, ...content)

function oid (dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]]
  const bytes = [40 * a + b]
  for (const arc of rest) {
    const groups = [arc & 0x7f]
    for (let v = arc >> 7; v > 0; v >>= 7) groups.unshift((v & 0x7f) | 0x80)
    bytes.push(...groups)
  }
  return der(0x06, Buffer.from(bytes))
}

function utcTime (date: Date): Buffer {
  return der(0x17, Buffer.from(date.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'))
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'))

/** Make a P-256 certificate for 127.0.0.1 and localhost, valid from an hour ago for a day; it is its own CA. */
export function makeSelfSignedCert (): SelfSignedCert {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const name = seq(der(0x31, seq(oid('2.5.4.3'), der(0x0c, Buffer.from('localhost')))))
  const now = Date.now()
  const altNames = seq(der(0x82, Buffer.from('localhost')), der(0x87, Buffer.from([127, 0, 0, 1])))
  const extensions = der(0xa3, seq(
    seq(oid('2.5.29.17'), der(0x04, altNames)),
    seq(oid('2.5.29.19'), der(0x01, Buffer.from([0xff])), der(0x04, seq(der(0x01, Buffer.from([0xff])))))
  ))
  const serial = randomBytes(8)
  serial[0] = (serial[0] as number) & 0x7f | 0x01
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))),
    der(0x02, serial),
    ECDSA_SHA256,
    name,
    seq(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 86_400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions
  )
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' })
  const cert = seq(tbs, ECDSA_SHA256, der(0x03, Buffer.from([0]), signature))
  const lines = cert.toString('base64').match(/.{1,64}/g) ?? []
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  }
}
