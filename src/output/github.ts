/**
 * GitHub Actions workflow commands (annotations) and a Markdown job summary. GitHub shows
 * only 10 error and 10 warning annotations per step: the rest are counted in a notice and
 * listed in the summary written to $GITHUB_STEP_SUMMARY.
 */
import {appendFileSync} from 'node:fs'
import type {Report} from '../analyze.js'
import type {Finding} from '../rules/types.js'
import {artifactUri, primaryEvidence, whereText} from './common.js'

export const ANNOTATION_LIMIT = 10

export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C')
}

const COMMAND = {error: 'error', warning: 'warning', info: 'notice'} as const

function annotation(f: Finding): string {
  const p = primaryEvidence(f)
  const props = [`file=${escapeProperty(artifactUri(p?.file ?? 'stdin'))}`, `line=${p?.line ?? 1}`, `title=${escapeProperty(`${f.rule} ${f.title}`)}`]
  return `::${COMMAND[f.severity]} ${props.join(',')}::${escapeData(`${f.message} (${whereText(f)}, ${f.time})`)}`
}

export function renderGithub(r: Report): string {
  const out: string[] = []
  const shown = {error: 0, warning: 0, info: 0}
  let left = 0
  for (const f of r.findings) {
    if (shown[f.severity] >= ANNOTATION_LIMIT) {
      left++
      continue
    }
    shown[f.severity]++
    out.push(annotation(f))
  }
  if (left) out.push(`::notice title=santrace::${escapeData(`${left} more findings not annotated (GitHub shows ${ANNOTATION_LIMIT} per severity); see the job summary`)}`)
  const s = r.summary.findings
  out.push(`santrace: ${s.error} errors, ${s.warning} warnings, ${s.info} info in ${r.inputs.length} trace file(s), ${r.summary.events} events`)
  return out.join('\n') + '\n'
}

function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ').replace(/</g, '&lt;')
}

export function renderGithubSummary(r: Report): string {
  const s = r.summary.findings
  const out = [
    '## santrace',
    '',
    `${r.inputs.map((i) => `\`${mdCell(artifactUri(i.file))}\``).join(', ')}: ${r.summary.events} events, ${r.summary.sockets} sockets; **${s.error} errors, ${s.warning} warnings, ${s.info} info**${r.baseline ? ` (${r.baseline.suppressed} known findings suppressed by the baseline)` : ''}.`,
    '',
  ]
  if (r.findings.length) {
    out.push('| Severity | Rule | Finding | Where | Trace |', '|---|---|---|---|---|')
    for (const f of r.findings) {
      const p = primaryEvidence(f)
      out.push(`| ${f.severity} | ${f.rule} | ${mdCell(f.message)} | ${mdCell(whereText(f))}, ${f.time} | ${mdCell(artifactUri(p?.file ?? 'stdin'))}${p?.line !== undefined ? `:${p.line}` : ''} |`)
    }
    out.push('')
  }
  const ne = r.rules.filter((x) => x.status === 'not-evaluated')
  if (ne.length) {
    out.push('<details><summary>Rules not evaluated</summary>', '', ...ne.map((x) => `- ${x.rule} ${mdCell(x.title)}: ${mdCell(x.reason ?? '')}`), '', '</details>', '')
  }
  return out.join('\n')
}

/** Appends the Markdown summary to $GITHUB_STEP_SUMMARY when it is set. */
export function writeGithubSummary(r: Report, env: NodeJS.ProcessEnv = process.env): boolean {
  const path = env.GITHUB_STEP_SUMMARY
  if (!path) return false
  appendFileSync(path, renderGithubSummary(r))
  return true
}
