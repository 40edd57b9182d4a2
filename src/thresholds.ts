/** Thresholds: every rule threshold is a command-line flag; one flag may serve several rules. */
import {RULES, type RuleModule} from './rules/index.js'
import {parseDuration} from './util/duration.js'
import {UsageError} from './util/errors.js'

export interface ThresholdInfo {
  flag: string
  default: string
  /** What the threshold bounds; prefixed by rule when rules use it for different things. */
  description: string
  rules: string[]
}

/** All threshold flags, merged across rules. */
export function thresholdFlags(rules: readonly RuleModule[] = RULES): Map<string, ThresholdInfo> {
  const out = new Map<string, ThresholdInfo>()
  for (const r of rules) {
    for (const t of Object.values(r.meta.thresholds)) {
      const cur = out.get(t.flag)
      if (!cur) out.set(t.flag, {flag: t.flag, default: t.default, description: t.description, rules: [r.meta.id]})
      else {
        if (!cur.description.includes(t.description)) {
          cur.description = `${cur.rules.length === 1 && !cur.description.startsWith('SAN') ? `${cur.rules[0]}: ` : ''}${cur.description}; ${r.meta.id}: ${t.description}`
        }
        cur.rules.push(r.meta.id)
      }
    }
  }
  return out
}

export interface ResolvedThreshold {
  flag: string
  valueNs: number
  text: string
  source: 'default' | 'config' | 'flag'
}

/** Per rule, threshold key → nanoseconds; and the effective value of every flag. */
export function resolveThresholds(
  overrides: Record<string, string | undefined>,
  rules: readonly RuleModule[] = RULES,
  configured: Record<string, string> = {},
): {
  byRule: Record<string, Record<string, number>>
  effective: ResolvedThreshold[]
} {
  const flags = thresholdFlags(rules)
  for (const k of Object.keys(overrides)) {
    if (overrides[k] !== undefined && !flags.has(k)) throw new UsageError(`unknown threshold '${k}' (known: ${[...flags.keys()].join(', ')})`)
  }
  const effective: ResolvedThreshold[] = []
  const value = new Map<string, number>()
  for (const [flag, info] of flags) {
    const given = overrides[flag]
    const source = given !== undefined ? 'flag' : configured[flag] !== undefined ? 'config' : 'default'
    const text = given ?? configured[flag] ?? info.default
    let ns: number
    try {
      ns = parseDuration(text)
    } catch (e) {
      throw new UsageError(`--${flag}: ${(e as Error).message}`)
    }
    if (ns <= 0) throw new UsageError(`--${flag}: must be greater than zero, got '${text}'`)
    value.set(flag, ns)
    effective.push({flag, valueNs: ns, text, source})
  }
  const byRule: Record<string, Record<string, number>> = {}
  for (const r of rules) {
    byRule[r.meta.id] = {}
    for (const [key, t] of Object.entries(r.meta.thresholds)) byRule[r.meta.id][key] = value.get(t.flag)!
  }
  return {byRule, effective}
}
