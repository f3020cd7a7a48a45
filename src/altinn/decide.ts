/**
 * The route's Altinn question, decided: from the cache while a Permit or Deny for the same
 * (system user, resource, action, organisation) is fresh, else from one PDP call that every
 * identical question waiting meanwhile shares. Only Permit and Deny are cached: NotApplicable,
 * Indeterminate and unreadable answers may be a passing fault at Altinn, and a 503 is never kept.
 */
import type { Claims } from '../auth/claims.js'
import type { AltinnRule } from '../config/altinn-rules.js'
import { GateError, type ErrorCode } from '../http/errors.js'
import type { ObligationVerdict } from './obligations.js'
import { altinnUnavailable } from './unavailable.js'
import type { Question, Verdict } from './xacml.js'

/** What the PDP's answer was, as the access line and the metrics say it. */
export type AltinnOutcome = 'permit' | 'deny' | 'not_applicable' | 'indeterminate' | 'not_one_result' | 'unreadable' | 'auth_level' | 'obligation' | 'unavailable'

/** Told what was decided, and whether from the cache. */
export type NoteOutcome = (outcome: AltinnOutcome, cached: boolean) => void

/** A decided question: undefined refusal means permitted. */
interface Answer {
  readonly outcome: AltinnOutcome
  readonly refusal: GateError | undefined
  readonly cacheable: boolean
}

/** How decisions are made and kept. */
export interface AltinnDeciderOptions {
  ask: (question: Question) => Promise<Verdict>
  /** how long a Permit or Deny is kept (PORTVAKT_ALTINN_CACHE_TTL); 0 keeps none */
  ttlMs: number
  /** at most this many kept (PORTVAKT_ALTINN_CACHE_SIZE); the oldest goes first */
  maxEntries: number
  /** told of each PDP call's outcome and time */
  onCall?: (outcome: AltinnOutcome, seconds: number) => void
  now?: () => number
}

/** Counters for the metrics. */
export interface AltinnStats {
  cacheHits: number
  entries: number
}

function refuse (code: ErrorCode, message: string): GateError {
  return new GateError(code, message)
}

// Words from Altinn's answer (a status message, a category) go into WWW-Authenticate's
// error_description: printable ASCII only (RFC 6750 §3: %x20-21 / %x23-5B / %x5D-7E), or the header
// could not be written at all.
function printable (text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?')
}

/** What a verdict means for the request. */
export function answerOf (verdict: Verdict): Answer {
  if (verdict.decision === 'Permit') return answerOfPermit(verdict.obligations)
  return answerOfRefusal(verdict)
}

function answerOfPermit (obligations: ObligationVerdict): Answer {
  if (obligations.met) return { outcome: 'permit', refusal: undefined, cacheable: true }
  return obligations.kind === 'level'
    ? { outcome: 'auth_level', refusal: refuse('PORTVAKT_ERR_ALTINN_AUTH_LEVEL', `Altinn permits, but ${obligations.why}`), cacheable: true }
    : { outcome: 'obligation', refusal: refuse('PORTVAKT_ERR_ALTINN_OBLIGATION', `Altinn permits with an obligation portvakt cannot honour: ${printable(obligations.why)}`), cacheable: true }
}

function answerOfRefusal (verdict: Exclude<Verdict, { decision: 'Permit' }>): Answer {
  switch (verdict.decision) {
    case 'Deny': return { outcome: 'deny', refusal: refuse('PORTVAKT_ERR_ALTINN_DENIED', 'Altinn denies this system user this action on the resource for its organisation'), cacheable: true }
    case 'NotApplicable': return { outcome: 'not_applicable', refusal: refuse('PORTVAKT_ERR_ALTINN_NOT_APPLICABLE', 'Altinn has no policy that applies to this system user, action and resource (NotApplicable)'), cacheable: false }
    case 'Indeterminate': return { outcome: 'indeterminate', refusal: refuse('PORTVAKT_ERR_ALTINN_INDETERMINATE', `Altinn could not decide (Indeterminate${verdict.status === undefined ? '' : `: ${printable(verdict.status)}`})`), cacheable: false }
    case 'not_one_result': return { outcome: 'not_one_result', refusal: refuse('PORTVAKT_ERR_ALTINN_NOT_ONE_RESULT', `Altinn's answer is not one decision: ${printable(verdict.why)}`), cacheable: false }
    case 'unreadable': return { outcome: 'unreadable', refusal: refuse('PORTVAKT_ERR_ALTINN_UNREADABLE', `Altinn's answer could not be read: ${printable(verdict.why)}`), cacheable: false }
  }
}

/** Decides routes' Altinn questions; one per gateway. */
export class AltinnDecider {
  private readonly cache = new Map<string, { answer: Answer, expiresAt: number }>()
  private readonly flights = new Map<string, Promise<Answer>>()
  private hits = 0
  private readonly now: () => number

  constructor (private readonly options: AltinnDeciderOptions) {
    this.now = options.now ?? Date.now
  }

  /**
   * Throw the refusal unless Altinn permits; `outcome` is told what was decided (for the access line).
   * Sync or async, as the gate's other steps: a cached answer costs no promise.
   * Answers at once from the cache; otherwise a promise.
   */
  decide (rule: AltinnRule, method: string, claims: Claims, outcome?: NoteOutcome): void | Promise<void> {
    const systemUser = claims.systemUser
    const action = rule.actions.get(method)
    // The route table makes both impossible (systemUser: required; an action per admitted method); fail closed all the same.
    if (systemUser === undefined || action === undefined) throw altinnUnavailable(`the route has no Altinn question for ${method} and this token`)
    const question: Question = { systemUserId: systemUser.id, resource: rule.resource, action, org: systemUser.org }
    const key = `${question.systemUserId}\n${question.resource}\n${question.action}\n${question.org}`
    const kept = this.cache.get(key)
    if (kept !== undefined) {
      if (kept.expiresAt > this.now()) {
        this.hits++
        settle(kept.answer, outcome, true)
        return
      }
      this.cache.delete(key)
    }
    let flight = this.flights.get(key)
    if (flight === undefined) {
      flight = this.call(key, question).finally(() => { this.flights.delete(key) })
      this.flights.set(key, flight)
    }
    return flight.then((answer) => { settle(answer, outcome, false) }, (err: unknown) => {
      outcome?.('unavailable', false)
      throw err
    })
  }

  /** Counters since start. */
  stats (): AltinnStats {
    return { cacheHits: this.hits, entries: this.cache.size }
  }

  private async call (key: string, question: Question): Promise<Answer> {
    const started = performance.now()
    let answer: Answer
    try {
      answer = answerOf(await this.options.ask(question))
    } catch (err) {
      this.options.onCall?.('unavailable', (performance.now() - started) / 1000)
      throw err
    }
    this.options.onCall?.(answer.outcome, (performance.now() - started) / 1000)
    if (answer.cacheable && this.options.ttlMs > 0 && this.options.maxEntries > 0) this.keep(key, answer)
    return answer
  }

  private keep (key: string, answer: Answer): void {
    this.cache.delete(key)
    while (this.cache.size >= this.options.maxEntries) {
      const oldest = this.cache.keys().next().value
      if (oldest === undefined) break
      this.cache.delete(oldest)
    }
    this.cache.set(key, { answer, expiresAt: this.now() + this.options.ttlMs })
  }
}

function settle (answer: Answer, outcome: NoteOutcome | undefined, cached: boolean): void {
  outcome?.(answer.outcome, cached)
  if (answer.refusal !== undefined) throw answer.refusal
}
