/** What a claim copied into a request header may hold, for every claim that becomes one. */

// Printable ASCII and printable Latin-1 (U+00A0-U+00FF, so the scopes the NAIS manifest allows, with
// æ, ø and å, pass). Node refuses to send anything above U+00FF
// (https://nodejs.org/api/http.html#httpvalidateheadervaluename-value), which would make the token a
// 502; control characters, C0 and C1 (U+0080-U+009F), could split or end a header in the app's
// reading. Latin-1 goes as one byte per character, as HTTP/1.1 has always sent header text
// (RFC 9110 §5.5: obs-text); docs/security.md says how apps read it.
const HEADER_SAFE = /^[\x20-\x7e\xa0-\xff]*$/

/** Whether `value` can go into a request header as it is. */
export function isHeaderSafe (value: string): boolean {
  return HEADER_SAFE.test(value)
}
