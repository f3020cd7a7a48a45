/**
 * The `PORTVAKT_ALTINN_*` settings (docs/altinn.md): the platform's base URL, from which the PDP's
 * and the token exchange's paths follow, the Maskinporten scope, the timeout, the decision cache, and
 * the APIM subscription key from a variable or a file (NAIS mounts secrets both ways). Fields spread
 * into env-schema.ts's schema; the key is never logged (observe/start-log.ts masks it).
 */
import { z } from 'zod'
import { duration, httpUrl, wholeNumber } from './env-values.js'
import { isLoopbackUrl } from './loopback.js'

/** The PDP scope Altinn's authorize policy takes (altinn:authorization/authorize or its .admin). */
export const DEFAULT_ALTINN_SCOPE = 'altinn:authorization/authorize'

/** The variables, spread into the environment's schema. */
export const ALTINN_ENV = {
  PORTVAKT_ALTINN_URL: httpUrl.optional(),
  PORTVAKT_ALTINN_SCOPE: z.string().regex(/^[a-z0-9]+:[\x21-\x7e]+$/i, 'a Maskinporten scope, e.g. altinn:authorization/authorize').default(DEFAULT_ALTINN_SCOPE),
  PORTVAKT_ALTINN_TIMEOUT: duration('5s', 1, 60_000),
  PORTVAKT_ALTINN_CACHE_TTL: duration('30s', 0, 3_600_000),
  PORTVAKT_ALTINN_CACHE_SIZE: wholeNumber('10000', 0, 1_000_000, 'entries'),
  PORTVAKT_ALTINN_SUBSCRIPTION_KEY: z.string().regex(/^[\x21-\x7e]+$/, 'the key is printable ASCII without spaces (it goes into a header)').optional(),
  PORTVAKT_ALTINN_SUBSCRIPTION_KEY_FILE: z.string().min(1).optional()
}

const AltinnEnvSchema = z.object(ALTINN_ENV)
type AltinnEnv = z.output<typeof AltinnEnvSchema>

/** Where the subscription key comes from, if anywhere. */
export type SubscriptionKeySource = { readonly value: string } | { readonly file: string } | undefined

/** The settings; undefined URL means no route may ask Altinn. */
export function altinnSettings (e: AltinnEnv) {
  const base = e.PORTVAKT_ALTINN_URL?.replace(/\/+$/, '')
  const key: SubscriptionKeySource = e.PORTVAKT_ALTINN_SUBSCRIPTION_KEY !== undefined
    ? Object.freeze({ value: e.PORTVAKT_ALTINN_SUBSCRIPTION_KEY })
    : e.PORTVAKT_ALTINN_SUBSCRIPTION_KEY_FILE !== undefined ? Object.freeze({ file: e.PORTVAKT_ALTINN_SUBSCRIPTION_KEY_FILE }) : undefined
  return Object.freeze({
    baseUrl: base,
    /** https://docs.altinn.studio/authorization/what-do-you-get/pdp/ */
    authorizeUrl: base === undefined ? undefined : `${base}/authorization/api/v1/authorize`,
    /** Altinn/altinn-authentication, AuthenticationController.cs */
    exchangeUrl: base === undefined ? undefined : `${base}/authentication/api/v1/exchange/maskinporten`,
    scope: e.PORTVAKT_ALTINN_SCOPE,
    timeoutMs: e.PORTVAKT_ALTINN_TIMEOUT,
    cacheTtlMs: e.PORTVAKT_ALTINN_CACHE_TTL,
    cacheSize: e.PORTVAKT_ALTINN_CACHE_SIZE,
    subscriptionKey: key
  })
}

/** The problems between the variables: a base that is no base, cleartext across the network, two keys. */
export function checkAltinnEnv (env: Partial<AltinnEnv>): string[] {
  const problems: string[] = []
  const url = env.PORTVAKT_ALTINN_URL
  if (url !== undefined) {
    const parsed = new URL(url)
    if (parsed.search !== '' || parsed.hash !== '' || parsed.username !== '' || parsed.password !== '') problems.push(`PORTVAKT_ALTINN_URL: give the platform's base URL only, e.g. https://platform.tt02.altinn.no (no query, fragment or credentials)`)
    // Every call carries our Altinn token and the subscription key.
    if (parsed.protocol === 'http:' && !isLoopbackUrl(url)) problems.push(`PORTVAKT_ALTINN_URL: plain http to a host that is not loopback (${url}); use https://`)
  }
  if (env.PORTVAKT_ALTINN_SUBSCRIPTION_KEY !== undefined && env.PORTVAKT_ALTINN_SUBSCRIPTION_KEY_FILE !== undefined) {
    problems.push('PORTVAKT_ALTINN_SUBSCRIPTION_KEY and PORTVAKT_ALTINN_SUBSCRIPTION_KEY_FILE are both set; set one')
  }
  return problems
}
