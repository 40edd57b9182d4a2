/** The human report of `santrace analyze`: findings grouped by process and socket, a rule table, input counts. */
import Table from 'cli-table3'
import type {ChalkInstance} from 'chalk'
import type {Report} from '../analyze.js'
import {formatProblem} from '../ingest/diagnostics.js'
import type {Finding, RuleStatus, Severity} from '../rules/types.js'
import {formatDuration} from '../util/duration.js'
import {makeChalk, tableStyle} from './color.js'

export interface TextOptions {
  color: boolean
  /** Evidence lines per finding (default all). */
  evidence?: boolean
}

export function severityColor(c: ChalkInstance, s: Severity): (t: string) => string {
  return s === 'error' ? c.red : s === 'warning' ? c.yellow : c.cyan
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`
}

function where(e: {file: string; line?: number; offset?: number}): string {
  return e.line !== undefined ? `${e.file}:${e.line}` : e.offset !== undefined ? `${e.file}@${e.offset}` : e.file
}

export function renderFinding(f: Finding, c: ChalkInstance, indent: string, withEvidence = true): string[] {
  const sev = severityColor(c, f.severity)(f.severity.padEnd(7))
  const lines = [`${indent}${sev} ${c.bold(f.rule)}  ${f.message}  ${c.dim(`[${f.fault}] ${f.time}`)}`]
  if (withEvidence) {
    for (const e of f.evidence) {
      lines.push(`${indent}        ${c.dim(e.role.padEnd(16))} ${e.time}${e.tid !== undefined ? ` tid ${e.tid}` : ''}  ${e.text}  ${c.dim(where(e))}`)
    }
  }
  return lines
}

export function renderText(r: Report, opts: TextOptions): string {
  const c = makeChalk(opts.color)
  const out: string[] = []
  const span = r.summary.span.last - r.summary.span.first
  out.push(
    c.bold(`santrace ${r.tool.version}`) +
      ` — ${plural(r.inputs.length, 'file')}, ${plural(r.summary.events, 'event')}${r.summary.skipped ? ` (${r.summary.skipped} skipped)` : ''}, ` +
      `${plural(r.summary.processes, 'process', 'processes')}, ${plural(r.summary.sockets, 'socket')}, span ${formatDuration(span)}` +
      (r.origin ? `, from ${r.origin}` : ''),
  )
  out.push('')

  // Findings grouped by process, then socket.
  const byPid = new Map<number, Map<string, Finding[]>>()
  for (const f of r.findings) {
    let m = byPid.get(f.pid)
    if (!m) byPid.set(f.pid, (m = new Map()))
    const key = f.socket ? `${f.socket}#${f.generation}` : ''
    let l = m.get(key)
    if (!l) m.set(key, (l = []))
    l.push(f)
  }
  for (const pid of [...byPid.keys()].sort((a, b) => a - b)) {
    out.push(c.bold(`Process ${pid}`))
    const m = byPid.get(pid)!
    const keys = [...m.keys()].sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)))
    for (const key of keys) {
      const fs = m.get(key)!
      const f0 = fs[0]
      out.push(
        key === ''
          ? `  ${c.underline('process-wide')}`
          : `  ${c.underline(`Socket ${f0.socket}`)} ${c.dim(`generation ${f0.generation}${f0.switchHandle ? `, switch handle ${f0.switchHandle}` : ''}`)}`,
      )
      for (const f of fs) out.push(...renderFinding(f, c, '    ', opts.evidence !== false))
    }
    out.push('')
  }
  if (r.findings.length === 0) out.push(c.green('No findings.'), '')

  out.push(renderRuleTable(r.rules, opts.color))
  out.push('')
  out.push(...renderInputs(r, c))
  const e = r.summary.findings
  const total = e.error + e.warning + e.info
  const line = `${total ? '✖' : '✔'} ${plural(total, 'finding')} (${plural(e.error, 'error')}, ${plural(e.warning, 'warning')}, ${e.info} info); rules: ${r.summary.rules.violated} violated, ${r.summary.rules.passed} passed, ${r.summary.rules['not-evaluated']} not evaluated`
  out.push(e.error ? c.red.bold(line) : e.warning ? c.yellow.bold(line) : c.green.bold(line))
  return out.join('\n') + '\n'
}

export function statusText(c: ChalkInstance, s: RuleStatus): string {
  switch (s.status) {
    case 'violated':
      return severityColor(c, s.severity)('violated')
    case 'passed':
      return c.green('passed')
    case 'not-evaluated':
      return c.dim('not evaluated')
    default:
      return c.dim(s.status)
  }
}

function ruleTableWidths(): number[] {
  const cols = Math.max(100, Math.min(process.stdout.columns || 120, 180))
  const fixed = 8 + 10 + 15 + 10 + 9 + 8
  const rest = cols - fixed
  const title = Math.max(20, Math.floor(rest * 0.4))
  return [8, title, 10, 15, 10, 9, Math.max(20, rest - title)]
}

export function renderRuleTable(statuses: RuleStatus[], color: boolean): string {
  const c = makeChalk(color)
  const t = new Table({
    head: ['Rule', 'Title', 'Severity', 'Status', 'Findings', 'Checked', 'Notes'],
    style: tableStyle(color),
    colWidths: ruleTableWidths(),
    wordWrap: true,
  })
  for (const s of statuses) {
    t.push([s.rule, s.title, s.severity, statusText(c, s), String(s.findings), String(s.checked), s.reason ?? ''])
  }
  return t.toString()
}

function renderInputs(r: Report, c: ChalkInstance): string[] {
  const out: string[] = []
  for (const f of r.inputs) {
    out.push(`${c.bold('Input')} ${f.file} (${f.format}): ${plural(f.events, 'event')} read, ${f.skipped} skipped`)
  }
  const skipped = Object.entries(r.skipped)
  if (skipped.length) {
    out.push(c.yellow(`Skipped ${plural(r.summary.skipped, 'event')}: ${skipped.map(([k, n]) => `${k} ${n}`).join(', ')}`))
    for (const p of r.problems.slice(0, 10)) out.push(`  ${formatProblem(p)}`)
    if (r.problems.length > 10 || r.summary.skipped > r.problems.length) out.push(c.dim(`  … ${r.summary.skipped - Math.min(10, r.problems.length)} more (see --json)`))
  }
  for (const [k, n] of Object.entries(r.notes)) out.push(c.dim(`Note: ${n} ${k}`))
  if (r.baseline) {
    const b = r.baseline
    out.push(`${c.bold('Baseline')} ${b.file ?? ''}: ${plural(b.suppressed, 'known finding')} suppressed` + (b.missing.length ? `; ${plural(b.missing.reduce((a, m) => a + m.count, 0), 'known finding')} no longer ${b.missing.length === 1 && b.missing[0].count === 1 ? 'occurs' : 'occur'} (prune with: santrace baseline prune)` : ''))
    for (const m of b.missing.slice(0, 10)) out.push(c.dim(`  gone: ${m.rule} ×${m.count} ${m.example}`))
  }
  out.push('')
  return out
}
