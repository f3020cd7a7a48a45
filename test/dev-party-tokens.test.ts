/**
 * The dev issuer's delegated and system-user tokens: shaped as Digdir and Altinn document real ones
 * (and read by the gate's own parser without a refusal), asked for as the NAIS token endpoint takes
 * `authorization_details` (a JSON list, or a JSON string in a form body), cached per shape, and each
 * bad request refused with its reason. `portvakt token`'s flags ask for them, and name themselves
 * when wrong.
 */
import t, { type Test } from 'tap'
import { decodeJwt } from 'jose'
import { readPartyClaims } from '../src/auth/party-claims.js'
import { parseCommand } from '../src/commands/argv.js'
import { requestDevToken } from '../src/commands/token.js'
import { loadDevKey, type DevKey } from '../src/dev/dev-key.js'
import { startDevIssuer, type DevIssuer, type IssueEvent } from '../src/dev/issuer.js'
import { deriveClientId, nameBasedUuid } from '../src/dev/mint.js'

let shared: Promise<DevKey> | undefined

async function start (t: Test): Promise<{ issuer: DevIssuer, events: IssueEvent[] }> {
  shared ??= loadDevKey(t.testdir())
  const events: IssueEvent[] = []
  const issuer = await startDevIssuer({ host: '127.0.0.1', port: 0, key: await shared, onIssue: (e) => { events.push(e) } })
  t.teardown(issuer.close)
  return { issuer, events }
}

async function post (url: string, body: Record<string, unknown> | URLSearchParams): Promise<{ status: number, json: Record<string, unknown> }> {
  const res = body instanceof URLSearchParams
    ? await fetch(url, { method: 'POST', body })
    : await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, json: await res.json() as Record<string, unknown> }
}

const READ = { identity_provider: 'maskinporten', target: 'nav:helse/im.read' }
const GRANT = [{ type: 'urn:altinn:systemuser', systemuser_org: { authority: 'iso6523-actorid-upis', ID: '0192:222222222' } }]
const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

function claimsOf (json: Record<string, unknown>): Record<string, unknown> {
  return decodeJwt(json.access_token as string)
}

t.test('a name-based UUID is RFC 9562 version 5 (the RFC\'s own example)', async (t) => {
  // RFC 9562 Appendix A.4: UUIDv5 of "www.example.com" in the DNS namespace.
  t.equal(nameBasedUuid(Buffer.from('6ba7b8109dad11d180b400c04fd430c8', 'hex'), 'www.example.com'), '2ed6657d-e927-568b-95e1-2665a8aea6a2')
})

t.test('supplier makes a delegated token as Digdir documents it: the consumer is the customer, the client the supplier\'s', async (t) => {
  const { issuer, events } = await start(t)
  const { status, json } = await post(issuer.tokenEndpoint, { ...READ, consumer_orgno: '910753614', supplier: '991825827' })
  t.equal(status, 200)
  const claims = claimsOf(json)
  t.same(claims.consumer, { authority: 'iso6523-actorid-upis', ID: '0192:910753614' })
  t.same(claims.supplier, { authority: 'iso6523-actorid-upis', ID: '0192:991825827' })
  t.equal(claims.delegation_source, 'https://tt02.altinn.no/')
  t.equal(claims.client_id, deriveClientId('991825827'))
  t.notOk('authorization_details' in claims)
  t.same(readPartyClaims(claims), { supplier: '991825827', delegationSource: 'https://tt02.altinn.no/', systemUser: undefined }, 'the gate reads it')
  t.match(events.at(-1), { orgno: '910753614', supplier: '991825827', systemUserOrg: undefined })
})

t.test('authorization_details makes a system-user token as Altinn documents it: the consumer is the vendor', async (t) => {
  const { issuer, events } = await start(t)
  const { status, json } = await post(issuer.tokenEndpoint, { ...READ, consumer_orgno: '314330897', authorization_details: GRANT })
  t.equal(status, 200)
  const claims = claimsOf(json)
  t.same(claims.consumer, { authority: 'iso6523-actorid-upis', ID: '0192:314330897' })
  const details = claims.authorization_details as Array<Record<string, unknown>>
  t.equal(details.length, 1)
  t.same(Object.keys(details[0] ?? {}), ['type', 'systemuser_org', 'systemuser_id', 'system_id'])
  t.same(details[0]?.systemuser_org, { authority: 'iso6523-actorid-upis', id: '0192:222222222' }, 'lower-case id, as real tokens spell it')
  t.match(details[0]?.systemuser_id, [UUID_V5])
  t.equal(details[0]?.system_id, '314330897_dev', 'a system id in the usual <vendor orgno>_<name> shape')
  t.notOk('supplier' in claims)
  t.match(readPartyClaims(claims).systemUser, { org: '222222222', systemId: '314330897_dev' }, 'the gate reads it')
  t.match(events.at(-1), { orgno: '314330897', supplier: undefined, systemUserOrg: '222222222' })
})

t.test('a form body carries authorization_details as a JSON string, as the NAIS endpoint takes it', async (t) => {
  const { issuer } = await start(t)
  const { status, json } = await post(issuer.tokenEndpoint, new URLSearchParams({ ...READ, authorization_details: JSON.stringify(GRANT), system_id: '123456789_lonn' }))
  t.equal(status, 200)
  t.match(claimsOf(json).authorization_details, [{ systemuser_org: { id: '0192:222222222' }, system_id: '123456789_lonn' }])
})

t.test('the systemuser_id stays the same for a customer and system, differs for another, or is the one given', async (t) => {
  const { issuer } = await start(t)
  const idOf = async (extra: Record<string, unknown>): Promise<unknown> => (claimsOf((await post(issuer.tokenEndpoint, { ...READ, skip_cache: true, authorization_details: GRANT, ...extra })).json).authorization_details as Array<Record<string, unknown>>)[0]?.systemuser_id
  const first = await idOf({ system_id: '123456789_lonn' })
  t.same(await idOf({ system_id: '123456789_lonn' }), first, 'stable across tokens')
  t.not(JSON.stringify(await idOf({ system_id: '123456789_regnskap' })), JSON.stringify(first), 'another system')
  t.not(JSON.stringify(await idOf({ system_id: '123456789_lonn', authorization_details: [{ ...GRANT[0], systemuser_org: { authority: 'iso6523-actorid-upis', ID: '0192:333333333' } }] })), JSON.stringify(first), 'another customer')
  t.same(await idOf({ systemuser_id: 'ebe4a681-0a8c-429e-a36f-8f9ca942b59f' }), ['ebe4a681-0a8c-429e-a36f-8f9ca942b59f'], 'given')
})

t.test('the token cache keys on authorization_details and the dev-only fields', async (t) => {
  const { issuer } = await start(t)
  const token = async (extra: Record<string, unknown>): Promise<string> => (await post(issuer.tokenEndpoint, { ...READ, ...extra })).json.access_token as string
  const plain = await token({})
  const system = await token({ authorization_details: GRANT })
  t.not(system, plain)
  t.equal(await token({ authorization_details: GRANT }), system, 'the same grant: the cached token')
  t.equal(await token({ authorization_details: JSON.stringify(GRANT) }), system, 'the same grant as a JSON string')
  t.not(await token({ authorization_details: [{ ...GRANT[0], systemuser_org: { authority: 'iso6523-actorid-upis', ID: '0192:333333333' } }] }), system, 'another customer')
  t.not(await token({ authorization_details: GRANT, system_id: 'x_y' }), system, 'another system')
  const delegated = await token({ supplier: '991825827' })
  t.not(delegated, plain)
  t.equal(await token({ supplier: '991825827' }), delegated)
  t.not(await token({ supplier: '111111111' }), delegated, 'another supplier')
  t.equal(await token({}), plain, 'the plain token is still cached')
})

t.test('refuses authorization_details that is not one system-user grant, consumer_org, and dev fields without a grant', async (t) => {
  const { issuer } = await start(t)
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an object', { authorization_details: GRANT[0] }, /authorization_details is a JSON list of objects/],
    ['a number', { authorization_details: 42 }, /JSON list of objects/],
    ['null', { authorization_details: null }, /JSON list of objects/],
    ['a list of strings', { authorization_details: ['urn:altinn:systemuser'] }, /JSON list of objects/],
    ['not JSON', { authorization_details: '[{"type":' }, /authorization_details is not valid JSON/],
    ['no entries', { authorization_details: [] }, /one urn:altinn:systemuser entry: one organisation per grant/],
    ['two entries', { authorization_details: [GRANT[0], GRANT[0]] }, /one organisation per grant/],
    ['a consent', { authorization_details: [{ type: 'urn:altinn:consent', id: 'x' }] }, /mints urn:altinn:systemuser entries only/],
    ['another authority', { authorization_details: [{ ...GRANT[0], systemuser_org: { authority: 'x', ID: '0192:222222222' } }] }, /systemuser_org.authority is "iso6523-actorid-upis"/],
    ['a bare orgno', { authorization_details: [{ ...GRANT[0], systemuser_org: { authority: 'iso6523-actorid-upis', ID: '222222222' } }] }, /"0192:" and a 9-digit orgno/],
    ['ID and id that differ', { authorization_details: [{ ...GRANT[0], systemuser_org: { authority: 'iso6523-actorid-upis', ID: '0192:222222222', id: '0192:333333333' } }] }, /9-digit orgno/],
    ['consumer_org', { consumer_org: '910753614' }, /no consumer_org field.*send supplier/],
    ['system_id alone', { system_id: 'x_y' }, /system_id belongs to a system user/],
    ['systemuser_id alone', { systemuser_id: 'ebe4a681-0a8c-429e-a36f-8f9ca942b59f' }, /systemuser_id belongs to a system user/],
    ['a bad systemuser_id', { authorization_details: GRANT, systemuser_id: 'abc' }, /systemuser_id is a UUID/],
    ['a system_id with a space', { authorization_details: GRANT, system_id: 'a b' }, /system_id is printable ASCII without spaces/],
    ['a short supplier', { supplier: '12345' }, /^supplier: an orgno is 9 digits/]
  ]
  for (const [name, extra, message] of cases) {
    const { status, json } = await post(issuer.tokenEndpoint, { ...READ, ...extra })
    t.equal(status, 400, name)
    t.equal(json.error, 'invalid_request', name)
    t.match(json.error_description, message, name)
  }
})

t.test('portvakt token\'s flags ask for delegated and system-user tokens', async (t) => {
  const { issuer } = await start(t)
  const delegated = decodeJwt(await requestDevToken({ issuerUrl: issuer.issuer, scopes: ['nav:helse/im.read'], orgno: '910753614', supplier: '991825827' }))
  t.same(delegated.supplier, { authority: 'iso6523-actorid-upis', ID: '0192:991825827' })
  t.same(delegated.consumer, { authority: 'iso6523-actorid-upis', ID: '0192:910753614' })
  const system = decodeJwt(await requestDevToken({ issuerUrl: issuer.issuer, scopes: ['nav:helse/im.read'], systemUserOrg: '222222222', systemId: '123456789_lonn', systemUserId: 'ebe4a681-0a8c-429e-a36f-8f9ca942b59f' }))
  t.same(system.authorization_details, [{ type: 'urn:altinn:systemuser', systemuser_org: { authority: 'iso6523-actorid-upis', id: '0192:222222222' }, systemuser_id: ['ebe4a681-0a8c-429e-a36f-8f9ca942b59f'], system_id: '123456789_lonn' }])
})

t.test('portvakt token parses the flags, and a wrong one is a usage error naming it as typed', async (t) => {
  t.match(parseCommand('token', ['--scope', 'a:b', '--supplier', '991825827', '--systemuser-org', '222222222', '--system-id', '123456789_lonn', '--systemuser-id', 'ebe4a681-0a8c-429e-a36f-8f9ca942b59f']), {
    kind: 'token',
    options: { supplier: '991825827', systemUserOrg: '222222222', systemId: '123456789_lonn', systemUserId: 'ebe4a681-0a8c-429e-a36f-8f9ca942b59f' }
  })
  const cases: Array<[string[], RegExp]> = [
    [['--supplier', '12345'], /^--supplier is the supplier's organisation number, 9 digits \(e\.g\. --supplier 111111111\), not "12345"$/],
    [['--systemuser-org', '0192:222222222'], /^--systemuser-org is the customer's organisation number, 9 digits/],
    [['--system-id', 'x_y'], /^--system-id shapes a system user: give --systemuser-org too/],
    [['--systemuser-id', 'ebe4a681-0a8c-429e-a36f-8f9ca942b59f'], /^--systemuser-id shapes a system user: give --systemuser-org too/],
    [['--systemuser-org', '222222222', '--system-id', 'a b'], /^--system-id is printable ASCII without spaces \(e\.g\. --system-id 123456789_lonn\), not "a b"$/],
    [['--systemuser-org', '222222222', '--systemuser-id', 'nope'], /^--systemuser-id is a UUID/]
  ]
  for (const [args, message] of cases) t.match(parseCommand('token', ['--scope', 'a:b', ...args]), { kind: 'usage', message, help: /--systemuser-org <orgno>/ }, args.join(' '))
})
