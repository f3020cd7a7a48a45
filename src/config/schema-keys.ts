/**
 * The keys a schema allows at a place in the document, read from the schema itself, so "did you
 * mean" knows every key any schema of ours gains without a list kept by hand.
 */
import type { z } from 'zod'

type Def = {
  type: string
  shape?: Record<string, z.ZodType>
  element?: z.ZodType
  options?: readonly z.ZodType[]
  innerType?: z.ZodType
  in?: z.ZodType
}

function defOf (schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def
}

// The schemas a value is checked by once wrappers (optional, default, pipe, …) are looked through;
// a union is each of its forms.
function formsOf (schema: z.ZodType): z.ZodType[] {
  const def = defOf(schema)
  if (def.type === 'union') return (def.options ?? []).flatMap(formsOf)
  const inner = def.innerType ?? (def.type === 'pipe' ? def.in : undefined)
  return inner === undefined ? [schema] : formsOf(inner)
}

/** The schemas that check the value at `path` (a union's forms all count). */
function schemasAt (schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType[] {
  let current = formsOf(schema)
  for (const segment of path) {
    current = current.flatMap((form) => {
      const def = defOf(form)
      if (typeof segment === 'number') return def.type === 'array' && def.element !== undefined ? formsOf(def.element) : []
      const child = def.type === 'object' ? def.shape?.[String(segment)] : undefined
      return child === undefined ? [] : formsOf(child)
    })
  }
  return current
}

/** Every key a map at `path` may hold, in the schema's order. */
export function knownKeysAt (schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const keys = schemasAt(schema, path).flatMap((form) => Object.keys(defOf(form).shape ?? {}))
  return [...new Set(keys)]
}
