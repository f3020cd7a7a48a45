/**
 * One call to Altinn's PDP: `POST {base}/authorization/api/v1/authorize` with the exchanged Altinn
 * token and, when configured, the APIM subscription key (https://docs.altinn.studio/authorization/what-do-you-get/pdp/).
 * Its own timeout, redirects refused (one would hand our tokens to another host), any non-2xx a 503;
 * a 401 means our credentials, so the token is dropped and the cause logged as an error.
 */
import type { AltinnTokenSource } from './altinn-token.js'
import { altinnUnavailable, describeFetchFailure } from './unavailable.js'
import { buildRequest, readVerdict, type Question, type Verdict } from './xacml.js'
import { BodyTooLarge, readCapped } from '../config/read-capped.js'

/** How the PDP is reached. */
export interface PdpClientOptions {
  authorizeUrl: string
  tokens: AltinnTokenSource
  fetch: typeof fetch
  timeoutMs: number
  /** `Ocp-Apim-Subscription-Key`; undefined sends none */
  subscriptionKey: string | undefined
}

// A decision for one question is a few hundred bytes; far more is not one.
const MAX_ANSWER_BYTES = 256 * 1024

/** Ask the PDP one question; throws the 503 refusal when it cannot answer. */
export async function askPdp (options: PdpClientOptions, question: Question): Promise<Verdict> {
  const token = await options.tokens.getToken()
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` }
  if (options.subscriptionKey !== undefined) headers['ocp-apim-subscription-key'] = options.subscriptionKey
  let response: Response
  try {
    response = await options.fetch(options.authorizeUrl, { method: 'POST', headers, body: buildRequest(question), redirect: 'error', signal: AbortSignal.timeout(options.timeoutMs) })
  } catch (err) {
    throw altinnUnavailable(`Altinn's PDP could not be asked (${describeFetchFailure(err)})`)
  }
  const status = response.status
  if (status < 200 || status > 299) {
    await response.body?.cancel().catch(() => undefined)
    if (status === 401) {
      options.tokens.dropToken(token)
      throw altinnUnavailable(`Altinn's PDP answered 401: it refuses our credentials (the exchanged Altinn token${options.subscriptionKey === undefined ? '; no subscription key is sent, set PORTVAKT_ALTINN_SUBSCRIPTION_KEY' : ', or the subscription key PORTVAKT_ALTINN_SUBSCRIPTION_KEY'})`)
    }
    if (status === 403) throw altinnUnavailable(`Altinn's PDP answered 403: our Maskinporten client lacks the scope it takes (PORTVAKT_ALTINN_SCOPE)`)
    throw altinnUnavailable(`Altinn's PDP answered ${status}`)
  }
  let body: string
  try {
    body = await readCapped(response, MAX_ANSWER_BYTES, 'it')
  } catch (err) {
    if (err instanceof BodyTooLarge) return { decision: 'unreadable', why: err.message }
    throw altinnUnavailable(`Altinn's PDP could not be asked (${describeFetchFailure(err)})`)
  }
  return readVerdict(body)
}
