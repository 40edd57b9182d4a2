/** Pieces shared by the CI output formats. */
import {isAbsolute, relative, resolve, sep} from 'node:path'
import type {EvidenceItem, Finding} from '../rules/types.js'

/** The evidence event where the violation shows: the latest one not after the finding's time. */
export function primaryEvidence(f: Finding): EvidenceItem | undefined {
  let best: EvidenceItem | undefined
  for (const e of f.evidence) if (e.ts <= f.ts && (!best || e.ts >= best.ts)) best = e
  return best ?? f.evidence[0]
}

/** A stable, forward-slash path for a trace file: relative to the working directory when below it. */
export function artifactUri(file: string): string {
  if (file === '<stdin>') return 'stdin'
  const abs = resolve(file)
  const rel = relative(process.cwd(), abs)
  const p = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs
  return p.split(sep).join('/')
}

/** `pid 4120 · socket 0x2b8#1` or `pid 4120`. */
export function whereText(f: Finding): string {
  return `pid ${f.pid}${f.socket ? ` · socket ${f.socket}#${f.generation}` : ''}`
}

/** Findings in a stable order: time, then rule. */
export function byTime(a: Finding, b: Finding): number {
  return a.ts - b.ts || a.rule.localeCompare(b.rule)
}
