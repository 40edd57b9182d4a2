/** SARIF 2.1.0 for GitHub code scanning (ux-anchors §2.2). */
import type {Report} from '../analyze.js'
import {RULES} from '../rules/index.js'
import type {Finding, RuleModule, Severity} from '../rules/types.js'
import {artifactUri, primaryEvidence, whereText} from './common.js'

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {error: 'error', warning: 'warning', info: 'note'}
const SECURITY: Record<Severity, string> = {error: '8.0', warning: '5.0', info: '2.0'}

function ruleDescriptor(r: RuleModule, severity: Severity): object {
  const m = r.meta
  const thresholds = Object.values(m.thresholds)
  const md = [
    `**${m.id}: ${m.title}**`,
    '',
    m.docs.checks,
    '',
    `*Why it matters.* ${m.docs.why}`,
    '',
    `*How to fix.* ${m.docs.fix}`,
    '',
    '```',
    ...m.docs.example,
    '```',
    ...(thresholds.length ? ['', ...thresholds.map((t) => `- \`--${t.flag}\` (default ${t.default}): ${t.description}`)] : []),
  ].join('\n')
  return {
    id: m.id,
    name: m.title.replace(/[^A-Za-z0-9]+/g, ' ').trim().replace(/ (\w)/g, (_, c: string) => c.toUpperCase()).replace(/^\w/, (c) => c.toUpperCase()),
    shortDescription: {text: m.title},
    fullDescription: {text: m.docs.checks},
    help: {text: `${m.docs.checks}\n\nWhy it matters: ${m.docs.why}\n\nHow to fix: ${m.docs.fix}`, markdown: md},
    helpUri: m.refs[0],
    defaultConfiguration: {level: LEVEL[severity]},
    properties: {tags: ['san', 'winsock-direct', m.fault], precision: 'high', 'problem.severity': severity === 'info' ? 'recommendation' : severity, 'security-severity': SECURITY[severity], section: m.section},
  }
}

function result(f: Finding, ruleIndex: number): object {
  const p = primaryEvidence(f)
  const region: Record<string, number> = {startLine: p?.line ?? 1}
  if (p?.line === undefined && p?.offset !== undefined) region.byteOffset = p.offset
  const related = f.evidence
    .filter((e) => e !== p)
    .slice(0, 10)
    .map((e, i) => ({
      id: i + 1,
      message: {text: `${e.role}: ${e.text} (${e.time}${e.tid !== undefined ? `, tid ${e.tid}` : ''})`},
      physicalLocation: {artifactLocation: {uri: artifactUri(e.file)}, region: e.line !== undefined ? {startLine: e.line} : {startLine: 1, ...(e.offset !== undefined ? {byteOffset: e.offset} : {})}},
    }))
  return {
    ruleId: f.rule,
    ruleIndex,
    level: LEVEL[f.severity],
    message: {text: `${f.message} (${whereText(f)}, ${f.time})`},
    locations: [
      {
        physicalLocation: {artifactLocation: {uri: artifactUri(p?.file ?? 'stdin')}, region},
        logicalLocations: [{fullyQualifiedName: `pid ${f.pid}${f.socket ? `/socket ${f.socket}#${f.generation}` : ''}/${p?.fn ?? f.rule}`, kind: 'resource'}],
      },
    ],
    ...(related.length ? {relatedLocations: related} : {}),
    partialFingerprints: {primaryLocationLineHash: f.fingerprint ?? ''},
    ...(f.baselineState ? {baselineState: f.baselineState} : {}),
    properties: {fault: f.fault, pid: f.pid, ...(f.socket ? {socket: f.socket, generation: f.generation} : {}), timeNs: f.ts, time: f.time, ...(f.measured ?? {})},
  }
}

export function renderSarif(r: Report, rules: readonly RuleModule[] = RULES): string {
  const used = rules.filter((m) => r.rules.some((s) => s.rule === m.meta.id))
  const index = new Map(used.map((m, i) => [m.meta.id, i]))
  const sev = new Map(r.rules.map((s) => [s.rule, s.severity]))
  const artifacts = r.inputs.map((i) => ({location: {uri: artifactUri(i.file)}, ...(i.format ? {mimeType: i.format.startsWith('json') ? 'application/json' : 'application/octet-stream'} : {})}))
  const doc = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'santrace',
            semanticVersion: r.tool.version,
            informationUri: 'https://learn.microsoft.com/en-us/windows-hardware/drivers/network/blocking-calls-for-a-san',
            rules: used.map((m) => ruleDescriptor(m, sev.get(m.meta.id) ?? m.meta.severity)),
          },
        },
        automationDetails: {id: `santrace/${r.inputs.map((i) => artifactUri(i.file)).join('+')}/`},
        artifacts,
        results: r.findings.map((f) => result(f, index.get(f.rule) ?? -1)),
        invocations: [
          {
            executionSuccessful: true,
            toolExecutionNotifications: Object.entries(r.skipped).map(([reason, n]) => ({level: 'warning', message: {text: `${n} events skipped: ${reason}`}})),
          },
        ],
        properties: {
          events: r.summary.events,
          rulesNotEvaluated: r.rules.filter((s) => s.status === 'not-evaluated').map((s) => ({rule: s.rule, reason: s.reason})),
          ...(r.baseline ? {baselineSuppressed: r.baseline.suppressed} : {}),
        },
      },
    ],
  }
  return JSON.stringify(doc, null, 2) + '\n'
}
