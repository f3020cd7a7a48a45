/** Durations as people write them in env variables: `500ms`, `5s`, `10m`, `24h`; a bare number is seconds. */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Parse a duration into milliseconds; undefined when the text is not one. */
export function parseDuration (text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text)
  if (match === null) return undefined
  const value = Number(match[1])
  const unit = UNITS[match[2] ?? 's'] ?? 1000
  const ms = value * unit
  return Number.isFinite(ms) ? Math.round(ms) : undefined
}
