/**
 * Prometheus metrics (prom-client), one registry per gateway so tests and restarts never share
 * series. Label values come only from the route table and closed unions (route id, outcome,
 * rejection reason, fetch trigger), never from raw request paths, so cardinality stays bounded.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { FetchResult, KeyStatus } from '../auth/keys.js'
import type { TokenCacheStats } from '../auth/token-cache.js'
import type { AltinnOutcome, AltinnStats } from '../altinn/decide.js'
import type { ErrorCode, Outcome, TokenRejection } from '../http/errors.js'
import type { ReloadResult } from '../config/route-holder.js'
import { METHODS } from '../config/route-schema.js'

/** What one finished request was; built by the server's onResponse hook. */
export interface RequestRecord {
  /** the route id from the table; undefined when no route matched */
  route: string | undefined
  method: string
  status: number
  outcome: Outcome
  reason: TokenRejection | undefined
  code: string | undefined
  seconds: number
  /** time from the gate's decision to the upstream's response headers; undefined if not forwarded */
  upstreamSeconds: number | undefined
}

/** Why a token or its holder was refused, as the rejections metric labels it. */
export type RejectionLabel = TokenRejection | 'missing' | 'insufficient_scope' | 'consumer_not_allowed' | PartyRuleLabel

/** A route's delegation or system-user rule the token did not meet (auth/parties.ts). */
export type PartyRuleLabel = 'delegation_required' | 'delegation_forbidden' | 'supplier_not_allowed' |
  'system_user_required' | 'system_user_forbidden' | 'system_user_org_not_allowed' | 'system_not_allowed'

const PARTY_RULE_LABELS: Partial<Record<ErrorCode, PartyRuleLabel>> = {
  PORTVAKT_ERR_DELEGATION_REQUIRED: 'delegation_required',
  PORTVAKT_ERR_DELEGATION_FORBIDDEN: 'delegation_forbidden',
  PORTVAKT_ERR_SUPPLIER_NOT_ALLOWED: 'supplier_not_allowed',
  PORTVAKT_ERR_SYSTEM_USER_REQUIRED: 'system_user_required',
  PORTVAKT_ERR_SYSTEM_USER_FORBIDDEN: 'system_user_forbidden',
  PORTVAKT_ERR_SYSTEM_USER_ORG_NOT_ALLOWED: 'system_user_org_not_allowed',
  PORTVAKT_ERR_SYSTEM_NOT_ALLOWED: 'system_not_allowed'
}

/** The gateway's metrics and the ways to feed them. */
export interface Metrics {
  registry: Registry
  observeRequest: (record: RequestRecord) => void
  observeJwksFetch: (result: FetchResult) => void
  observeReload: (result: ReloadResult) => void
  /** One call to Altinn's PDP: its outcome and how long it took (the exchange included). */
  observeAltinnCall: (outcome: AltinnOutcome, seconds: number) => void
  /** Read the key store's state at every scrape (age, stale, usable). */
  watchKeys: (keys: () => KeyStatus) => void
  /** Read the verified-token cache and the egress side's counters at every scrape. */
  watchStats: (sources: StatsSources) => void
}

/** What the metrics read of the egress side's counters (egress/server.ts, EgressStats). */
export interface EgressCounters {
  /** name → status → count */
  requests: Readonly<Record<string, Readonly<Record<string, number>>>>
  fetches: { ok: number, error: number }
  cacheHits: number
}

/** Counters kept by other parts, read at scrape time. */
export interface StatsSources {
  tokenCache: () => TokenCacheStats
  /** undefined while no egress listener runs */
  egress: () => EgressCounters | undefined
  /** trace spans not exported, by reason (queue_full, export_failed); empty while tracing is off */
  spansDropped?: () => Readonly<Record<string, number>>
  /** undefined when PORTVAKT_ALTINN_URL is unset */
  altinn?: () => AltinnStats | undefined
}

/** A counter registered on `registry`. */
function counter<L extends string> (registry: Registry, name: string, help: string, labelNames: readonly L[]): Counter<L> {
  return new Counter({ name, help, labelNames, registers: [registry] })
}

/** A gauge whose value is read at scrape time. */
function gaugeOf (registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({ name, help, registers: [registry], collect () { this.set(read()) } })
}

/** A counter whose value lives elsewhere: set from `read` at scrape time. */
function mirrorCounter<L extends string> (registry: Registry, name: string, help: string, labelNames: readonly L[], read: () => Array<[Partial<Record<L, string>>, number]>): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect () {
      this.reset()
      for (const [labels, value] of read()) if (value > 0) this.inc(labels, value)
    }
  })
}

// Sub-millisecond gate work up to the upstream timeout's order of magnitude.
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const KNOWN_METHODS: ReadonlySet<string> = new Set(METHODS)

/** The token-rejection label for a refusal, or undefined when the request was not refused for its token. */
export function labelRejection (code: string | undefined, reason: TokenRejection | undefined): RejectionLabel | undefined {
  switch (code as ErrorCode | undefined) {
    case 'PORTVAKT_ERR_TOKEN_MISSING': return 'missing'
    case 'PORTVAKT_ERR_TOKEN_INVALID': return reason ?? 'malformed'
    case 'PORTVAKT_ERR_INSUFFICIENT_SCOPE': return 'insufficient_scope'
    case 'PORTVAKT_ERR_CONSUMER_NOT_ALLOWED': return 'consumer_not_allowed'
    default: return code === undefined ? undefined : PARTY_RULE_LABELS[code as ErrorCode]
  }
}

/** The request series: counts by route, method, status class and outcome; durations; token rejections. */
function requestSeries (registry: Registry): Metrics['observeRequest'] {
  const requests = counter(registry, 'portvakt_requests_total', 'Requests by route (from the route table), method, status class and outcome', ['route', 'method', 'status_class', 'outcome'])
  const rejections = counter(registry, 'portvakt_token_rejections_total', 'Requests refused for their token, by route and reason', ['route', 'reason'])
  const duration = new Histogram({ name: 'portvakt_request_duration_seconds', help: 'Time from request to the end of the response, by route and outcome', labelNames: ['route', 'outcome'] as const, buckets: DURATION_BUCKETS, registers: [registry] })
  const upstream = new Histogram({ name: 'portvakt_upstream_duration_seconds', help: 'Time from forwarding to the upstream response headers (or its failure), by route', labelNames: ['route'] as const, buckets: DURATION_BUCKETS, registers: [registry] })
  return (r) => {
    const route = r.route ?? 'none'
    const method = KNOWN_METHODS.has(r.method) ? r.method : 'OTHER'
    requests.inc({ route, method, status_class: `${Math.floor(r.status / 100)}xx`, outcome: r.outcome })
    duration.observe({ route, outcome: r.outcome }, r.seconds)
    if (r.upstreamSeconds !== undefined) upstream.observe({ route }, r.upstreamSeconds)
    const reason = labelRejection(r.code, r.reason)
    if (reason !== undefined) rejections.inc({ route, reason })
  }
}

/** The signing-key series: fetches by result and trigger, and the key set's state read at scrape time. */
function jwksSeries (registry: Registry): Pick<Metrics, 'observeJwksFetch' | 'watchKeys'> {
  const fetches = counter(registry, 'portvakt_jwks_fetches_total', 'JWKS fetches by result (ok, error) and trigger (start, schedule, unknown_kid, bad_signature, retry)', ['result', 'trigger'])
  const keyCount = new Gauge({ name: 'portvakt_jwks_keys', help: 'Keys in the JWKS in use', registers: [registry] })
  const leftOut = new Gauge({ name: 'portvakt_jwks_keys_left_out', help: 'Keys of the JWKS in use that are not used (too weak, malformed, private, ambiguous; the log says why)', registers: [registry] })
  return {
    observeJwksFetch: (result) => {
      fetches.inc({ result: result.ok ? 'ok' : 'error', trigger: result.trigger })
      if (!result.ok) return
      keyCount.set(result.keys)
      leftOut.set(result.fetched.leftOut.length)
    },
    watchKeys: (keys) => {
      gaugeOf(registry, 'portvakt_jwks_keys_age_seconds', 'Age of the signing keys in use (since their fetch); NaN before the first fetch', () => (keys().ageMs ?? Number.NaN) / 1000)
      gaugeOf(registry, 'portvakt_jwks_stale', '1 while the last JWKS refresh failed and the last good keys are being served', () => keys().stale ? 1 : 0)
      gaugeOf(registry, 'portvakt_jwks_keys_usable', '1 while usable signing keys are in hand (0 means token checks answer 503)', () => keys().ready ? 1 : 0)
    }
  }
}

/** The counters other parts keep (the verified-token cache, the egress side), mirrored at scrape time. */
function watchStats (registry: Registry, sources: StatsSources): void {
  mirrorCounter(registry, 'portvakt_token_cache_hits_total', 'Requests whose token was found in the verified-token cache', [], () => [[{}, sources.tokenCache().hits]])
  mirrorCounter(registry, 'portvakt_token_cache_misses_total', 'Requests whose token had to be verified in full', [], () => [[{}, sources.tokenCache().misses]])
  gaugeOf(registry, 'portvakt_token_cache_entries', 'Verified tokens held in the cache', () => sources.tokenCache().entries)
  mirrorCounter(registry, 'portvakt_egress_requests_total', 'Egress requests by target name (from the route table) and status', ['name', 'status'], () =>
    Object.entries(sources.egress()?.requests ?? {}).flatMap(([name, byStatus]) => Object.entries(byStatus).map(([status, n]): [Record<'name' | 'status', string>, number] => [{ name, status }, n])))
  mirrorCounter(registry, 'portvakt_egress_token_fetches_total', 'Token fetches from NAIS_TOKEN_ENDPOINT by result', ['result'], () => {
    const fetches = sources.egress()?.fetches
    return fetches === undefined ? [] : [[{ result: 'ok' }, fetches.ok], [{ result: 'error' }, fetches.error]]
  })
  mirrorCounter(registry, 'portvakt_egress_token_cache_hits_total', 'Egress requests served with a cached token', [], () => [[{}, sources.egress()?.cacheHits ?? 0]])
  mirrorCounter(registry, 'portvakt_trace_spans_dropped_total', 'Trace spans never exported, by reason: queue_full (the export queue was full), export_failed (the collector did not take them)', ['reason'], () =>
    Object.entries(sources.spansDropped?.() ?? {}).map(([reason, n]): [Record<'reason', string>, number] => [{ reason }, n]))
  mirrorCounter(registry, 'portvakt_altinn_cache_hits_total', 'Requests whose Altinn question was answered from the decision cache', [], () => [[{}, sources.altinn?.()?.cacheHits ?? 0]])
  gaugeOf(registry, 'portvakt_altinn_cache_entries', 'Altinn decisions (Permit, Deny) held in the cache', () => sources.altinn?.()?.entries ?? 0)
}

/** The PDP's series: calls by outcome, and their time. */
function altinnSeries (registry: Registry): Metrics['observeAltinnCall'] {
  const calls = counter(registry, 'portvakt_altinn_decisions_total', 'Calls to Altinn\'s PDP by outcome (permit, deny, not_applicable, indeterminate, not_one_result, unreadable, auth_level, obligation, unavailable)', ['outcome'])
  const duration = new Histogram({ name: 'portvakt_altinn_decision_duration_seconds', help: 'Time of a call to Altinn\'s PDP, the token exchange included when one was needed', buckets: DURATION_BUCKETS, registers: [registry] })
  return (outcome, seconds) => {
    calls.inc({ outcome })
    duration.observe(seconds)
  }
}

/** Create the registry with every series, default process metrics included; what lives elsewhere is watched. */
export function createMetrics (): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const reloads = counter(registry, 'portvakt_config_reloads_total', 'Route table reloads by result (ok, error) and trigger (watch, SIGHUP)', ['result', 'trigger'])
  return {
    registry,
    observeRequest: requestSeries(registry),
    ...jwksSeries(registry),
    observeReload: (result) => { reloads.inc({ result: result.ok ? 'ok' : 'error', trigger: result.trigger }) },
    observeAltinnCall: altinnSeries(registry),
    watchStats: (sources) => { watchStats(registry, sources) }
  }
}
