/** `santrace rules`: the rule list, and one rule's full documentation. */
import Table from 'cli-table3'
import type {RuleModule} from '../rules/types.js'
import {thresholdFlags, type ResolvedThreshold} from '../thresholds.js'
import type {Config} from '../config.js'
import {makeChalk, tableStyle} from './color.js'

export function renderRuleList(rules: readonly RuleModule[], color: boolean, effective: ResolvedThreshold[], config: Config): string {
  const t = new Table({head: ['Rule', 'Severity', 'Fault', 'Section', 'Title'], style: tableStyle(color)})
  for (const r of rules) {
    const id = r.meta.id
    const sev = config.disabled.has(id) ? 'off' : (config.severity[id] ?? r.meta.severity)
    t.push([id, sev, r.meta.fault, r.meta.section, r.meta.title])
  }
  const th = new Table({head: ['Threshold flag', 'Value', 'From', 'Default', 'Rules'], style: tableStyle(color)})
  const flags = thresholdFlags(rules)
  for (const e of effective) {
    const info = flags.get(e.flag)
    th.push([`--${e.flag}`, e.text, e.source === 'config' ? (config.path ?? 'config') : e.source, info?.default ?? '', info?.rules.join(', ') ?? ''])
  }
  return `${t.toString()}\n\n${th.toString()}\nFull documentation: santrace rules <ID>\n`
}

function wrap(text: string, width: number, indent: string): string {
  const words = text.split(/\s+/)
  const lines: string[] = []
  let cur = ''
  for (const w of words) {
    if (cur && cur.length + 1 + w.length > width) {
      lines.push(cur)
      cur = w
    } else cur = cur ? `${cur} ${w}` : w
  }
  if (cur) lines.push(cur)
  return lines.map((l) => indent + l).join('\n')
}

export function renderRuleDoc(r: RuleModule, effective: ResolvedThreshold[], color: boolean): string {
  const c = makeChalk(color)
  const m = r.meta
  const width = Math.min(process.stdout.columns || 100, 100) - 4
  const out: string[] = []
  out.push(c.bold(`${m.id} — ${m.title}`))
  out.push(`severity ${m.severity} · fault: ${m.fault} · ${m.section}`)
  out.push('')
  out.push(c.bold('What it checks'), wrap(m.docs.checks, width, '  '), '')
  out.push(c.bold('Why it matters'), wrap(m.docs.why, width, '  '), '')
  out.push(c.bold('How to fix'), wrap(m.docs.fix, width, '  '), '')
  out.push(c.bold('Example that violates it'), ...m.docs.example.map((l) => `  ${l}`), '')
  const ts = Object.values(m.thresholds)
  out.push(c.bold('Thresholds'))
  if (ts.length === 0) out.push('  none')
  for (const t of ts) {
    const e = effective.find((x) => x.flag === t.flag)
    out.push(`  --${t.flag} ${c.dim(`(default ${t.default}${e && e.source !== 'default' ? `; now ${e.text} from ${e.source === 'config' ? 'the configuration file' : 'the command line'}` : ''})`)}`, wrap(t.description, width - 4, '      '))
  }
  out.push('')
  out.push(c.bold('Needs'), ...m.needs.map((n) => `  ${n.why}`), '')
  out.push(c.bold('Reference'), ...m.refs.map((u) => `  ${u}`))
  return out.join('\n') + '\n'
}
