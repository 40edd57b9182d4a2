/** Terminal rendering of `santrace timeline`. */
import Table from 'cli-table3'
import {describe} from '../model/fields.js'
import type {SocketTimeline, TimelineResult} from '../timeline.js'
import type {Finding} from '../rules/types.js'
import {formatDuration, formatOffset} from '../util/duration.js'
import {makeChalk, tableStyle} from './color.js'
import {severityColor} from './text.js'

const ARROWS: Record<string, string> = {call: '→', ret: '←', up: '↑', upret: '↓', cb: '↑', cbret: '↓', sig: '•', reset: '•', prov: '•', app: '◆', sw: '◆', tcp: '◆'}

export function renderSocketList(r: TimelineResult, color: boolean): string {
  const t = new Table({head: ['PID', 'Socket', 'Gen', 'Role', 'Switch handle', 'Final state', 'Events', 'Findings'], style: tableStyle(color, true)})
  for (const s of r.sockets) t.push([s.pid, s.socket, s.generation, s.role ?? '', s.switchHandle ?? '', s.state, s.events, s.findings])
  return `${t.toString()}\nPick one with --socket S (and --pid P when several processes use the same descriptor).\n`
}

export function renderTimeline(r: TimelineResult, color: boolean): string {
  const c = makeChalk(color)
  const out: string[] = []
  for (const t of r.timelines) out.push(...renderOne(t, r.report.findings, c), '')
  return out.join('\n')
}

function renderOne(t: SocketTimeline, all: Finding[], c: ReturnType<typeof makeChalk>): string[] {
  const out: string[] = []
  out.push(
    c.bold(`Process ${t.pid} · socket ${t.socket} generation ${t.generation}`) +
      c.dim(` (${[t.role && `role ${t.role}`, t.switchHandle && `switch handle ${t.switchHandle}`, `final state ${t.state}`, `${t.events} events`].filter(Boolean).join(', ')})`),
  )
  const findings = all.filter((f) => f.pid === t.pid && f.socket === t.socket && f.generation === t.generation)
  const number = new Map(findings.map((f, i) => [f, i + 1]))
  const byEvent = new Map<number, Finding[]>()
  for (const f of findings) {
    for (const e of f.evidence) {
      const l = byEvent.get(e.index) ?? []
      if (!l.includes(f)) l.push(f)
      byEvent.set(e.index, l)
    }
  }
  const pendingFindings = [...findings].sort((a, b) => a.ts - b.ts)
  let fi = 0
  const flushFindings = (upTo: number): void => {
    while (fi < pendingFindings.length && pendingFindings[fi].ts <= upTo) {
      const f = pendingFindings[fi++]
      out.push(`  ${severityColor(c, f.severity)(`✖ [${number.get(f)}] ${f.severity} ${f.rule}`)} ${f.message}`)
    }
  }
  out.push(c.dim(`  ${'time'.padEnd(14)} ${'Δ'.padStart(10)} ${'tid'.padStart(6)}    event`))
  let prev: number | undefined
  for (const {ev, duration} of t.entries) {
    flushFindings(ev.ts - 1)
    const delta = prev === undefined ? '' : `+${formatDuration(ev.ts - prev)}`
    prev = ev.ts
    const arrow = ARROWS[ev.kind] ?? ' '
    const result = duration !== undefined ? c.dim(` (${formatDuration(duration)})`) : ''
    const marks = byEvent.get(ev.i)?.map((f) => severityColor(c, f.severity)(`◀ [${number.get(f)}] ${f.rule}`)).join(' ') ?? ''
    out.push(`  ${formatOffset(ev.ts).padEnd(14)} ${delta.padStart(10)} ${String(ev.tid ?? '').padStart(6)} ${arrow}  ${describe(ev)}${result}${marks ? `  ${marks}` : ''}`)
  }
  flushFindings(Number.POSITIVE_INFINITY)
  if (t.truncated) out.push(c.dim(`  … ${t.truncated} more events not shown (raise --limit)`))
  return out
}
