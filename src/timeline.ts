/** One socket's calls in order, with the findings that concern it: `santrace timeline`. */
import {analyze, type AnalyzeOptions, type Report} from './analyze.js'
import type {Ev} from './model/event.js'
import type {Sock, Step} from './model/state.js'

export interface SocketSummary {
  pid: number
  socket: string
  generation: number
  role?: string
  switchHandle?: string
  state: string
  events: number
  findings: number
}

export interface TimelineEntry {
  ev: Ev
  /** For returns: time since the paired call, ns. */
  duration?: number
}

export interface SocketTimeline extends SocketSummary {
  entries: TimelineEntry[]
  /** Events past the limit, not kept. */
  truncated: number
}

export interface TimelineResult {
  report: Report
  sockets: SocketSummary[]
  timelines: SocketTimeline[]
}

export interface TimelineOptions extends AnalyzeOptions {
  socket?: string
  pid?: number
  generation?: number
  /** Events kept per socket instance. */
  limit?: number
}

function socketsOf(step: Step): Sock[] {
  const out: Sock[] = []
  for (const k of [step.sock, step.created, step.op?.sock]) if (k && !out.includes(k)) out.push(k)
  return out
}

export async function timeline(opts: TimelineOptions): Promise<TimelineResult> {
  const counts = new Map<Sock, number>()
  const lines = new Map<Sock, SocketTimeline>()
  const limit = opts.limit ?? 5000
  const want = opts.socket?.toLowerCase()
  const match = (k: Sock): boolean =>
    want !== undefined && k.s === want && (opts.pid === undefined || k.pid === opts.pid) && (opts.generation === undefined || k.gen === opts.generation)
  const report = await analyze({
    ...opts,
    observe(step) {
      for (const k of socketsOf(step)) {
        counts.set(k, (counts.get(k) ?? 0) + 1)
        if (!match(k)) continue
        let t = lines.get(k)
        if (!t) lines.set(k, (t = {...summary(k, 0, 0), entries: [], truncated: 0}))
        if (t.entries.length >= limit) {
          t.truncated++
          continue
        }
        const call = step.ev.kind === 'ret' ? step.call?.ev : undefined
        // The creating call precedes the socket: show it with the return that creates the socket.
        if (step.created === k && call) t.entries.push({ev: call})
        t.entries.push({ev: step.ev, duration: call ? step.ev.ts - call.ts : undefined})
      }
    },
  })
  const findingsOf = (k: Sock): number => report.findings.filter((f) => f.pid === k.pid && f.socket === k.s && f.generation === k.gen).length
  const sockets = [...counts].map(([k, n]) => summary(k, n, findingsOf(k)))
  sockets.sort((a, b) => a.pid - b.pid || a.socket.localeCompare(b.socket) || a.generation - b.generation)
  const timelines = [...lines].map(([k, t]) => ({...t, ...summary(k, counts.get(k) ?? 0, findingsOf(k))}))
  timelines.sort((a, b) => a.pid - b.pid || a.generation - b.generation)
  return {report, sockets, timelines}
}

function summary(k: Sock, events: number, findings: number): SocketSummary {
  return {pid: k.pid, socket: k.s, generation: k.gen, role: k.role, switchHandle: k.switchHandle, state: k.state, events, findings}
}
