/**
 * `portvakt dev` settings from an environment map: the dev-only variables (one zod schema, STYLE §2)
 * and the gateway's environment, forced to trust the local issuer and nothing else.
 */
import { z } from 'zod'
import { logFormat, type LogFormat } from '../config/env-values.js'
import { ConfigError } from '../config/errors.js'
import { issueText } from '../config/issue-text.js'

/** Where the dev issuer listens unless PORTVAKT_DEV_ISSUER_PORT says otherwise. */
export const DEFAULT_ISSUER_PORT = 8090
/** Where the demo upstream listens unless PORTVAKT_DEV_UPSTREAM_PORT says otherwise. */
export const DEFAULT_DEMO_PORT = 8081
/** Where the dev Altinn stand-in (token exchange and PDP) listens unless PORTVAKT_DEV_ALTINN_PORT says otherwise. */
export const DEFAULT_ALTINN_PORT = 8091
/** The subscription key the dev PDP asks for, and the dev gate sends: the header goes through the loop too. */
export const DEV_SUBSCRIPTION_KEY = 'portvakt-dev-subscription-key'
/** The dev issuer and demo upstream only ever listen on loopback. */
export const DEV_HOST = '127.0.0.1'

function port (fallback: number) {
  return z.string().regex(/^\d{1,5}$/, 'is not a port number (0-65535)').transform(Number)
    .refine((n) => n <= 65535, 'is not a port number (0-65535)').default(fallback)
}

const DevEnvSchema = z.object({
  PORTVAKT_DEV_ISSUER_PORT: port(DEFAULT_ISSUER_PORT),
  PORTVAKT_DEV_UPSTREAM_PORT: port(DEFAULT_DEMO_PORT),
  PORTVAKT_DEV_ALTINN_PORT: port(DEFAULT_ALTINN_PORT),
  PORTVAKT_DEV_ALTINN_GRANTS: z.string().min(1).default('config/altinn-grants.yaml'),
  PORTVAKT_DEV_DIR: z.string().min(1).default('.portvakt'),
  PORTVAKT_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PORTVAKT_LOG_FORMAT: logFormat
})

/** The variables only `portvakt dev` reads (and `portvakt token`: PORTVAKT_DEV_ISSUER_PORT), from the schema. */
export const DEV_SETTING_NAMES: readonly string[] = Object.keys(DevEnvSchema.shape)

/** What `portvakt dev` starts, and the environment its gateway is built from. */
export interface DevConfig {
  issuerPort: number
  /** the dev Altinn stand-in's port and its grants file */
  altinnPort: number
  grantsFile: string
  /** the demo upstream's port; undefined when PORTVAKT_UPSTREAM names the user's own app */
  demoPort: number | undefined
  /** where the signing key is kept */
  dir: string
  logLevel: string
  logFormat: LogFormat
  /** the gateway's environment, without any MASKINPORTEN_* or Altinn address (the dev issuer and stand-in fill them in) */
  gatewayEnv: Record<string, string>
}

/** Read the dev settings; throws ConfigError when run in a cluster or a variable is bad. */
export function loadDevConfig (env: Record<string, string | undefined>): DevConfig {
  const cluster = env.NAIS_CLUSTER_NAME
  if (cluster !== undefined && cluster !== '') {
    // Dev tokens are signed with a key on local disk: a gate trusting them would let anyone in.
    throw new ConfigError('portvakt dev refuses to start in a cluster', [`NAIS_CLUSTER_NAME is set (${cluster}); dev is for your own machine, use "portvakt serve" in a pod`])
  }
  const present = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''))
  const parsed = DevEnvSchema.safeParse(present, { error: issueText })
  if (!parsed.success) {
    throw new ConfigError('portvakt dev cannot start; fix these environment variables', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`))
  }
  const gatewayEnv: Record<string, string> = { PORTVAKT_HOST: DEV_HOST, PORTVAKT_ADMIN_HOST: DEV_HOST, ...present }
  // The dev gate trusts the dev issuer only; a leftover production issuer in the shell must not mix in.
  // So does Altinn: dev tokens could never be exchanged at the real one, and the key stays out of it.
  for (const name of ['MASKINPORTEN_ISSUER', 'MASKINPORTEN_JWKS_URI', 'MASKINPORTEN_WELL_KNOWN_URL', 'PORTVAKT_ALTINN_URL', 'PORTVAKT_ALTINN_SUBSCRIPTION_KEY', 'PORTVAKT_ALTINN_SUBSCRIPTION_KEY_FILE']) Reflect.deleteProperty(gatewayEnv, name)
  return {
    issuerPort: parsed.data.PORTVAKT_DEV_ISSUER_PORT,
    altinnPort: parsed.data.PORTVAKT_DEV_ALTINN_PORT,
    grantsFile: parsed.data.PORTVAKT_DEV_ALTINN_GRANTS,
    demoPort: present.PORTVAKT_UPSTREAM === undefined ? parsed.data.PORTVAKT_DEV_UPSTREAM_PORT : undefined,
    dir: parsed.data.PORTVAKT_DEV_DIR,
    logLevel: parsed.data.PORTVAKT_LOG_LEVEL,
    logFormat: parsed.data.PORTVAKT_LOG_FORMAT,
    gatewayEnv
  }
}
