/** The main job: read traces, rebuild the model, run the rules, and produce a report. */
import {createIngestContext, readTraces} from './ingest/index.js'
import type {FileStats, Problem} from './ingest/diagnostics.js'
import {Engine} from './rules/engine.js'
import type {Model, Step} from './model/state.js'
import {RULES, findRule, type RuleModule} from './rules/index.js'
import {SEVERITY_RANK, type Finding, type RuleStatus, type Severity} from './rules/types.js'
import {emptyConfig, type Config} from './config.js'
import {applyBaseline, type Baseline, type BaselineOutcome} from './baseline.js'
import {assignFingerprints} from './fingerprint.js'
import {resolveThresholds, type ResolvedThreshold} from './thresholds.js'
import {UsageError} from './util/errors.js'
import {shouldShowProgress, startProgress} from './cli/progress.js'
import {VERSION} from './version.js'

export type FailOn = Severity | 'never'

export interface AnalyzeOptions {
  files: string[]
  strict?: boolean
  /** Threshold flag → duration text (`2s`). */
  thresholds?: Record<string, string | undefined>
  /** Only these rule ids. */
  only?: string[]
  /** Run this rule set instead of the registry (tests of rules not yet registered). */
  ruleSet?: readonly RuleModule[]
  cancelImpliesAbort?: boolean
  /** The configuration file's settings (thresholds, rules off, severities, providers). */
  config?: Config
  /** Sees every modelled step (timeline and statistics views). */
  observe?: (step: Step) => void
  /** Called once with the final model, after the rules finished (statistics, report views). */
  onEnd?: (model: Model) => void
  /** Show a progress line on stderr when the input is large and stderr a terminal. */
  progress?: boolean
  /** Findings kept in full; beyond it they are counted only (default 100,000). */
  maxFindings?: number
  /** Report only findings this baseline does not allow. */
  baseline?: {baseline: Baseline; file?: string}
}

export interface Report {
  schemaVersion: 1
  tool: {name: 'santrace'; version: string}
  inputs: FileStats[]
  /** When the traces carry absolute times: the time origin every `ts` counts from. */
  origin?: string
  summary: {
    events: number
    skipped: number
    processes: number
    sockets: number
    findings: Record<Severity, number>
    rules: Record<RuleStatus['status'], number>
    /** Time span covered, ns from the origin. */
    span: {first: number; last: number}
  }
  skipped: Record<string, number>
  notes: Record<string, number>
  problems: Problem[]
  /** The configuration file used, if any. */
  config?: string
  /** When a baseline was applied: how many known findings it suppressed, and which known ones are gone. */
  baseline?: BaselineOutcome
  thresholds: ResolvedThreshold[]
  rules: RuleStatus[]
  findings: Finding[]
}

export function selectRules(only?: string[]): RuleModule[] {
  if (!only || only.length === 0) return [...RULES]
  return only.map((id) => {
    const r = findRule(id)
    if (!r) throw new UsageError(`unknown rule '${id}' (known: ${RULES.map((x) => x.meta.id).join(', ')})`)
    return r
  })
}

export async function analyze(opts: AnalyzeOptions): Promise<Report> {
  if (opts.files.length === 0) throw new UsageError('no trace files given')
  const config = opts.config ?? emptyConfig()
  const selected = opts.ruleSet ? [...opts.ruleSet] : selectRules(opts.only)
  const rules = selected.filter((r) => !config.disabled.has(r.meta.id))
  const {byRule, effective} = resolveThresholds(opts.thresholds ?? {}, opts.ruleSet ?? RULES, config.thresholds)
  const ctx = createIngestContext({strict: opts.strict, sanProviders: config.sanProviders})
  const engine = new Engine(
    rules,
    {
      thresholds: byRule,
      severity: config.severity,
      rules: {cancelImpliesAbort: opts.cancelImpliesAbort ?? config.cancelImpliesAbort ?? false, provider: config.provider},
      observe: opts.observe,
      maxFindings: opts.maxFindings,
    },
    ctx.timebase,
  )
  const total = opts.progress ? shouldShowProgress(opts.files) : undefined
  const stop = total ? startProgress(total, {bytes: () => ctx.progress.bytes, events: () => engine.model.events}) : undefined
  try {
    for await (const batch of readTraces(opts.files, ctx)) engine.feed(batch)
  } finally {
    stop?.()
  }
  const {findings: all, statuses: run} = engine.finish()
  opts.onEnd?.(engine.model)
  assignFingerprints(all)
  let findings = all
  let baselineOutcome: BaselineOutcome | undefined
  if (opts.baseline) {
    const r = applyBaseline(all, opts.baseline.baseline, opts.baseline.file)
    findings = r.fresh
    baselineOutcome = r.outcome
  }
  const statuses: RuleStatus[] = selected.map(
    (r) =>
      run.find((s) => s.rule === r.meta.id) ?? {
        rule: r.meta.id,
        title: r.meta.title,
        severity: config.severity[r.meta.id] ?? r.meta.severity,
        status: 'disabled',
        findings: 0,
        checked: 0,
        inconclusive: 0,
        reason: `turned off in ${config.path ?? 'the configuration'}`,
      },
  )
  const model = engine.model
  let sockets = model.retiredSockets
  for (const p of model.procs.values()) for (const g of p.gens.values()) sockets += g
  const bySev: Record<Severity, number> = {...engine.dropped}
  for (const f of findings) bySev[f.severity]++
  const droppedCount = engine.dropped.error + engine.dropped.warning + engine.dropped.info
  if (droppedCount) ctx.diag.note(`findings beyond the first ${engine.maxFindings} (counted in the summary, not listed)`, droppedCount)
  const byStatus: Record<RuleStatus['status'], number> = {violated: 0, passed: 0, 'not-evaluated': 0, disabled: 0}
  for (const s of statuses) byStatus[s.status]++
  return {
    schemaVersion: 1,
    tool: {name: 'santrace', version: VERSION},
    // Readers finish in any order; list the inputs in the order given.
    inputs: [...ctx.diag.files].sort((a, b) => opts.files.indexOf(a.file === '<stdin>' ? '-' : a.file) - opts.files.indexOf(b.file === '<stdin>' ? '-' : b.file)),
    origin: ctx.timebase.origin !== undefined ? ctx.timebase.iso(0) : undefined,
    summary: {
      events: model.events,
      skipped: ctx.diag.totalSkipped,
      processes: model.procs.size + model.retiredProcs,
      sockets,
      findings: bySev,
      rules: byStatus,
      span: {first: model.firstTs ?? 0, last: model.lastTs},
    },
    skipped: Object.fromEntries(ctx.diag.skipped),
    notes: Object.fromEntries(ctx.diag.notes),
    problems: ctx.diag.samples,
    config: config.path,
    baseline: baselineOutcome,
    thresholds: effective,
    rules: statuses,
    findings,
  }
}

/**
 * Exit code: 1 when a finding is at or above `failOn`, or when there are more warnings than
 * `maxWarnings` (ESLint's gate); else 0. With a baseline, only new findings count.
 */
export function exitCodeFor(report: Report, failOn: FailOn, maxWarnings?: number): 0 | 1 {
  if (maxWarnings !== undefined && maxWarnings >= 0 && report.summary.findings.warning > maxWarnings) return 1
  if (failOn === 'never') return 0
  const min = SEVERITY_RANK[failOn]
  const c = report.summary.findings
  return (['error', 'warning', 'info'] as const).some((s) => SEVERITY_RANK[s] >= min && c[s] > 0) ? 1 : 0
}

/** The report with only errors listed (`--quiet`); counts stay those of the whole analysis. */
export function errorsOnly(report: Report): Report {
  return {...report, findings: report.findings.filter((f) => f.severity === 'error')}
}
