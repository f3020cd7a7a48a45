/**
 * The dev PDP's grants file (config/altinn-grants.yaml): which system user may do which actions on
 * which resource for which organisation, as a customer delegates it in Altinn. A system user is named
 * by its id, or by its system, from which the dev issuer derives the id (dev/mint.ts), so a grant
 * reads as the `portvakt token --systemuser-org … --system-id …` that it admits.
 */
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { ConfigError } from '../config/errors.js'
import { describeSchemaIssues } from '../config/schema-issues.js'
import { parseLocatedYaml } from '../config/yaml-lines.js'
import { defaultSystemId, deriveSystemUserId } from './mint.js'

const Grant = z.strictObject({
  org: z.string().regex(/^\d{9}$/, 'org is the system user\'s organisation (systemuser_org), 9 digits in quotes: "222222222"'),
  system: z.string().min(1).optional(),
  systemUserId: z.uuid({ error: 'systemUserId is a UUID' }).optional(),
  resource: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'resource is a resource-registry id, e.g. kravogbetaling'),
  actions: z.array(z.string().min(1)).min(1, 'list at least one action, e.g. [read]'),
  /** the minimum-authenticationlevel obligation the Permit carries, as Altinn's do (a system user is level 3) */
  authLevel: z.number().int().min(0).max(4).default(3)
}).refine((g) => (g.system === undefined) !== (g.systemUserId === undefined), 'name the system user by system (e.g. 123456789_lonn) or by systemUserId, one of the two')

const GrantsFile = z.strictObject({ grants: z.array(Grant).default([]) })

/** One grant, with the system user's id settled. */
export interface DevGrant {
  readonly org: string
  readonly systemUserId: string
  readonly resource: string
  readonly actions: ReadonlySet<string>
  readonly authLevel: number
}

/** Parse a grants file; throws ConfigError with every problem and its line. */
export function parseGrants (text: string, file: string): DevGrant[] {
  const yaml = parseLocatedYaml(text, file)
  if (yaml.syntaxProblems.length > 0) throw new ConfigError(`${file} is not valid YAML`, yaml.syntaxProblems)
  const parsed = GrantsFile.safeParse(yaml.value ?? {})
  if (!parsed.success) throw new ConfigError(`${file} has problems`, describeSchemaIssues(parsed.error.issues, yaml, file, GrantsFile).map((p) => p.text))
  return parsed.data.grants.map((g) => Object.freeze({
    org: g.org,
    systemUserId: g.systemUserId ?? deriveSystemUserId(g.org, g.system ?? defaultSystemId(g.org)),
    resource: g.resource,
    actions: new Set(g.actions),
    authLevel: g.authLevel
  }))
}

/** Read the grants file; a missing file grants nothing. */
export async function loadGrants (file: string): Promise<DevGrant[]> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw new ConfigError(`cannot read the dev grants file ${file}`, [(err as Error).message])
  }
  return parseGrants(text, file)
}
