/**
 * Many traces at once: directories expanded (recursively, with glob filters), independent
 * traces analyzed in worker threads (`--jobs`), files that belong together (`--group`) kept in
 * one analysis, and the results merged deterministically (input order, whatever finished first).
 */
import {existsSync} from 'node:fs'
import {readdir, stat} from 'node:fs/promises'
import {availableParallelism} from 'node:os'
import {join, relative, sep} from 'node:path'
import {Worker} from 'node:worker_threads'
import {analyze, type AnalyzeOptions, type Report} from './analyze.js'
import {applyBaseline} from './baseline.js'
import {assignFingerprints} from './fingerprint.js'
import type {RuleStatus, Severity} from './rules/types.js'
import {InputError, SantraceError, UsageError} from './util/errors.js'
import {packageRoot} from './util/paths.js'

export const TRACE_EXTENSIONS = /\.(etl|jsonl|ndjson|json)(\.gz)?$/i

/** A glob (`*`, `**`, `?`) as a regular expression over forward-slash paths. */
export function globToRegExp(glob: string): RegExp {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*'
        i += glob[i + 2] === '/' ? 2 : 1
      } else re += '[^/]*'
    } else if (c === '?') re += '[^/]'
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

export interface Expanded {
  files: string[]
  /** A directory was among the inputs. */
  fromDirectory: boolean
}

/**
 * Files as given, and directories replaced by the trace files below them (sorted), kept
 * when they match an --include glob (default: every trace extension) and no --exclude glob.
 * Globs match the path relative to the directory given.
 */
export async function expandInputs(paths: string[], include: string[] = [], exclude: string[] = []): Promise<Expanded> {
  const inc = include.map(globToRegExp)
  const exc = exclude.map(globToRegExp)
  const files: string[] = []
  let fromDirectory = false
  for (const p of paths) {
    if (p === '-') {
      files.push(p)
      continue
    }
    let st
    try {
      st = await stat(p)
    } catch {
      throw new InputError(p, 'no such file or directory')
    }
    if (!st.isDirectory()) {
      files.push(p)
      continue
    }
    fromDirectory = true
    const found: string[] = []
    const walk = async (dir: string): Promise<void> => {
      const entries = await readdir(dir, {withFileTypes: true})
      for (const e of entries) {
        const full = join(dir, e.name)
        if (e.isDirectory()) await walk(full)
        else if (e.isFile()) {
          const rel = relative(p, full).split(sep).join('/')
          const ok = inc.length ? inc.some((r) => r.test(rel) || r.test(e.name)) : TRACE_EXTENSIONS.test(e.name)
          if (ok && !exc.some((r) => r.test(rel) || r.test(e.name))) found.push(full)
        }
      }
    }
    await walk(p)
    if (found.length === 0) throw new InputError(p, `no trace files in this directory${include.length ? ` matching ${include.join(', ')}` : ' (.etl, .jsonl, .ndjson, .json, optionally .gz)'}`)
    files.push(...found.sort())
  }
  return {files, fromDirectory}
}

/** Groups of files analyzed together: one per file, or by the first capture group of `--group`. */
export function groupFiles(files: string[], group?: string): string[][] {
  if (!group) return files.map((f) => [f])
  let re: RegExp
  try {
    re = new RegExp(group)
  } catch (e) {
    throw new UsageError(`--group: not a regular expression: ${(e as Error).message}`)
  }
  const groups = new Map<string, string[]>()
  for (const f of files) {
    const m = re.exec(f.split(sep).join('/'))
    const key = m ? (m[1] ?? m[0]) : `\u0000${f}`
    const g = groups.get(key)
    if (g) g.push(f)
    else groups.set(key, [f])
  }
  return [...groups.values()]
}

type GroupOptions = Omit<AnalyzeOptions, 'files' | 'observe' | 'onEnd' | 'baseline' | 'progress'>

/** Worker-safe copy of the options (no functions). */
function plain(opts: GroupOptions): GroupOptions {
  const {ruleSet: _r, ...rest} = opts as GroupOptions & {ruleSet?: unknown}
  return rest
}

async function runWorkers(groups: string[][], opts: GroupOptions, jobs: number): Promise<Report[]> {
  const script = join(packageRoot, 'dist', 'src', 'parallel-worker.js')
  if (jobs <= 1 || groups.length <= 1 || !existsSync(script)) {
    const out: Report[] = []
    for (const g of groups) out.push(await analyze({...opts, files: g}))
    return out
  }
  const results = new Array<Report>(groups.length)
  let next = 0
  let failure: unknown
  const worker = async (): Promise<void> => {
    const w = new Worker(script, {workerData: {options: plain(opts)}})
    try {
      while (failure === undefined && next < groups.length) {
        const i = next++
        const reply = await new Promise<{report?: Report; error?: {message: string; exitCode: number}}>((resolve, reject) => {
          w.once('message', resolve)
          w.once('error', reject)
          w.postMessage({files: groups[i]})
        })
        w.removeAllListeners('error')
        if (reply.error) {
          failure = new SantraceError(reply.error.message, reply.error.exitCode)
          break
        }
        results[i] = reply.report!
      }
    } catch (e) {
      failure ??= e
    } finally {
      await w.terminate()
    }
  }
  await Promise.all(Array.from({length: Math.min(jobs, groups.length)}, worker))
  if (failure !== undefined) throw failure
  return results
}

function mergeStatus(all: RuleStatus[]): RuleStatus {
  const first = all[0]
  const findings = all.reduce((a, s) => a + s.findings, 0)
  const checked = all.reduce((a, s) => a + s.checked, 0)
  const inconclusive = all.reduce((a, s) => a + s.inconclusive, 0)
  const status: RuleStatus['status'] = all.some((s) => s.status === 'violated')
    ? 'violated'
    : all.some((s) => s.status === 'passed')
      ? 'passed'
      : all.every((s) => s.status === 'disabled')
        ? 'disabled'
        : 'not-evaluated'
  const reasons = [...new Set(all.map((s) => s.reason).filter(Boolean))]
  return {...first, status, findings, checked, inconclusive, reason: status === 'not-evaluated' || status === 'disabled' ? reasons[0] : reasons.length ? reasons.join('; ') : undefined}
}

/** One report for several independent analyses, in input order. */
export function mergeReports(reports: Report[]): Report {
  if (reports.length === 1) return reports[0]
  const sum = (f: (r: Report) => number): number => reports.reduce((a, r) => a + f(r), 0)
  const counts = (pick: (r: Report) => Record<string, number>): Record<string, number> => {
    const out: Record<string, number> = {}
    for (const r of reports) for (const [k, n] of Object.entries(pick(r))) out[k] = (out[k] ?? 0) + n
    return out
  }
  const findings = reports.flatMap((r) => r.findings)
  assignFingerprints(findings)
  const rules = reports[0].rules.map((s) => mergeStatus(reports.map((r) => r.rules.find((x) => x.rule === s.rule)!)))
  const bySev: Record<Severity, number> = {error: 0, warning: 0, info: 0}
  for (const f of findings) bySev[f.severity]++
  const byStatus: Record<RuleStatus['status'], number> = {violated: 0, passed: 0, 'not-evaluated': 0, disabled: 0}
  for (const s of rules) byStatus[s.status]++
  return {
    ...reports[0],
    inputs: reports.flatMap((r) => r.inputs),
    origin: undefined,
    summary: {
      events: sum((r) => r.summary.events),
      skipped: sum((r) => r.summary.skipped),
      processes: sum((r) => r.summary.processes),
      sockets: sum((r) => r.summary.sockets),
      findings: bySev,
      rules: byStatus,
      span: {first: Math.min(...reports.map((r) => r.summary.span.first)), last: Math.max(...reports.map((r) => r.summary.span.last))},
    },
    skipped: counts((r) => r.skipped),
    notes: counts((r) => r.notes),
    problems: reports.flatMap((r) => r.problems).slice(0, 50),
    rules,
    findings,
  }
}

export interface ManyOptions extends GroupOptions {
  groups: string[][]
  jobs?: number
  baseline?: AnalyzeOptions['baseline']
}

export async function analyzeMany(opts: ManyOptions): Promise<Report> {
  const {groups, jobs, baseline, ...rest} = opts
  const reports = await runWorkers(groups, rest, jobs ?? availableParallelism())
  const merged = mergeReports(reports)
  if (!baseline) return merged
  const {fresh, outcome} = applyBaseline(merged.findings, baseline.baseline, baseline.file)
  const bySev: Record<Severity, number> = {error: 0, warning: 0, info: 0}
  for (const f of fresh) bySev[f.severity]++
  return {...merged, findings: fresh, baseline: outcome, summary: {...merged.summary, findings: bySev}}
}
