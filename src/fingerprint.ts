/**
 * Stable finding fingerprints: the same defect in tomorrow's capture of the same scenario
 * gets the same fingerprint, whatever the file name, pids, descriptors, handles or times.
 * Built from the rule, the socket's identity (role and addresses, ephemeral ports dropped)
 * and the call pattern of the evidence; an ordinal separates repeats within one run.
 */
import {createHash} from 'node:crypto'
import type {Finding} from './rules/types.js'

/** The fingerprint without its ordinal: what baselines count. */
export function baseFingerprint(f: Finding): string {
  const pattern = f.evidence.map((e) => `${e.role}:${e.fn}`).join(',')
  return createHash('sha256').update(`${f.rule}\n${f.identity ?? 'process-wide'}\n${pattern}`).digest('hex').slice(0, 16)
}

/** Sets `fingerprint` = `<base>:<ordinal>` on every finding (findings in time order). */
export function assignFingerprints(findings: Finding[]): void {
  const seen = new Map<string, number>()
  for (const f of findings) {
    const base = baseFingerprint(f)
    const n = (seen.get(base) ?? 0) + 1
    seen.set(base, n)
    f.fingerprint = `${base}:${n}`
  }
}
