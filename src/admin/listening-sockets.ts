/**
 * The listening TCP sockets of a network namespace, from the kernel's `/proc/net/tcp` and
 * `/proc/net/tcp6` tables (https://www.kernel.org/doc/Documentation/networking/proc_net_tcp.txt):
 * one row per socket, `local_address` as hex `ADDR:PORT`, `st` 0A for LISTEN. The address is the
 * raw `__be32` words printed as host-order integers, so on a little-endian machine each 4-byte
 * group comes out byte-reversed (127.0.0.1 is `0100007F`); the port is a plain hex number.
 */

/** One listening socket: its local address as text (`127.0.0.1`, `::`, `::ffff:10.0.0.5`) and port. */
export interface ListeningSocket {
  address: string
  port: number
}

const LISTEN = '0A'

/** The 4 bytes of one address word as the kernel printed it. */
function wordBytes (hex: string, littleEndian: boolean): number[] {
  const n = Number.parseInt(hex, 16)
  const bytes = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]
  return littleEndian ? bytes.reverse() : bytes
}

function formatIPv4 (bytes: readonly number[]): string {
  return bytes.join('.')
}

function formatIPv6 (bytes: readonly number[]): string {
  // IPv4-mapped (::ffff:a.b.c.d, RFC 4291 §2.5.5.2): written as such, not as hex groups.
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255) return `::ffff:${formatIPv4(bytes.slice(12))}`
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16))
  // The WHATWG URL serializer writes the RFC 5952 short form (longest zero run as ::, lower case).
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1)
}

/** Parse one local address (`0100007F` or 32 hex digits) into text; undefined when it is neither. */
function parseAddress (hex: string, littleEndian: boolean): string | undefined {
  if (!/^(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{32})$/.test(hex)) return undefined
  const bytes: number[] = []
  for (let i = 0; i < hex.length; i += 8) bytes.push(...wordBytes(hex.slice(i, i + 8), littleEndian))
  return bytes.length === 4 ? formatIPv4(bytes) : formatIPv6(bytes)
}

/**
 * The LISTEN rows of a `/proc/net/tcp` or `/proc/net/tcp6` text. Rows it can't read (the header,
 * a truncated line) are skipped. `littleEndian` is the machine's byte order (os.endianness()).
 */
export function parseListeningSockets (text: string, littleEndian = true): ListeningSocket[] {
  const sockets: ListeningSocket[] = []
  for (const line of text.split('\n')) {
    const [, local, , state] = line.trim().split(/\s+/)
    if (state !== LISTEN || local === undefined) continue
    const colon = local.lastIndexOf(':')
    const address = parseAddress(local.slice(0, colon), littleEndian)
    const port = Number.parseInt(local.slice(colon + 1), 16)
    if (address !== undefined && colon !== -1 && Number.isInteger(port)) sockets.push({ address, port })
  }
  return sockets
}

/** Whether a listening address takes connections from this machine only: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104. */
export function isLoopbackAddress (address: string): boolean {
  return address === '::1' || /^(?:::ffff:)?127\./.test(address)
}

/** How an address reads in a log line: `0.0.0.0` and `::` are every address, not one. */
export function describeAddress (address: string, port: number): string {
  const where = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`
  if (address === '0.0.0.0') return `${where} (every IPv4 address)`
  if (address === '::') return `${where} (every address)`
  return where
}
