/**
 * The dev PDP's grants file (src/dev/altinn-grants.ts) and its decisions: the shipped file grants
 * the README session's system user read on kravogbetaling; a bad file names each problem with its
 * line; a missing one grants nothing; a grant's resource, org, system user and action decide.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../src/config/errors.js'
import { loadGrants, parseGrants } from '../src/dev/altinn-grants.js'
import { decideFromGrants } from '../src/dev/altinn-pdp.js'
import { deriveSystemUserId } from '../src/dev/mint.js'
import { buildRequest } from '../src/altinn/xacml.js'

const decisionOf = (body: string): string => (JSON.parse(body) as { response: Array<{ decision: string }> }).response[0]?.decision ?? ''

t.test('the shipped grants file lets the README session\'s system user read kravogbetaling for 222222222, and nothing else', async (t) => {
  const grants = parseGrants(readFileSync('config/altinn-grants.yaml', 'utf8'), 'config/altinn-grants.yaml')
  const systemUserId = deriveSystemUserId('222222222', '123456789_lonn')
  t.same(grants, [{ org: '222222222', systemUserId, resource: 'kravogbetaling', actions: new Set(['read']), authLevel: 3 }])
  const ask = (q: Partial<Parameters<typeof buildRequest>[0]>): string => decisionOf(decideFromGrants(buildRequest({ systemUserId, resource: 'kravogbetaling', action: 'read', org: '222222222', ...q }), grants))
  t.equal(ask({}), 'Permit')
  t.equal(ask({ action: 'write' }), 'Deny')
  t.equal(ask({ org: '333333333' }), 'Deny')
  t.equal(ask({ systemUserId: deriveSystemUserId('222222222', 'other') }), 'Deny')
  t.equal(ask({ resource: 'annen-ressurs' }), 'NotApplicable', 'a resource no grant names')
  t.equal(decisionOf(decideFromGrants('{', grants)), 'Indeterminate', 'a request it cannot read')
})

t.test('a grant may name its system user by id, and ask another level', async (t) => {
  const [grant] = parseGrants('grants:\n  - { org: "222222222", systemUserId: 8b1d1e3c-2f4a-4b6e-9c1d-0a2b3c4d5e6f, resource: krav, actions: [read, write], authLevel: 4 }\n', 'g.yaml')
  t.match(grant, { systemUserId: '8b1d1e3c-2f4a-4b6e-9c1d-0a2b3c4d5e6f', authLevel: 4 })
})

t.test('a bad grants file names each problem with its line', async (t) => {
  let problems: readonly string[] = []
  try {
    parseGrants('grants:\n  - { org: 222222222, system: x, resource: krav, actions: [read] }\n  - { org: "222222222", resource: Krav, actions: [] }\n  - { org: "222222222", system: x, systemUserId: 8b1d1e3c-2f4a-4b6e-9c1d-0a2b3c4d5e6f, resource: krav, actions: [read] }\n', 'g.yaml')
  } catch (err) {
    t.ok(err instanceof ConfigError)
    problems = (err as ConfigError).problems
  }
  const text = problems.join('\n')
  t.match(text, /g\.yaml:2: grants, item 1, org: org must be a quoted string/)
  t.match(text, /g\.yaml:3: .*resource is a resource-registry id/)
  t.match(text, /g\.yaml:3: .*list at least one action/)
  t.match(text, /g\.yaml:4: .*by system .* or by systemUserId, one of the two/)
  t.throws(() => parseGrants('grants: [', 'g.yaml'), { message: /g\.yaml is not valid YAML/ })
})

t.test('a missing grants file grants nothing', async (t) => {
  t.same(await loadGrants(join(t.testdir(), 'none.yaml')), [])
})
