/** Reading the PDP's JSON without regard to key case, as ASP.NET writes and reads it. */

/** Two keys of one object differ only in case: which one Altinn meant cannot be known. */
export class AmbiguousKey extends Error {}

/** Whether `value` is a plain JSON object. */
export function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The value of `name` in `value`, its key in any case; throws AmbiguousKey when two keys match. */
export function pick (value: Record<string, unknown>, name: string): unknown {
  const lower = name.toLowerCase()
  const keys = Object.keys(value).filter((k) => k.toLowerCase() === lower)
  if (keys.length > 1) throw new AmbiguousKey(`it has both ${keys.join(' and ')}`)
  return keys.length === 0 ? undefined : value[keys[0] as string]
}
