/** GitLab Code Quality report (artifacts:reports:codequality): a JSON array of issues. */
import {createHash} from 'node:crypto'
import type {Report} from '../analyze.js'
import type {Severity} from '../rules/types.js'
import {artifactUri, primaryEvidence, whereText} from './common.js'

const SEVERITY: Record<Severity, 'info' | 'minor' | 'major' | 'critical'> = {info: 'info', warning: 'minor', error: 'major'}

export function renderGitlab(r: Report): string {
  const used = new Set<string>()
  const issues = r.findings.map((f) => {
    const p = primaryEvidence(f)
    const path = artifactUri(p?.file ?? 'stdin')
    // GitLab shows only the first issue of a fingerprint: it must be unique per finding.
    let fp = createHash('md5').update(`${f.rule}|${f.fingerprint ?? ''}|${path}`).digest('hex')
    for (let n = 1; used.has(fp); n++) fp = createHash('md5').update(`${fp}|${n}`).digest('hex')
    used.add(fp)
    return {
      description: `${f.rule}: ${f.message} (${whereText(f)}, ${f.time})`,
      check_name: f.rule,
      fingerprint: fp,
      severity: SEVERITY[f.severity],
      location: {path, lines: {begin: p?.line ?? 1}},
    }
  })
  return JSON.stringify(issues, null, 2) + '\n'
}
