/** docs/rules.md, generated from the rule metadata so the documentation cannot drift from the code. */
import type {RuleModule} from '../rules/types.js'

export function rulesMarkdown(rules: readonly RuleModule[]): string {
  const out: string[] = []
  out.push('# santrace rules', '')
  out.push('Generated from the rule modules by `node scripts/gen-docs.mjs`; `santrace rules ID` prints the same text in the terminal.', '')
  out.push('| Rule | Severity | Fault | Title |', '|---|---|---|---|')
  for (const r of rules) out.push(`| [${r.meta.id}](#${r.meta.id.toLowerCase()}) | ${r.meta.severity} | ${r.meta.fault} | ${r.meta.title} |`)
  out.push('')
  for (const r of rules) {
    const m = r.meta
    out.push(`## ${m.id}`, '', `**${m.title}** · ${m.severity} · fault: ${m.fault} · ${m.section}`, '')
    out.push(`**What it checks.** ${m.docs.checks}`, '')
    out.push(`**Why it matters.** ${m.docs.why}`, '')
    out.push(`**How to fix.** ${m.docs.fix}`, '')
    out.push('**Example that violates it.**', '', '```', ...m.docs.example, '```', '')
    const ts = Object.values(m.thresholds)
    if (ts.length) {
      out.push('**Thresholds.**', '')
      for (const t of ts) out.push(`- \`--${t.flag}\` (default \`${t.default}\`): ${t.description}`)
      out.push('')
    }
    out.push(`**Needs.** ${m.needs.map((n) => n.why).join('; ')}. Without them the rule reports *not evaluated*.`, '')
    out.push('**Reference.** ' + m.refs.map((u) => `<${u}>`).join(', '), '')
  }
  return out.join('\n')
}
