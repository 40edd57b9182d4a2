/** `santrace report`: analysis, statistics and the timeline data in one pass, then the HTML. */
import type {AnalyzeOptions} from '../analyze.js'
import {RULES} from '../rules/index.js'
import {VERSION} from '../version.js'
import {ReportCollector, type ReportData, type ReportLimits} from './report-data.js'
import {analyzeWithStats} from './run.js'

export async function buildReportData(opts: AnalyzeOptions, limits?: ReportLimits): Promise<ReportData> {
  const c = new ReportCollector(limits)
  const {report, stats} = await analyzeWithStats({
    ...opts,
    observe: (step) => c.observe(step),
    onEnd: (model) => c.finish(model),
  })
  const docs = Object.fromEntries(RULES.map((r) => [r.meta.id, {checks: r.meta.docs.checks, refs: r.meta.refs}]))
  return {
    meta: {
      version: VERSION,
      generated: new Date().toISOString(),
      files: report.inputs.map((i) => i.file),
      origin: report.origin,
      span: report.summary.span,
      events: report.summary.events,
      skipped: report.summary.skipped,
      processes: report.summary.processes,
      sockets: report.summary.sockets,
      findings: report.summary.findings,
      rules: report.summary.rules,
      limits: c.limits,
      dropped: c.dropped,
    },
    lanes: c.lanes,
    barKinds: c.barKinds,
    bars: c.bars,
    fns: c.fns,
    markKinds: c.markKinds,
    marks: c.marks,
    rows: c.rows,
    findings: report.findings.map((f, id) => ({...f, id, lane: c.laneIndex(f.pid, f.socket, f.generation), ruleUrl: docs[f.rule]?.refs[0] ?? ''})),
    rules: report.rules,
    ruleDocs: docs,
    stats,
  }
}
