/**
 * Altinn's answers, end to end: portvakt asks the stand-in PDP over HTTP and lets a request on only
 * for one Permit whose obligations a system user meets. Every other answer is its own 403 with the
 * decision in the access line, and the upstream sees nothing. The request is Altinn's documented one.
 */
import t from 'tap'
import { answerOf, levelObligations, resultOf } from '../src/dev/altinn-answers.js'
import { ask, assertDenied, CHALLENGE, resetSeen } from './helpers/attack.js'
import { buildAltinn, grant } from './helpers/altinn.js'
import { SYSTEM_USER_ID, SYSTEM_USER_ORG } from './helpers/party-claims.js'

const bearer = (token: string): RequestInit => ({ headers: { authorization: `Bearer ${token}` } })

function accessLines (logs: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  return logs.filter((l) => l.msg === 'access')
}

t.test('a Permit lets the request on, after one question in Altinn\'s documented form', async (t) => {
  const a = await buildAltinn(t)
  const answer = await ask(`${a.h.url}/krav/1`, bearer(await a.token()))
  t.equal(answer.status, 200)
  t.equal(a.h.upstream.seen.length, 1)
  const [question] = a.questions()
  t.same(JSON.parse(question?.body ?? ''), {
    Request: {
      ReturnPolicyIdList: true,
      AccessSubject: [{ Attribute: [{ AttributeId: 'urn:altinn:systemuser:uuid', Value: SYSTEM_USER_ID }] }],
      Action: [{ Attribute: [{ AttributeId: 'urn:oasis:names:tc:xacml:1.0:action:action-id', Value: 'read', DataType: 'http://www.w3.org/2001/XMLSchema#string' }] }],
      Resource: [{ Attribute: [{ AttributeId: 'urn:altinn:resource', Value: 'kravogbetaling' }, { AttributeId: 'urn:altinn:organization:identifier-no', Value: SYSTEM_USER_ORG }] }]
    }
  }, 'one subject, one action, one resource with the bare orgno')
  t.equal(question?.headers['content-type'], 'application/json')
  t.match(accessLines(a.h.logs()).at(-1), { status: 200, altinn: 'permit', altinn_cached: false, systemuser_org: SYSTEM_USER_ORG })
})

t.test('the method picks the action: HEAD asks read as GET does, POST asks write', async (t) => {
  const a = await buildAltinn(t)
  a.grants.splice(0, 1, grant({ actions: new Set(['read', 'write']) }))
  const token = await a.token()
  t.equal((await ask(`${a.h.url}/krav/1`, { method: 'HEAD', ...bearer(token) })).status, 200)
  t.equal((await ask(`${a.h.url}/krav/1`, { method: 'POST', ...bearer(token) })).status, 200)
  t.same(a.questions().map((q) => JSON.parse(q.body).Request.Action[0].Attribute[0].Value), ['read', 'write'])
})

t.test('a Deny from the grants is a 403 PORTVAKT_ERR_ALTINN_DENIED, the decision in the access line', async (t) => {
  const a = await buildAltinn(t)
  const token = await a.token()
  const answer = await ask(`${a.h.url}/krav/1`, { method: 'POST', ...bearer(token) })
  assertDenied(t, a.h, answer, { status: 403, code: 'PORTVAKT_ERR_ALTINN_DENIED', challenge: CHALLENGE.insufficientScope, message: /Altinn denies/, secrets: [token] })
  t.match(accessLines(a.h.logs()).at(-1), { status: 403, altinn: 'deny', code: 'PORTVAKT_ERR_ALTINN_DENIED' })
})

// Every answer that is not one satisfiable Permit, in the shapes Altinn and its failures give.
const REFUSALS: Array<{ name: string, body: string, code: string, outcome: string, message?: RegExp }> = [
  { name: 'Deny', body: answerOf(resultOf('Deny')), code: 'PORTVAKT_ERR_ALTINN_DENIED', outcome: 'deny' },
  { name: 'NotApplicable', body: answerOf(resultOf('NotApplicable')), code: 'PORTVAKT_ERR_ALTINN_NOT_APPLICABLE', outcome: 'not_applicable' },
  { name: 'Indeterminate with a processing error', body: answerOf(resultOf('Indeterminate', [], 'urn:oasis:names:tc:xacml:1.0:status:processing-error')), code: 'PORTVAKT_ERR_ALTINN_INDETERMINATE', outcome: 'indeterminate', message: /processing-error/ },
  { name: 'Indeterminate whose status message holds a newline and non-ASCII', body: JSON.stringify({ response: [{ decision: 'Indeterminate', status: { statusMessage: 'feil i\r\nSet-Cookie: x=1 – ø', statusCode: { value: 'urn:oasis:names:tc:xacml:1.0:status:processing-error' } } }] }), code: 'PORTVAKT_ERR_ALTINN_INDETERMINATE', outcome: 'indeterminate', message: /processing-error: feil i\?\?Set-Cookie: x=1 \? \?\)/ },
  { name: 'a Permit whose obligation category holds a control character', body: answerOf(resultOf('Permit', [{ category: 'urn:x\u0000\u2028y', value: '1' }])), code: 'PORTVAKT_ERR_ALTINN_OBLIGATION', outcome: 'obligation', message: /urn:x\?\?y/ },
  { name: 'a decision with a newline', body: '{"response":[{"decision":"Permit\\n"}]}', code: 'PORTVAKT_ERR_ALTINN_UNREADABLE', outcome: 'unreadable' },
  { name: 'two results', body: answerOf(resultOf('Permit'), resultOf('Permit')), code: 'PORTVAKT_ERR_ALTINN_NOT_ONE_RESULT', outcome: 'not_one_result', message: /2 results/ },
  { name: 'a Permit beside a Deny', body: answerOf(resultOf('Permit'), resultOf('Deny')), code: 'PORTVAKT_ERR_ALTINN_NOT_ONE_RESULT', outcome: 'not_one_result' },
  { name: 'no results', body: answerOf(), code: 'PORTVAKT_ERR_ALTINN_NOT_ONE_RESULT', outcome: 'not_one_result', message: /0 results/ },
  { name: 'malformed JSON', body: '{"response": [{"decision": "Permit"', code: 'PORTVAKT_ERR_ALTINN_UNREADABLE', outcome: 'unreadable', message: /not JSON/ },
  { name: 'an empty body', body: '', code: 'PORTVAKT_ERR_ALTINN_UNREADABLE', outcome: 'unreadable' },
  { name: 'a JSON list', body: '[{"decision":"Permit"}]', code: 'PORTVAKT_ERR_ALTINN_UNREADABLE', outcome: 'unreadable' },
  { name: 'no response key', body: '{"decision":"Permit"}', code: 'PORTVAKT_ERR_ALTINN_UNREADABLE', outcome: 'unreadable', message: /no response list/ },
  { name: 'response not a list', body: '{"response":{"decision":"Permit"}}', code: 'PORTVAKT_ERR_ALTINN_UNREADABLE', outcome: 'unreadable' },
  { name: 'a result that is no object', body: '{"response":["Permit"]}', code: 'PORTVAKT_ERR_ALTINN_UNREADABLE', outcome: 'unreadable' },
  { name: 'no decision', body: '{"response":[{"status":{}}]}', code: 'PORTVAKT_ERR_ALTINN_UNREADABLE', outcome: 'unreadable', message: /no decision/ },
  { name: 'a decision in another case', body: '{"response":[{"decision":"permit"}]}', code: 'PORTVAKT_ERR_ALTINN_UNREADABLE', outcome: 'unreadable', message: /"permit"/ },
  { name: 'a decision that is no word of XACML', body: '{"response":[{"decision":"Allow"}]}', code: 'PORTVAKT_ERR_ALTINN_UNREADABLE', outcome: 'unreadable' },
  { name: 'a decision that is a list', body: '{"response":[{"decision":["Permit"]}]}', code: 'PORTVAKT_ERR_ALTINN_UNREADABLE', outcome: 'unreadable' },
  { name: 'decision and Decision both', body: '{"response":[{"decision":"Permit","Decision":"Deny"}]}', code: 'PORTVAKT_ERR_ALTINN_UNREADABLE', outcome: 'unreadable', message: /both decision and Decision/ },
  { name: 'a Permit padded past 256 KiB', body: '{"response":[{"decision":"Permit"}]}' + ' '.repeat(300 * 1024), code: 'PORTVAKT_ERR_ALTINN_UNREADABLE', outcome: 'unreadable', message: /larger than 262144 bytes/ },
  { name: 'a decision given twice, the last a Permit', body: '{"response":[{"decision":"Deny","decision":"Permit"}]}', code: 'PORTVAKT_ERR_ALTINN_UNREADABLE', outcome: 'unreadable', message: /names decision twice/ },
  { name: 'a response list given twice, the last a Permit', body: '{"response":[{"decision":"Deny"}],"response":[{"decision":"Permit"}]}', code: 'PORTVAKT_ERR_ALTINN_UNREADABLE', outcome: 'unreadable', message: /names response twice/ },
  { name: 'an obligation category given twice in one assignment, the last one met', body: '{"response":[{"decision":"Permit","obligations":[{"attributeAssignment":[{"category":"urn:altinn:minimum-authenticationlevel","value":"4","value":"2"}]}]}]}', code: 'PORTVAKT_ERR_ALTINN_UNREADABLE', outcome: 'unreadable', message: /names value twice/ },
  { name: 'response and Response both', body: '{"response":[{"decision":"Permit"}],"Response":[{"decision":"Deny"}]}', code: 'PORTVAKT_ERR_ALTINN_UNREADABLE', outcome: 'unreadable' },
  { name: 'a Permit that asks level 4', body: answerOf(resultOf('Permit', levelObligations(4))), code: 'PORTVAKT_ERR_ALTINN_AUTH_LEVEL', outcome: 'auth_level', message: /level 4, and a system user is level 3/ },
  { name: 'a Permit whose level is not a whole number', body: answerOf(resultOf('Permit', [{ category: 'urn:altinn:minimum-authenticationlevel', value: 'high' }])), code: 'PORTVAKT_ERR_ALTINN_OBLIGATION', outcome: 'obligation', message: /no whole-number value/ },
  { name: 'a Permit whose level is a fraction', body: answerOf(resultOf('Permit', [{ category: 'urn:altinn:minimum-authenticationlevel', value: '2.5' }])), code: 'PORTVAKT_ERR_ALTINN_OBLIGATION', outcome: 'obligation' },
  { name: 'a Permit whose org level is not a whole number', body: answerOf(resultOf('Permit', [{ category: 'urn:altinn:minimum-authenticationlevel-org', value: '' }])), code: 'PORTVAKT_ERR_ALTINN_OBLIGATION', outcome: 'obligation' },
  { name: 'a Permit with an obligation of another category', body: answerOf(resultOf('Permit', [...levelObligations(3), { category: 'urn:altinn:consent-required', value: '1' }])), code: 'PORTVAKT_ERR_ALTINN_OBLIGATION', outcome: 'obligation', message: /urn:altinn:consent-required, which portvakt does not understand/ },
  { name: 'a Permit whose level category differs in case', body: answerOf(resultOf('Permit', [{ category: 'URN:ALTINN:MINIMUM-AUTHENTICATIONLEVEL', value: '2' }])), code: 'PORTVAKT_ERR_ALTINN_OBLIGATION', outcome: 'obligation' },
  { name: 'a Permit with an obligation without assignments', body: JSON.stringify({ response: [{ decision: 'Permit', obligations: [{ id: 'urn:x', attributeAssignment: [] }] }] }), code: 'PORTVAKT_ERR_ALTINN_OBLIGATION', outcome: 'obligation' },
  { name: 'a Permit whose obligations are no list', body: JSON.stringify({ response: [{ decision: 'Permit', obligations: { id: 'urn:x' } }] }), code: 'PORTVAKT_ERR_ALTINN_OBLIGATION', outcome: 'obligation' },
  { name: 'a Permit whose obligation is no object', body: JSON.stringify({ response: [{ decision: 'Permit', obligations: ['urn:x'] }] }), code: 'PORTVAKT_ERR_ALTINN_OBLIGATION', outcome: 'obligation' },
  { name: 'a Permit whose assignment is no object', body: JSON.stringify({ response: [{ decision: 'Permit', obligations: [{ attributeAssignment: [3] }] }] }), code: 'PORTVAKT_ERR_ALTINN_OBLIGATION', outcome: 'obligation' },
  { name: 'a Permit whose assignment has category twice', body: JSON.stringify({ response: [{ decision: 'Permit', obligations: [{ attributeAssignment: [{ category: 'urn:altinn:minimum-authenticationlevel', Category: 'urn:x', value: '2' }] }] }] }), code: 'PORTVAKT_ERR_ALTINN_UNREADABLE', outcome: 'unreadable' }
]

t.test('every answer but one satisfiable Permit is its own 403, the upstream untouched', async (t) => {
  const a = await buildAltinn(t, { env: { PORTVAKT_ALTINN_CACHE_TTL: '0s' } })
  const token = await a.token()
  for (const refusal of REFUSALS) {
    await t.test(refusal.name, async (t) => {
      resetSeen(a.h)
      a.pdp.answer = () => ({ body: refusal.body })
      const answer = await ask(`${a.h.url}/krav/1`, bearer(token))
      assertDenied(t, a.h, answer, { status: 403, code: refusal.code, challenge: CHALLENGE.insufficientScope, ...(refusal.message === undefined ? {} : { message: refusal.message }) })
      t.match(accessLines(a.h.logs()).at(-1), { status: 403, altinn: refusal.outcome, code: refusal.code })
    })
  }
})

// Permits a system user meets, in every key case and shape Altinn writes them.
const PERMITS: Array<{ name: string, body: string }> = [
  { name: 'camelCase, as TT02 answers, with level 3 and the org level', body: answerOf(resultOf('Permit', levelObligations(3))) },
  { name: 'PascalCase, as Altinn\'s guides write it', body: JSON.stringify({ Response: [{ Decision: 'Permit', Status: { StatusCode: { Value: 'urn:oasis:names:tc:xacml:1.0:status:ok' } }, Obligations: [{ id: 'urn:altinn:obligation:authenticationLevel1', attributeAssignment: [{ attributeId: 'urn:altinn:obligation1-assignment1', value: '2', category: 'urn:altinn:minimum-authenticationlevel' }] }] }] }) },
  { name: 'without obligations', body: answerOf(resultOf('Permit')) },
  { name: 'with obligations null', body: '{"response":[{"decision":"Permit","obligations":null}]}' },
  { name: 'with a level given as a number', body: JSON.stringify({ response: [{ decision: 'Permit', obligations: [{ attributeAssignment: [{ category: 'urn:altinn:minimum-authenticationlevel', value: 2 }] }] }] }) },
  { name: 'with the org level 4, which applies to service owners only, beside a minimum of 3', body: answerOf(resultOf('Permit', [{ category: 'urn:altinn:minimum-authenticationlevel', value: '3' }, { category: 'urn:altinn:minimum-authenticationlevel-org', value: '4' }])) },
  { name: 'with advice, which is no obligation', body: JSON.stringify({ response: [{ decision: 'Permit', associateAdvice: [{ id: 'urn:x', attributeAssignment: [{ category: 'urn:x', value: 'y' }] }] }] }) }
]

t.test('a Permit a system user meets lets the request on, in every key case Altinn writes', async (t) => {
  const a = await buildAltinn(t, { env: { PORTVAKT_ALTINN_CACHE_TTL: '0s' } })
  const token = await a.token()
  for (const permit of PERMITS) {
    a.pdp.answer = () => ({ body: permit.body })
    const answer = await ask(`${a.h.url}/krav/1`, bearer(token))
    t.equal(answer.status, 200, permit.name)
  }
  t.equal(a.h.upstream.seen.length, PERMITS.length)
})

t.test('a grant asking level 4 is refused with the reason, from the grants file\'s own obligations', async (t) => {
  const a = await buildAltinn(t)
  a.grants.splice(0, 1, grant({ authLevel: 4 }))
  const answer = await ask(`${a.h.url}/krav/1`, bearer(await a.token()))
  assertDenied(t, a.h, answer, { status: 403, code: 'PORTVAKT_ERR_ALTINN_AUTH_LEVEL', message: /asks authentication level 4/ })
})

t.test('a route without altinn never asks the PDP', async (t) => {
  const a = await buildAltinn(t)
  t.equal((await ask(`${a.h.url}/plain/1`, bearer(await a.token()))).status, 200)
  t.equal((await ask(`${a.h.url}/plain/1`, bearer(await a.h.mint({ claims: { scope: 'nav:okonomi/krav.read' } })))).status, 200)
  t.same(a.pdp.seen, [])
  t.equal(accessLines(a.h.logs()).at(-1)?.altinn, undefined, 'no Altinn decision in the access line')
})

t.test('a token without a system user is refused before Altinn is asked', async (t) => {
  const a = await buildAltinn(t)
  const answer = await ask(`${a.h.url}/krav/1`, bearer(await a.h.mint({ claims: { scope: 'nav:okonomi/krav.read' } })))
  assertDenied(t, a.h, answer, { status: 403, code: 'PORTVAKT_ERR_SYSTEM_USER_REQUIRED' })
  t.same(a.pdp.seen, [])
})
