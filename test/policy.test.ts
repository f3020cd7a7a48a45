/**
 * The verification policy (auth/policy.ts): one frozen value, jose's options derived from it, and
 * the cache's deadline agreeing with the time rules the fast path applies.
 */
import fc from 'fast-check'
import t from 'tap'
import { createPolicy, isExpired, isIssuedTooLongAgo, refuseAtMs, toJoseOptions } from '../src/auth/policy.js'

const INPUT = { issuer: 'https://test.maskinporten.no/', algorithms: ['RS256', 'PS256'], clockToleranceSec: 5, maxTokenLifetimeSec: 680 }

t.test('the policy is frozen, its lists too, and requires exp and iat', async (t) => {
  const policy = createPolicy(INPUT)
  t.same(policy, { ...INPUT, requiredClaims: ['exp', 'iat'] })
  t.ok(Object.isFrozen(policy) && Object.isFrozen(policy.algorithms) && Object.isFrozen(policy.requiredClaims))
  const algorithms = [...INPUT.algorithms]
  const copied = createPolicy({ ...INPUT, algorithms })
  algorithms.push('HS256')
  t.same(copied.algorithms, ['RS256', 'PS256'], 'a later change to the input list changes nothing')
})

t.test('jose\'s options are the policy\'s, word for word', async (t) => {
  const options = toJoseOptions(createPolicy(INPUT))
  t.same(options, { issuer: INPUT.issuer, algorithms: INPUT.algorithms, requiredClaims: ['exp', 'iat'], clockTolerance: 5, maxTokenAge: 680 })
  t.ok(Object.isFrozen(options))
})

t.test('the cache\'s deadline agrees with the time rules: never past them, at most one second before them', async (t) => {
  const times = fc.record({
    tolerance: fc.integer({ min: 0, max: 300 }),
    lifetime: fc.integer({ min: 1, max: 86_400 }),
    iat: fc.integer({ min: 1_700_000_000, max: 1_700_100_000 }),
    life: fc.integer({ min: 1, max: 90_000 }),
    nowMs: fc.integer({ min: 1_700_000_000_000, max: 1_700_200_000_000 })
  })
  let refusedByBoth = 0
  fc.assert(fc.property(times, ({ tolerance, lifetime, iat, life, nowMs }) => {
    const policy = createPolicy({ ...INPUT, clockToleranceSec: tolerance, maxTokenLifetimeSec: lifetime })
    const exp = iat + life
    const refused = (ms: number): boolean => { const sec = Math.floor(ms / 1000); return isExpired(policy, exp, sec) || isIssuedTooLongAgo(policy, iat, sec) }
    const deadline = refuseAtMs(policy, exp, iat)
    if (nowMs < deadline && refused(nowMs)) throw new Error('the cache would still answer for a token the rules refuse')
    if (nowMs >= deadline + 1000 && !refused(nowMs)) throw new Error('the cache would stop answering long before the rules refuse')
    if (nowMs >= deadline + 1000) refusedByBoth++
  }), { numRuns: 2000 })
  t.ok(refusedByBoth > 0, `${refusedByBoth} cases past the deadline, all refused by the rules`)
})
