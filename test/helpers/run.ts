/** Runs the analyzer on traces written to temporary files, the way users run it. */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {analyze, type AnalyzeOptions, type Report} from '../../src/analyze.js'
import type {RawEvent} from '../../src/synth/builder.js'

const dir = mkdtempSync(join(tmpdir(), 'santrace-test-'))
let n = 0

export function tempFile(name: string, content: string | Buffer): string {
  const p = join(dir, `${n++}-${name}`)
  writeFileSync(p, content)
  return p
}

export function jsonl(events: object[]): string {
  return events.map((e) => JSON.stringify(e)).join('\n') + '\n'
}

export async function analyzeEvents(events: RawEvent[] | object[], opts: Partial<AnalyzeOptions> = {}): Promise<Report> {
  const file = tempFile('trace.jsonl', jsonl(events))
  return analyze({files: [file], ...opts})
}

export {dir as tempDir}
