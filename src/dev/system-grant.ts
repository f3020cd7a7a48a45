/**
 * `authorization_details` in a dev token request, read as the NAIS token endpoint and Maskinporten
 * would: Texas takes a JSON list of objects, or (in a form body) a JSON string holding one, and
 * passes it on unread (https://github.com/nais/texas, src/oauth/request.rs); Maskinporten takes one
 * `urn:altinn:systemuser` entry naming one customer organisation in `systemuser_org`
 * (docs.altinn.studio, "Use a system user token"). The dev issuer mints system users only, so any
 * other entry is refused with a reason, not silently dropped.
 */
import { z } from 'zod'

const SYSTEM_USER_TYPE = 'urn:altinn:systemuser'
const LIST_OF_OBJECTS = 'authorization_details is a JSON list of objects (RFC 9396)'
const ORG_AUTHORITY = 'iso6523-actorid-upis'
const ORG_ID_TEXT = 'systemuser_org.ID is "0192:" and a 9-digit orgno, e.g. "0192:222222222"'

function parseJsonText (value: unknown, ctx: z.RefinementCtx): unknown {
  if (typeof value !== 'string') return value
  try {
    return JSON.parse(value)
  } catch {
    ctx.addIssue({ code: 'custom', message: 'authorization_details is not valid JSON' })
    return z.NEVER
  }
}

const Organisation = z.object({
  authority: z.literal(ORG_AUTHORITY, { error: `systemuser_org.authority is "${ORG_AUTHORITY}"` }),
  ID: z.string({ error: ORG_ID_TEXT }).optional(),
  id: z.string({ error: ORG_ID_TEXT }).optional()
}, { error: 'systemuser_org is {authority, ID: "0192:<orgno>"}' }).transform((org, ctx) => {
  const id = org.ID ?? org.id
  const orgno = id === undefined || (org.ID !== undefined && org.id !== undefined && org.ID !== org.id) ? undefined : /^0192:(\d{9})$/.exec(id)?.[1]
  if (orgno === undefined) ctx.addIssue({ code: 'custom', message: ORG_ID_TEXT })
  return orgno ?? ''
})

const SystemUserGrant = z.object({
  type: z.string({ error: 'each authorization_details entry has a type, e.g. "urn:altinn:systemuser"' }).refine((type) => type === SYSTEM_USER_TYPE, `the dev issuer mints ${SYSTEM_USER_TYPE} entries only`),
  systemuser_org: Organisation
})

/** The field: a list of one system-user grant, as JSON or as a JSON string; its output is the customer's orgno. */
export const AuthorizationDetails = z.unknown().transform(parseJsonText)
  .pipe(z.array(z.record(z.string(), z.unknown(), { error: LIST_OF_OBJECTS }), { error: LIST_OF_OBJECTS }))
  .pipe(z.array(SystemUserGrant).length(1, `authorization_details holds one ${SYSTEM_USER_TYPE} entry: one organisation per grant`))
  .transform((grants) => ({ org: grants[0]?.systemuser_org ?? '' }))

/** Dev-only fields that shape the system user minted (Maskinporten takes them from the system register). */
export const SYSTEM_USER_FIELDS = {
  system_id: z.string().regex(/^[\x21-\x7e]{1,100}$/, 'system_id is printable ASCII without spaces, e.g. 123456789_lonn').optional(),
  systemuser_id: z.uuid({ error: 'systemuser_id is a UUID, e.g. 8b1d1e3c-2f4a-4b6e-9c1d-0a2b3c4d5e6f' }).optional()
}
