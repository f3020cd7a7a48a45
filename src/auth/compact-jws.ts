/**
 * The compact JWS form (RFC 7515 §7.1): three base64url parts without padding, separated by dots.
 * The one definition of what counts as a token's shape, for the verifier and `portvakt token`.
 */

// Node's base64 decoder is lenient (it ignores `=` and accepts `+`/`/`), so without this pattern one
// token would have many spellings that all verify: harmless to the signature, but a trap for anything
// keyed on the string. A few remain (jose, like Node, ignores the unused low bits of a part's last
// character), so the token cache never holds more than a signature allows: each spelling is verified
// on its own.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/**
 * Whether `token` is a compact JWS whose three parts are base64url: also refuses a part whose length
 * leaves 1 modulo 4, which is no base64url at all (jose refuses it; Node's decoder would quietly drop
 * the last character).
 */
export function isCompactJws (token: string): boolean {
  if (!COMPACT_JWS.test(token)) return false
  const first = token.indexOf('.')
  const last = token.lastIndexOf('.')
  return first % 4 !== 1 && (last - first - 1) % 4 !== 1 && (token.length - last - 1) % 4 !== 1
}
