/** The one refusal for "Altinn could not be asked": 503 with Retry-After, never a permit; `why` goes to the error log. */
import { GateError } from '../http/errors.js'

/** The refusal for a PDP or token exchange that could not answer; `why` is logged (never a token or the key). */
export function altinnUnavailable (why: string): GateError {
  return new GateError('PORTVAKT_ERR_ALTINN_UNAVAILABLE', 'Altinn could not be asked whether the system user may do this; try again shortly', { cause: new Error(why) })
}

/** What a failed fetch says about why: the socket error's code (ECONNREFUSED), a timeout, or its message. */
export function describeFetchFailure (err: unknown): string {
  if ((err as Error).name === 'TimeoutError') return 'no answer within PORTVAKT_ALTINN_TIMEOUT'
  const cause = (err as { cause?: { code?: string, message?: string } }).cause
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err)
}
