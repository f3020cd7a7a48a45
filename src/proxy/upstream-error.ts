/**
 * An undici failure on the way to an upstream (the app behind the gate, or an egress target) as our
 * refusal, by its `code` (STYLE §8): no answer in time is a 504, anything else a 502.
 */
import { GateError } from '../http/errors.js'

// undici's codes for a connect, a head or a body that took too long.
const TIMEOUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])

/** Map `err` from a call to `party` (named in the message: "the upstream", "the egress target"). */
export function toUpstreamError (err: unknown, party: string): GateError {
  const code = (err as { code?: string } | undefined)?.code
  if (code !== undefined && TIMEOUT_CODES.has(code)) return new GateError('PORTVAKT_ERR_UPSTREAM_TIMEOUT', `${party} did not answer in time`, { cause: err })
  return new GateError('PORTVAKT_ERR_UPSTREAM_UNAVAILABLE', `${party} could not be reached`, { cause: err })
}
