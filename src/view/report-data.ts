/**
 * The data behind the HTML report, gathered in one pass with stated limits so that memory
 * stays bounded on large traces: operations become bars on one lane per socket, upcalls and
 * signals become marks, and each socket keeps its first events as table rows.
 */
import type {Report} from '../analyze.js'
import type {Ev} from '../model/event.js'
import {describe} from '../model/fields.js'
import {isOutstanding, type Model, type Sock, type Step} from '../model/state.js'
import {succeeded} from '../model/result.js'
import {num} from '../model/event.js'
import type {Stats} from './stats.js'

export interface ReportLimits {
  bars: number
  marks: number
  rowsPerSocket: number
  rows: number
}

export const DEFAULT_LIMITS: ReportLimits = {bars: 1_000_000, marks: 500_000, rowsPerSocket: 100, rows: 100_000}

export interface Lane {
  pid: number
  s: string
  gen: number
  role?: string
  handle?: string
  state: string
  /** Anchor id of the socket's section. */
  anchor: string
  events: number
  first: number
}

export interface ReportData {
  meta: {
    version: string
    generated: string
    files: string[]
    origin?: string
    span: {first: number; last: number}
    events: number
    skipped: number
    processes: number
    sockets: number
    findings: {error: number; warning: number; info: number}
    rules: Record<string, number>
    limits: ReportLimits
    dropped: {bars: number; marks: number; rows: number}
  }
  lanes: Lane[]
  barKinds: string[]
  /**
   * Columnar, to stay compact: lane index, start ns, end ns, kind index, flags (1 failed,
   * 2 still pending at the end), function index (into `fns`), and detail: the byte count of
   * a completed operation or the status of a failed one (-1: none).
   */
  bars: {lane: number[]; t0: number[]; t1: number[]; kind: number[]; flag: number[]; fn: number[]; detail: number[]}
  fns: string[]
  markKinds: string[]
  marks: {lane: number[]; t: number[]; kind: number[]}
  /** Per lane: [ts, tid, arrow, text, duration ns or -1]. */
  rows: Array<Array<[number, number, string, string, number]>>
  findings: Array<Report['findings'][number] & {id: number; lane: number; ruleUrl: string}>
  rules: Report['rules']
  ruleDocs: Record<string, {checks: string; refs: string[]}>
  stats: Stats
}

const ARROW: Record<string, string> = {call: '→', ret: '←', up: '↑', upret: '↓', cb: '↑', cbret: '↓', sig: '•', reset: '•', prov: '•', app: '◆', sw: '◆', tcp: '◆'}

function barKind(fn: string): string {
  switch (fn) {
    case 'WSPConnect':
      return 'connect'
    case 'WSPAccept':
      return 'accept'
    case 'WSPSend':
      return 'send'
    case 'WSPRecv':
      return 'recv'
    case 'WSPRdmaWrite':
      return 'rdma-write'
    case 'WSPRdmaRead':
      return 'rdma-read'
    case 'WSPCloseSocket':
      return 'close'
    default:
      return 'call'
  }
}

export class ReportCollector {
  private readonly laneOf = new Map<Sock, number>()
  private readonly socks: Sock[] = []
  readonly lanes: Lane[] = []
  readonly rows: ReportData['rows'] = []
  private rowCount = 0
  readonly bars: ReportData['bars'] = {lane: [], t0: [], t1: [], kind: [], flag: [], fn: [], detail: []}
  readonly fns: string[] = []
  readonly marks: ReportData['marks'] = {lane: [], t: [], kind: []}
  readonly barKinds: string[] = []
  readonly markKinds: string[] = []
  readonly dropped = {bars: 0, marks: 0, rows: 0}
  private readonly connectingSince = new Map<Sock, number>()

  constructor(readonly limits: ReportLimits = DEFAULT_LIMITS) {}

  lane(k: Sock, ts: number): number {
    let i = this.laneOf.get(k)
    if (i === undefined) {
      i = this.lanes.length
      this.laneOf.set(k, i)
      this.socks.push(k)
      this.lanes.push({pid: k.pid, s: k.s, gen: k.gen, state: k.state, anchor: `socket-${k.pid}-${k.s}-${k.gen}`, events: 0, first: ts})
      this.rows.push([])
    }
    return i
  }

  laneIndex(pid: number, s: string | undefined, gen: number | undefined): number {
    if (s === undefined) return -1
    return this.lanes.findIndex((l) => l.pid === pid && l.s === s && l.gen === gen)
  }

  private kindIndex(list: string[], k: string): number {
    let i = list.indexOf(k)
    if (i < 0) {
      i = list.length
      list.push(k)
    }
    return i
  }

  private bar(lane: number, t0: number, t1: number, kind: string, flag: number, fn: string, detail = -1): void {
    if (this.bars.lane.length >= this.limits.bars) {
      this.dropped.bars++
      return
    }
    this.bars.lane.push(lane)
    this.bars.t0.push(t0)
    this.bars.t1.push(Math.max(t0, t1))
    this.bars.kind.push(this.kindIndex(this.barKinds, kind))
    this.bars.flag.push(flag)
    this.bars.fn.push(this.kindIndex(this.fns, fn))
    this.bars.detail.push(detail ?? -1)
  }

  private mark(lane: number, ev: Ev): void {
    if (this.marks.lane.length >= this.limits.marks) {
      this.dropped.marks++
      return
    }
    this.marks.lane.push(lane)
    this.marks.t.push(ev.ts)
    this.marks.kind.push(this.kindIndex(this.markKinds, ev.fn))

  }

  private row(lane: number, ev: Ev, dur: number): void {
    const l = this.lanes[lane]
    l.events++
    if (this.rows[lane].length >= this.limits.rowsPerSocket || this.rowCount >= this.limits.rows) {
      this.dropped.rows++
      return
    }
    this.rowCount++
    this.rows[lane].push([ev.ts, ev.tid ?? -1, ARROW[ev.kind] ?? ' ', describe(ev), dur])
  }

  observe(step: Step): void {
    const ev = step.ev
    const call = ev.kind === 'ret' ? step.call : undefined
    const socks: Sock[] = []
    for (const k of [step.sock, step.created, step.op?.sock]) if (k && !socks.includes(k)) socks.push(k)
    for (const k of socks) {
      const lane = this.lane(k, ev.ts)
      if (step.created === k && call) this.row(lane, call.ev, -1)
      this.row(lane, ev, call ? ev.ts - call.ev.ts : -1)
    }
    // Bars: calls from call to return; overlapped operations from issue to completion.
    if (call) {
      const k = step.created ?? step.sock
      if (k && !call.op) {
        const ok = succeeded(ev)
        this.bar(this.lane(k, ev.ts), call.ev.ts, ev.ts, barKind(ev.fn), ok === false ? 1 : 0, ev.fn, ok === false ? (num(ev.f.Errno) ?? -1) : -1)
      }
      if (ev.fn === 'WSPConnect' && k && k.state === 'CONNECTING') this.connectingSince.set(k, ev.ts)
    }
    if (step.sock && step.before === 'CONNECTING' && step.sock.state !== 'CONNECTING') {
      const k = step.sock
      const since = this.connectingSince.get(k)
      if (since !== undefined) {
        this.connectingSince.delete(k)
        this.bar(this.lane(k, ev.ts), since, ev.ts, 'connecting', k.state === 'CONNECTED' ? 0 : 1, 'connecting')
      }
    }
    const op = step.op
    if (op && op.sock && op.done?.ev === ev) {
      const failed = op.state === 'FAILED_SYNC' || (op.done.status !== undefined && op.done.status !== 0)
      this.bar(this.lane(op.sock, ev.ts), op.call.ts, ev.ts, barKind(op.fn), failed ? 1 : 0, op.fn, failed ? (op.done.status ?? -1) : (op.done.bytes ?? -1))
    } else if (op && op.sock && op.state === 'FAILED_SYNC' && op.ret === ev) {
      this.bar(this.lane(op.sock, ev.ts), op.call.ts, ev.ts, barKind(op.fn), 1, op.fn, num(ev.f.Errno) ?? -1)
    }
    // Marks: upcalls, condition callbacks, signals and provider events.
    if ((ev.kind === 'up' || ev.kind === 'sig' || ev.kind === 'reset' || ev.kind === 'prov' || ev.kind === 'cb') && socks.length) {
      this.mark(this.lane(socks[0], ev.ts), ev)
    }
  }

  finish(model: Model): void {
    for (const p of model.procs.values()) {
      for (const op of p.ops.values()) {
        if (isOutstanding(op) && op.sock) this.bar(this.lane(op.sock, op.call.ts), op.call.ts, model.lastTs, barKind(op.fn), 2, op.fn)
      }
      for (const c of p.callsBySeq.values()) {
        if (c.sock) this.bar(this.lane(c.sock, c.ev.ts), c.ev.ts, model.lastTs, barKind(c.fn), 2, c.fn)
      }
    }
    this.socks.forEach((k, i) => {
      const l = this.lanes[i]
      l.state = k.state
      l.role = k.role
      l.handle = k.switchHandle
    })
  }
}
