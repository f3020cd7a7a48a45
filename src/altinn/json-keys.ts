/** Reading the PDP's JSON without regard to key case, as ASP.NET writes and reads it. */

/** One object names a key twice, in the same or another case: which one Altinn meant cannot be known. */
export class AmbiguousKey extends Error {}

/** Whether `value` is a plain JSON object. */
export function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The value of `name` in `value`, its key in any case. Two keys matching it can't reach here: the
 * answer's text has passed assertNoRepeatedKeys, which refuses a key repeated in any case.
 */
export function pick (value: Record<string, unknown>, name: string): unknown {
  const lower = name.toLowerCase()
  const key = Object.keys(value).find((k) => k.toLowerCase() === lower)
  return key === undefined ? undefined : value[key]
}

/**
 * Throws AmbiguousKey when an object in `text` (already valid JSON) holds one key twice, in the same
 * or another case: JSON.parse keeps the last copy, so `{"Decision":"Deny","Decision":"Permit"}` would
 * read as a Permit (RFC 8259 §4: names SHOULD be unique; behaviour on repeats is unpredictable).
 */
export function assertNoRepeatedKeys (text: string): void {
  const stack: Array<Map<string, string> | null> = []
  let expectKey = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '"') {
      let j = i + 1
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1
      const keys = stack[stack.length - 1]
      if (expectKey && keys != null) {
        const key = JSON.parse(text.slice(i, j + 1)) as string
        const seen = keys.get(key.toLowerCase())
        if (seen === key) throw new AmbiguousKey(`it names ${key} twice in one object`)
        if (seen !== undefined) throw new AmbiguousKey(`it has both ${seen} and ${key}`)
        keys.set(key.toLowerCase(), key)
        expectKey = false
      }
      i = j
    } else if (c === '{') { stack.push(new Map()); expectKey = true } else if (c === '[') { stack.push(null) } else if (c === '}' || c === ']') { stack.pop() } else if (c === ',') { expectKey = stack[stack.length - 1] != null }
  }
}
