/** Answers in Altinn's PDP format (camelCase, as TT02 answers), for the dev PDP and its tests. */

/** An obligation as Altinn writes one: category and value (https://docs.altinn.studio/authorization/what-do-you-get/pdp/). */
export interface DevObligation {
  category: string
  value: string
}

/** The two obligations Altinn puts on an ordinary Permit: a minimum level, and the service owners' level. */
export function levelObligations (level: number): DevObligation[] {
  return [
    { category: 'urn:altinn:minimum-authenticationlevel', value: String(level) },
    { category: 'urn:altinn:minimum-authenticationlevel-org', value: '3' }
  ]
}

const STATUS_OK = 'urn:oasis:names:tc:xacml:1.0:status:ok'

/** One result as Altinn writes it. */
export function resultOf (decision: string, obligations: readonly DevObligation[] = [], status = STATUS_OK): Record<string, unknown> {
  return {
    decision,
    status: { statusMessage: null, statusDetails: null, statusCode: { value: status, statusCode: null } },
    obligations: obligations.length === 0
      ? null
      : obligations.map((o, i) => ({
        id: `urn:altinn:obligation:authenticationLevel${i + 1}`,
        attributeAssignment: [{ attributeId: `urn:altinn:obligation${i + 1}-assignment${i + 1}`, value: o.value, category: o.category, dataType: 'http://www.w3.org/2001/XMLSchema#integer', issuer: null }]
      })),
    associateAdvice: null,
    category: null,
    policyIdentifierList: null
  }
}

/** A whole answer: `{response: [...results]}`. */
export function answerOf (...results: Array<Record<string, unknown>>): string {
  return JSON.stringify({ response: results })
}
