/**
 * Baselines, after ESLint's bulk suppressions: a file that counts the known findings per
 * rule and fingerprint. Analyzing with it reports only new findings, says how many known
 * ones it suppressed, and which known ones disappeared (so the file can be pruned).
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {baseFingerprint} from './fingerprint.js'
import type {Finding} from './rules/types.js'
import {SantraceError} from './util/errors.js'
import {VERSION} from './version.js'

export const BASELINE_FILE = 'santrace-baseline.json'

export interface BaselineEntry {
  count: number
  /** One message of the finding, for people reading the file. */
  example: string
}

export interface Baseline {
  version: 1
  tool: string
  /** rule id → base fingerprint → entry */
  rules: Record<string, Record<string, BaselineEntry>>
}

export interface BaselineOutcome {
  file?: string
  suppressed: number
  /** Known findings the baseline allows that no longer occur. */
  missing: Array<{rule: string; fingerprint: string; count: number; example: string}>
}

export function createBaseline(findings: Finding[]): Baseline {
  const rules: Baseline['rules'] = {}
  for (const f of findings) {
    const fp = baseFingerprint(f)
    const r = (rules[f.rule] ??= {})
    const e = (r[fp] ??= {count: 0, example: f.message})
    e.count++
  }
  return {version: 1, tool: `santrace ${VERSION}`, rules: sortKeys(rules)}
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, v && typeof v === 'object' && !('count' in (v as object)) ? (sortKeys(v as Record<string, unknown>) as T) : v]))
}

export function readBaseline(path: string): Baseline {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new SantraceError(`${path}: ${code === 'ENOENT' ? 'no such baseline file' : `not a readable baseline (${(e as Error).message})`}`)
  }
  const b = raw as Partial<Baseline>
  if (!b || typeof b !== 'object' || b.version !== 1 || !b.rules || typeof b.rules !== 'object') {
    throw new SantraceError(`${path}: not a santrace baseline: expected {"version": 1, "rules": {...}}`)
  }
  for (const [rule, fps] of Object.entries(b.rules)) {
    for (const [fp, e] of Object.entries(fps ?? {})) {
      if (!e || typeof e.count !== 'number' || e.count < 0 || !Number.isInteger(e.count)) {
        throw new SantraceError(`${path}: /rules/${rule}/${fp}/count: expected a non-negative integer`)
      }
    }
  }
  return b as Baseline
}

export function writeBaseline(path: string, b: Baseline): void {
  writeFileSync(path, JSON.stringify(b, null, 2) + '\n')
}

/** Splits findings into new ones and ones the baseline allows; marks each with its baseline state. */
export function applyBaseline(findings: Finding[], b: Baseline, file?: string): {fresh: Finding[]; outcome: BaselineOutcome} {
  const left = new Map<string, number>()
  for (const [rule, fps] of Object.entries(b.rules)) for (const [fp, e] of Object.entries(fps)) left.set(`${rule}\n${fp}`, e.count)
  const fresh: Finding[] = []
  let suppressed = 0
  for (const f of findings) {
    const key = `${f.rule}\n${baseFingerprint(f)}`
    const n = left.get(key) ?? 0
    if (n > 0) {
      left.set(key, n - 1)
      suppressed++
    } else {
      f.baselineState = 'new'
      fresh.push(f)
    }
  }
  const missing: BaselineOutcome['missing'] = []
  for (const [key, n] of left) {
    if (n <= 0) continue
    const [rule, fingerprint] = key.split('\n')
    missing.push({rule, fingerprint, count: n, example: b.rules[rule][fingerprint].example})
  }
  return {fresh, outcome: {file, suppressed, missing}}
}

/** The baseline reduced to what still occurs (counts never grow). */
export function pruneBaseline(b: Baseline, findings: Finding[]): {baseline: Baseline; removed: number} {
  const now = createBaseline(findings)
  const rules: Baseline['rules'] = {}
  let removed = 0
  for (const [rule, fps] of Object.entries(b.rules)) {
    for (const [fp, e] of Object.entries(fps)) {
      const keep = Math.min(e.count, now.rules[rule]?.[fp]?.count ?? 0)
      removed += e.count - keep
      if (keep > 0) (rules[rule] ??= {})[fp] = {...e, count: keep}
    }
  }
  return {baseline: {version: 1, tool: `santrace ${VERSION}`, rules}, removed}
}
