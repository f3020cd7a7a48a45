/**
 * Fuzz: the path normaliser and route matcher. The invariant: for every request target we
 * allow, the route we authorise is the route the upstream's own path parsing would pick (a lenient
 * upstream that percent-decodes once and resolves dot segments serves our very path; one that routes
 * on the raw path, like Express, or decodes twice picks the same route; so does every upstream that
 * routes without regard to letter case, in each way of folding it), and every target we refuse is
 * refused with our 400 and never reaches the upstream.
 */
import fc from 'fast-check'
import t from 'tap'
import { GateError } from '../../src/http/errors.js'
import { parseRoutes } from '../../src/config/routes.js'
import { matchRoute } from '../../src/gate/match.js'
import { checkPath } from '../../src/gate/path.js'
import { build, TEST_ROUTES } from '../helpers/build.js'
import { scopedRoutes } from '../helpers/config.js'
import { caseTarget, fuzzRuns, modelUpstreamPath, rawTarget } from '../helpers/fuzz.js'
import { caseRouters } from '../helpers/case-routers.js'
import { rawGet, sendRaw } from '../helpers/attack.js'

// The shared table plus routes that only letter case tells apart: a capital in the table, a route
// beside /api, and two paths that differ only by case.
const ROUTES = TEST_ROUTES + scopedRoutes([
  ['/api/Admin', 'nav:arbeid:admin'], ['/api/kontakt', 'nav:arbeid:admin'], ['/api/dup', 'nav:arbeid:api'], ['/api/DUP', 'nav:arbeid:admin']
])
const table = parseRoutes(ROUTES, 'routes.yaml')
const routers = caseRouters([...table.byPath.keys()])

/** The route a path selects, or the refusal code. */
function matched (path: string): { id: string, path: string | undefined } {
  try {
    const route = matchRoute(table, path, 'GET')
    return { id: route.id, path: route.path }
  } catch (err) {
    return { id: (err as GateError).code, path: undefined }
  }
}

/** The route id a path selects, or the refusal code. */
function routeOf (path: string): string {
  return matched(path).id
}

t.test('the route we authorise is the route the upstream would serve', async (t) => {
  let allowed = 0
  let refused = 0
  fc.assert(fc.property(rawTarget, (target) => {
    let ours: string
    try {
      ours = checkPath(target)
    } catch (err) {
      if (!(err instanceof GateError) || err.code !== 'PORTVAKT_ERR_BAD_PATH') throw err
      refused++
      return
    }
    allowed++
    const theirs = modelUpstreamPath(target)
    if (theirs === undefined) throw new Error(`we allow ${JSON.stringify(target)} but the upstream would refuse it`)
    if (ours !== theirs) throw new Error(`we route ${JSON.stringify(ours)}, the upstream serves ${JSON.stringify(theirs)}`)
    if (routeOf(ours) !== routeOf(theirs)) throw new Error('route mismatch')
    // Refused for its letter case (the next property): nothing is forwarded, so no upstream decides.
    if (routeOf(ours) === 'PORTVAKT_ERR_BAD_PATH') return
    for (const decoding of ['raw', 'twice'] as const) {
      const other = modelUpstreamPath(target, decoding)
      if (other === undefined) throw new Error(`we allow ${JSON.stringify(target)} but an upstream decoding ${decoding} would refuse it`)
      if (routeOf(other) !== routeOf(ours)) throw new Error(`we route ${JSON.stringify(ours)} to ${routeOf(ours)}, an upstream decoding ${decoding} serves ${JSON.stringify(other)} from ${routeOf(other)}`)
    }
  }), { numRuns: fuzzRuns(5000) })
  t.ok(allowed > 0 && refused > 0, `both sides exercised (allowed ${allowed}, refused ${refused})`)
})

t.test('the route we authorise is the route every case-insensitive upstream would serve', async (t) => {
  let routed = 0
  let refusedForCase = 0
  let otherSpelling = 0
  fc.assert(fc.property(fc.oneof(caseTarget, rawTarget), (target) => {
    let path: string
    try {
      path = checkPath(target)
    } catch {
      return
    }
    const ours = matched(path)
    if (ours.id === 'PORTVAKT_ERR_BAD_PATH') {
      refusedForCase++
      return
    }
    if (ours.path === undefined) return
    routed++
    if (path.toLowerCase() !== path && /[A-Z]|%[c-f]/.test(target)) otherSpelling++
    for (const router of routers) {
      const theirs = router.choose(target)
      if (theirs !== ours.path) throw new Error(`we authorise ${JSON.stringify(target)} under ${ours.path}; ${router.name} serves it from ${String(theirs)}`)
    }
  }), { numRuns: fuzzRuns(5000) })
  t.ok(routed > 0 && refusedForCase > 0 && otherSpelling > 0, `routed ${routed} (${otherSpelling} in another case that changes nothing), refused for letter case ${refusedForCase}`)
})

t.test('checkPath never throws anything but our 400, for any string at all', async (t) => {
  let allowed = 0
  let refused = 0
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (text) => {
    try {
      const path = checkPath('/' + text)
      if (!path.startsWith('/')) throw new Error('a path we return starts with /')
      allowed++
    } catch (err) {
      if (!(err instanceof GateError) || err.code !== 'PORTVAKT_ERR_BAD_PATH') throw err
      refused++
    }
  }), { numRuns: fuzzRuns(5000) })
  t.ok(allowed > 0 && refused > 0, `both answers came up (allowed ${allowed}, refused ${refused})`)
})

t.test('end to end: a refused target never reaches the upstream; an allowed one arrives exactly as sent', async (t) => {
  const h = await build(t, { routes: ROUTES })
  const token = await h.mint({ claims: { scope: 'nav:arbeid:arbeidsforhold.read nav:arbeid:api nav:arbeid:admin' } })
  // Raw sockets refuse bytes a request line cannot hold; those are the parser's 400 and covered above.
  const sendable = rawTarget.filter((target) => /^[\x21-\x7e]*$/.test(target) && target !== '')
  await fc.assert(fc.asyncProperty(sendable, async (target) => {
    h.upstream.seen.length = 0
    const res = await sendRaw(h.url, rawGet(target, { Authorization: `Bearer ${token}` }))
    let decided: string
    try {
      decided = routeOf(checkPath(target))
    } catch {
      decided = 'PORTVAKT_ERR_BAD_PATH'
    }
    const forwarded = h.upstream.seen.map((s) => s.url)
    if (res.status === 200) {
      if (forwarded.length !== 1 || forwarded[0] !== target) throw new Error(`${target} arrived as ${JSON.stringify(forwarded)}`)
      if (decided.startsWith('PORTVAKT_ERR')) throw new Error(`${target} was forwarded though the gate says ${decided}`)
    } else if (forwarded.length !== 0) {
      throw new Error(`${target} answered ${res.status} but reached the upstream`)
    }
  }), { numRuns: fuzzRuns(60) })
  t.notOk(h.logText().includes(token), 'no token in the logs')
})
