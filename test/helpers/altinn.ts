/**
 * A portvakt asking the real stand-in for Altinn (src/dev/altinn-pdp.ts) over HTTP, which takes
 * Maskinporten tokens from the real dev issuer (NAIS_TOKEN_ENDPOINT), with grants a test sets.
 */
import type { Test } from 'tap'
import { startDevPdp, type DevPdp } from '../../src/dev/altinn-pdp.js'
import type { DevGrant } from '../../src/dev/altinn-grants.js'
import { build, type Harness } from './build.js'
import { startDevTokenIssuer, type DevTokenIssuer } from './egress.js'
import { SYSTEM_USER_ID, SYSTEM_USER_ORG, systemUserClaims } from './party-claims.js'

export const SCOPE = 'nav:okonomi/krav.read'
export const SUBSCRIPTION_KEY = 'k3y-0f-the-apim-subscription'

/** Routes asking Altinn, and one that does not. */
export const ALTINN_ROUTES = `
routes:
  - path: /krav
    methods: [GET, POST]
    scopes: [${SCOPE}]
    systemUser: required
    altinn:
      resource: kravogbetaling
      action: { GET: read, HEAD: read, POST: write }
  - path: /plain
    scopes: [${SCOPE}]
`

/** A grant for the test's system user. */
export function grant (overrides: Partial<DevGrant> = {}): DevGrant {
  return { org: SYSTEM_USER_ORG, systemUserId: SYSTEM_USER_ID, resource: 'kravogbetaling', actions: new Set(['read']), authLevel: 3, ...overrides }
}

/** Everything an Altinn test drives. */
export interface AltinnHarness {
  h: Harness
  pdp: DevPdp
  issuer: DevTokenIssuer
  grants: DevGrant[]
  /** a system-user token for the gate */
  token: (claims?: Record<string, unknown>) => Promise<string>
  /** the PDP's questions so far (authorize calls) */
  questions: () => DevPdp['seen']
  exchanges: () => DevPdp['seen']
}

/** Start the issuer, the stand-in and portvakt; torn down with `t`. */
export async function buildAltinn (t: Test, options: { env?: Record<string, string>, routes?: string, pdpKey?: string | null } = {}): Promise<AltinnHarness> {
  const issuer = await startDevTokenIssuer()
  const grants: DevGrant[] = [grant()]
  const pdpKey = options.pdpKey === undefined ? SUBSCRIPTION_KEY : options.pdpKey
  const pdp = await startDevPdp({ host: '127.0.0.1', port: 0, maskinporten: issuer, grants: async () => grants, ...(pdpKey === null ? {} : { subscriptionKey: pdpKey }) })
  t.teardown(async () => { await pdp.close(); await issuer.close() })
  const h = await build(t, {
    routes: options.routes ?? ALTINN_ROUTES,
    env: { PORTVAKT_ALTINN_URL: pdp.url, NAIS_TOKEN_ENDPOINT: issuer.tokenEndpoint, PORTVAKT_ALTINN_SUBSCRIPTION_KEY: SUBSCRIPTION_KEY, ...options.env }
  })
  return {
    h,
    pdp,
    issuer,
    grants,
    token: async (claims = systemUserClaims()) => await h.mint({ claims: { scope: SCOPE, ...claims } }),
    questions: () => pdp.seen.filter((s) => s.path === '/authorization/api/v1/authorize'),
    exchanges: () => pdp.seen.filter((s) => s.path === '/authentication/api/v1/exchange/maskinporten')
  }
}
