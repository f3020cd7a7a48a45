/**
 * NAIS environment → typed, frozen settings: the schema (env-schema.ts) read one variable at a time,
 * then the rules between variables (env-checks.ts). Every problem is reported at once, naming the
 * variable to set (STYLE §3).
 */
import type { z } from 'zod'
import { ConfigError } from './errors.js'
import { checkBetweenVariables } from './env-checks.js'
import { EnvSchema, SettingsSchema, type Env, type Settings } from './env-schema.js'
import { issueText } from './issue-text.js'
import { readTracing } from './tracing-env.js'

export { RESERVED_PORTS } from './env-values.js'
export { SETTING_NAMES, type AltinnSettings, type EgressSettings, type IssuerSource, type ListenerSettings, type OutboundProxy, type Settings } from './env-schema.js'

/**
 * Parse each variable on its own, so one bad value does not hide the checks between variables
 * (issuer, ports, proxies): the user learns everything to fix in one run (STYLE §3).
 */
function parseEachVariable (present: Record<string, string | undefined>): { env: Partial<Env>, problems: string[] } {
  const env: Record<string, unknown> = {}
  const problems: string[] = []
  for (const [name, schema] of Object.entries(EnvSchema.shape)) {
    const parsed = (schema as z.ZodType).safeParse(present[name], { error: issueText })
    if (parsed.success) env[name] = parsed.data
    else problems.push(...parsed.error.issues.map((i) => `${[name, ...i.path].join('.')}: ${i.message}`))
  }
  return { env: env as Partial<Env>, problems }
}

/** Read settings from an environment map; throws ConfigError naming every variable to fix. */
export function loadSettings (env: Record<string, string | undefined>): Settings {
  // Empty values count as unset, as they do in a Kubernetes env entry with no value.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  const { env: partial, problems } = parseEachVariable(present)
  const { tracing, problems: tracingProblems } = readTracing(present)
  problems.push(...tracingProblems, ...checkBetweenVariables(partial, present))
  if (problems.length > 0) throw new ConfigError('portvakt cannot start; fix these environment variables', problems)
  // Every variable parsed on its own, so the whole schema parses too.
  return Object.freeze({ ...SettingsSchema.parse(present), tracing })
}
