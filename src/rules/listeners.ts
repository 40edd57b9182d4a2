/** Pieces shared by rule modules of every group. */
import type {Handler, RuleListener} from './types.js'

/**
 * Merges listeners: for a key present in several, the handlers run in the order given.
 * Helpers (registrations, peer matching, lineage) go first so the rule sees their updated state.
 */
export function merge(...ls: RuleListener[]): RuleListener {
  const out: RuleListener = {}
  for (const l of ls) {
    for (const [k, h] of Object.entries(l)) {
      if (typeof h !== 'function') continue
      const prev = out[k] as Handler | undefined
      const next = h as Handler
      out[k] = prev ? (s) => (prev(s), next(s)) : next
    }
  }
  return out
}

/** Half-open address ranges [start, end) overlap. */
export const overlaps = (a: {start: bigint; end: bigint}, b: {start: bigint; end: bigint}): boolean => a.start < b.end && b.start < a.end
