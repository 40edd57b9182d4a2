/**
 * Statistics of a trace: operation counts and latency percentiles per call kind, bytes
 * transferred, and what was still pending when the trace ended. `santrace stats` prints
 * them; the HTML report shows them.
 */
import {E, TRANSFER_FNS} from '../model/constants.js'
import {succeeded} from '../model/result.js'
import {num} from '../model/event.js'
import {isOutstanding, type Model, type Step} from '../model/state.js'
import {Histogram} from './histogram.js'

export interface KindStats {
  /** `WSPSend` (call to return) or `WSPSend completion` (issue to completion). */
  kind: string
  count: number
  failed: number
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

export interface Stats {
  events: number
  span: {first: number; last: number}
  kinds: KindStats[]
  bytes: {sent: number; received: number; rdmaWritten: number; rdmaRead: number}
  pendingAtEnd: Array<{fn: string; count: number}>
  openCallsAtEnd: Array<{fn: string; count: number}>
  sockets: number
  processes: number
}

const BYTES_KEY: Record<string, keyof Stats['bytes']> = {WSPSend: 'sent', WSPRecv: 'received', WSPRdmaWrite: 'rdmaWritten', WSPRdmaRead: 'rdmaRead'}

export class StatsCollector {
  private readonly hist = new Map<string, Histogram>()
  private readonly failed = new Map<string, number>()
  readonly bytes: Stats['bytes'] = {sent: 0, received: 0, rdmaWritten: 0, rdmaRead: 0}

  private sample(kind: string, ns: number, ok: boolean): void {
    let h = this.hist.get(kind)
    if (!h) this.hist.set(kind, (h = new Histogram()))
    h.add(ns)
    if (!ok) this.failed.set(kind, (this.failed.get(kind) ?? 0) + 1)
  }

  observe(step: Step): void {
    const ev = step.ev
    if (ev.kind === 'ret' && step.call) {
      // Started-asynchronously answers are not failures: WSA_IO_PENDING, a connect's
      // WSAEWOULDBLOCK, an incomplete poll's WSA_IO_INCOMPLETE.
      const err = num(ev.f.Errno)
      const ok = succeeded(ev) !== false || err === E.WSA_IO_PENDING || err === E.WSA_IO_INCOMPLETE || (ev.fn === 'WSPConnect' && err === E.WSAEWOULDBLOCK)
      this.sample(ev.fn, ev.ts - step.call.ev.ts, ok)
    }
    const op = step.op
    // An operation's completion: counted once, at the step that completed it.
    if (op && op.done?.ev === ev && TRANSFER_FNS.has(op.fn)) {
      const ok = op.done.status === 0 || op.done.status === undefined
      if (op.state !== 'DONE_IMMEDIATE') this.sample(`${op.fn} completion`, ev.ts - op.call.ts, ok)
      const key = BYTES_KEY[op.fn]
      if (key && ok && op.done.bytes) this.bytes[key] += op.done.bytes
    }
  }

  result(model: Model): Stats {
    const kinds: KindStats[] = [...this.hist]
      .map(([kind, h]) => ({kind, count: h.count, failed: this.failed.get(kind) ?? 0, p50: h.quantile(0.5), p90: h.quantile(0.9), p99: h.quantile(0.99), max: h.max, mean: h.sum / h.count}))
      .sort((a, b) => a.kind.localeCompare(b.kind))
    const pending = new Map<string, number>()
    const open = new Map<string, number>()
    let sockets = model.retiredSockets
    for (const p of model.procs.values()) {
      for (const op of p.ops.values()) if (isOutstanding(op)) pending.set(op.fn, (pending.get(op.fn) ?? 0) + 1)
      for (const c of p.callsBySeq.values()) open.set(c.fn, (open.get(c.fn) ?? 0) + 1)
      for (const g of p.gens.values()) sockets += g
    }
    const list = (m: Map<string, number>): Array<{fn: string; count: number}> => [...m].map(([fn, count]) => ({fn, count})).sort((a, b) => a.fn.localeCompare(b.fn))
    return {
      events: model.events,
      span: {first: model.firstTs ?? 0, last: model.lastTs},
      kinds,
      bytes: this.bytes,
      pendingAtEnd: list(pending),
      openCallsAtEnd: list(open),
      sockets,
      processes: model.procs.size + model.retiredProcs,
    }
  }
}
