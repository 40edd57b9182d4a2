/** `santrace diff OLD NEW`: findings added, removed and unchanged between two traces or saved reports. */
import {readFileSync} from 'node:fs'
import {analyze, type AnalyzeOptions, type Report} from './analyze.js'
import type {Finding} from './rules/types.js'
import {SantraceError} from './util/errors.js'

export interface DiffResult {
  old: string
  new: string
  added: Finding[]
  removed: Finding[]
  unchanged: Finding[]
}

/** A saved `--format json` report, or undefined when the file is something else (a trace). */
export function readSavedReport(path: string): Report | undefined {
  if (!/\.json$/i.test(path)) return undefined
  let doc: unknown
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'))
  } catch {
    return undefined
  }
  const r = doc as Partial<Report>
  if (!r || typeof r !== 'object' || Array.isArray(r) || r.tool?.name !== 'santrace' || !Array.isArray(r.findings)) return undefined
  if (r.findings.some((f) => typeof f.fingerprint !== 'string')) throw new SantraceError(`${path}: the saved report has findings without fingerprints (written by an older santrace): analyze the trace again`)
  return r as Report
}

async function load(path: string, opts: Omit<AnalyzeOptions, 'files'>): Promise<Report> {
  return readSavedReport(path) ?? analyze({...opts, files: [path]})
}

export async function diffReports(oldPath: string, newPath: string, opts: Omit<AnalyzeOptions, 'files'> = {}): Promise<DiffResult> {
  const [a, b] = [await load(oldPath, opts), await load(newPath, opts)]
  const before = new Map(a.findings.map((f) => [`${f.rule} ${f.fingerprint}`, f]))
  const after = new Map(b.findings.map((f) => [`${f.rule} ${f.fingerprint}`, f]))
  return {
    old: oldPath,
    new: newPath,
    added: b.findings.filter((f) => !before.has(`${f.rule} ${f.fingerprint}`)),
    removed: a.findings.filter((f) => !after.has(`${f.rule} ${f.fingerprint}`)),
    unchanged: b.findings.filter((f) => before.has(`${f.rule} ${f.fingerprint}`)),
  }
}
