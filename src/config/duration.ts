/** Durations as people write them in env variables: `500ms`, `5s`, `10m`, `24h`; a bare number is seconds. */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** The unit a duration is written in ('' for a bare number, which is seconds); undefined when the text is not one. */
export function unitOf (text: string): string | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text)
  return match === null ? undefined : match[2] ?? ''
}

/** Parse a duration into milliseconds; undefined when the text is not one. */
export function parseDuration (text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text)
  if (match === null) return undefined
  const value = Number(match[1])
  const unit = UNITS[match[2] ?? 's'] ?? 1000
  const ms = value * unit
  return Number.isFinite(ms) ? Math.round(ms) : undefined
}

/**
 * `ms` in `unit` as a user would write it (`86400s`, `5m`; '' writes bare seconds), to three
 * decimals; in milliseconds when that would read as 0. Without a unit, the largest that is whole.
 */
export function formatDuration (ms: number, unit?: string): string {
  if (unit === undefined) {
    const whole = ['h', 'm', 's'].find((u) => ms !== 0 && ms % (UNITS[u] ?? 1) === 0) ?? 'ms'
    return `${ms / (UNITS[whole] ?? 1)}${whole}`
  }
  const value = Math.round(ms / (UNITS[unit === '' ? 's' : unit] ?? 1) * 1000) / 1000
  return value === 0 && ms !== 0 ? `${ms}ms` : `${value}${unit}`
}
