/**
 * Claims of delegated and system-user tokens as Digdir and Altinn document them (docs/delegation.md),
 * to merge into a token: the orgnos are the documented ones, the ids and system names too.
 */

/** An organisation claim: `{authority, ID: "0192:<orgno>"}` (`key: 'id'` as systemuser_org is documented). */
export function org (orgno: string, key: 'ID' | 'id' = 'ID'): Record<string, string> {
  return { authority: 'iso6523-actorid-upis', [key]: `0192:${orgno}` }
}

/** The supplier in Digdir's delegation example. */
export const SUPPLIER = '991825827'
/** The customer (the consumer of a delegated token) in Digdir's delegation example. */
export const CUSTOMER = '910753614'
/** The customer that created the system user in Altinn's example. */
export const SYSTEM_USER_ORG = '314168267'
/** The vendor (the consumer of a system-user token) in Altinn's example. */
export const VENDOR = '314330897'
/** Altinn's example systemuser_id and system_id. */
export const SYSTEM_USER_ID = 'ebe4a681-0a8c-429e-a36f-8f9ca942b59f'
export const SYSTEM_ID = '991825827_smartcloud'

/** A delegated token's claims: consumer the customer, supplier who calls, the test delegation source. */
export function delegatedClaims (supplier = SUPPLIER, customer = CUSTOMER): Record<string, unknown> {
  return { consumer: org(customer), supplier: org(supplier), delegation_source: 'https://tt02.altinn.no/', client_orgno: supplier }
}

/** A system-user entry of authorization_details, with overrides. */
export function systemUserEntry (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'urn:altinn:systemuser', systemuser_org: org(SYSTEM_USER_ORG, 'id'), systemuser_id: [SYSTEM_USER_ID], system_id: SYSTEM_ID, ...overrides }
}

/** A system-user token's claims: consumer the vendor, the customer inside authorization_details. */
export function systemUserClaims (entry: Record<string, unknown> = systemUserEntry(), vendor = VENDOR): Record<string, unknown> {
  return { consumer: org(vendor), authorization_details: [entry] }
}

/** A consent entry as Digdir documents it, which may sit beside a system user. */
export const CONSENT_ENTRY = Object.freeze({
  type: 'urn:altinn:consent',
  id: 'd5a1c7b2-2b5a-4a4e-9a3e-6f0a9a1d2c3b',
  from: 'urn:altinn:person:identifier-no:01017012345',
  to: org('910753614'),
  consented: '2025-01-01T10:00:00Z',
  validTo: '2026-01-01T10:00:00Z',
  consentRights: [{ action: ['consent'], resource: [{ type: 'urn:altinn:resource', value: 'ttd_inntektsopplysninger' }], metadata: { INNTEKTSAAR: '2024' } }]
})
