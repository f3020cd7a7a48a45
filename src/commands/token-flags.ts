/**
 * `portvakt token`'s flags for delegated and system-user tokens, checked before the dev issuer is
 * asked, each refusal naming the flag as typed (the issuer's field names are not the user's words).
 */
import { SYSTEM_USER_FIELDS } from '../dev/system-grant.js'

/** Whom the token speaks for besides the consumer (`--orgno`). */
export interface PartyFlags {
  /** --supplier: a delegated token, the supplier calling for the consumer */
  supplier?: string
  /** --systemuser-org: a system-user token for this customer; the consumer is the vendor */
  systemUserOrg?: string
  /** --system-id */
  systemId?: string
  /** --systemuser-id */
  systemUserId?: string
}

/** The parseArgs options these flags take. */
export const PARTY_OPTIONS = {
  supplier: { type: 'string' },
  'systemuser-org': { type: 'string' },
  'system-id': { type: 'string' },
  'systemuser-id': { type: 'string' }
} as const

const ORGNO = /^\d{9}$/

/** The flags as options, or the usage message for the first one that is wrong. */
export function readPartyFlags (values: Record<string, unknown>): { flags: PartyFlags } | { message: string } {
  const supplier = values.supplier as string | undefined
  const systemUserOrg = values['systemuser-org'] as string | undefined
  const systemId = values['system-id'] as string | undefined
  const systemUserId = values['systemuser-id'] as string | undefined
  if (supplier !== undefined && !ORGNO.test(supplier)) return { message: `--supplier is the supplier's organisation number, 9 digits (e.g. --supplier 111111111), not "${supplier}"` }
  if (systemUserOrg !== undefined && !ORGNO.test(systemUserOrg)) return { message: `--systemuser-org is the customer's organisation number, 9 digits (e.g. --systemuser-org 222222222), not "${systemUserOrg}"` }
  for (const [flag, value] of [['--system-id', systemId], ['--systemuser-id', systemUserId]] as const) {
    if (value !== undefined && systemUserOrg === undefined) return { message: `${flag} shapes a system user: give --systemuser-org too (the customer organisation it acts for)` }
  }
  if (systemId !== undefined && !SYSTEM_USER_FIELDS.system_id.safeParse(systemId).success) return { message: `--system-id is printable ASCII without spaces (e.g. --system-id 123456789_lonn), not "${systemId}"` }
  if (systemUserId !== undefined && !SYSTEM_USER_FIELDS.systemuser_id.safeParse(systemUserId).success) return { message: `--systemuser-id is a UUID (e.g. --systemuser-id 8b1d1e3c-2f4a-4b6e-9c1d-0a2b3c4d5e6f), not "${systemUserId}"` }
  const flags: PartyFlags = {}
  if (supplier !== undefined) flags.supplier = supplier
  if (systemUserOrg !== undefined) flags.systemUserOrg = systemUserOrg
  if (systemId !== undefined) flags.systemId = systemId
  if (systemUserId !== undefined) flags.systemUserId = systemUserId
  return { flags }
}

/** The token request's fields for the flags: `supplier`, and `authorization_details` as the NAIS endpoint takes it. */
export function partyRequestFields (flags: PartyFlags): Record<string, unknown> {
  const body: Record<string, unknown> = {}
  if (flags.supplier !== undefined) body.supplier = flags.supplier
  if (flags.systemUserOrg !== undefined) {
    body.authorization_details = [{ type: 'urn:altinn:systemuser', systemuser_org: { authority: 'iso6523-actorid-upis', ID: `0192:${flags.systemUserOrg}` } }]
    if (flags.systemId !== undefined) body.system_id = flags.systemId
    if (flags.systemUserId !== undefined) body.systemuser_id = flags.systemUserId
  }
  return body
}
