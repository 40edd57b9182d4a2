import {UsageError} from './errors.js'

const UNITS: Record<string, number> = {ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, min: 60e9, h: 3600e9}

/**
 * Parses a duration such as `500ms`, `2s`, `1.5s`, `250us`, `2m`. A bare number is taken
 * in `defaultUnit` (milliseconds unless said). Returns nanoseconds.
 */
export function parseDuration(text: string, defaultUnit = 'ms'): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-zµ]*)\s*$/i.exec(text)
  if (!m) throw new UsageError(`invalid duration '${text}': expected a number with a unit, e.g. 500ms, 2s, 1.5s`)
  const unit = (m[2] || defaultUnit).toLowerCase()
  const mult = UNITS[unit]
  if (mult === undefined) throw new UsageError(`invalid duration '${text}': unknown unit '${m[2]}' (use ns, us, ms, s, m or h)`)
  return Math.round(Number(m[1]) * mult)
}

/** Human form of a duration in nanoseconds: `2.4 s`, `350 ms`, `12.5 µs`, `80 ns`. */
export function formatDuration(ns: number): string {
  const a = Math.abs(ns)
  if (a >= 60e9 * 2) return `${trim(ns / 60e9)} min`
  if (a >= 1e9) return `${trim(ns / 1e9)} s`
  if (a >= 1e6) return `${trim(ns / 1e6)} ms`
  if (a >= 1e3) return `${trim(ns / 1e3)} µs`
  return `${ns} ns`
}

function trim(v: number): string {
  const s = Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2)
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s
}

/** Trace time as seconds from the origin with microsecond digits: `+2.000150 s`. */
export function formatOffset(ns: number): string {
  const sign = ns < 0 ? '-' : '+'
  return `${sign}${(Math.abs(ns) / 1e9).toFixed(6)} s`
}
