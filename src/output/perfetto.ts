/**
 * Chrome Trace Event JSON that ui.perfetto.dev and chrome://tracing open (ux-anchors §3.3),
 * written as the events stream by, so memory stays bounded: processes and threads named,
 * calls and upcalls as complete slices on their thread, overlapped operations as async
 * slices (they overlap, so they cannot nest on a thread), flows from each call to the event
 * that completed its operation, other events and the findings as instants.
 */
import {closeSync, openSync, writeSync} from 'node:fs'
import type {Finding} from '../rules/types.js'
import {describe} from '../model/fields.js'
import {isOutstanding, type Model, type Op, type Step} from '../model/state.js'

const us = (ns: number): number => Math.round(ns / 100) / 10

export class PerfettoWriter {
  private readonly fd: number
  private buf: string[] = []
  private first = true
  private readonly procs = new Set<number>()
  private readonly threads = new Set<string>()
  private readonly opIds = new WeakMap<Op, number>()
  private nextId = 1
  events = 0

  constructor(path: string) {
    this.fd = openSync(path, 'w')
    writeSync(this.fd, '{"displayTimeUnit":"ns","otherData":{"generator":"santrace"},"traceEvents":[\n')
  }

  private emit(o: object): void {
    this.buf.push((this.first ? '' : ',\n') + JSON.stringify(o))
    this.first = false
    this.events++
    if (this.buf.length >= 2048) this.flush()
  }

  private flush(): void {
    if (this.buf.length) writeSync(this.fd, this.buf.join(''))
    this.buf = []
  }

  private names(pid: number, tid: number | undefined): void {
    if (!this.procs.has(pid)) {
      this.procs.add(pid)
      this.emit({name: 'process_name', ph: 'M', pid, args: {name: `pid ${pid}`}})
    }
    if (tid !== undefined && !this.threads.has(`${pid}:${tid}`)) {
      this.threads.add(`${pid}:${tid}`)
      this.emit({name: 'thread_name', ph: 'M', pid, tid, args: {name: `tid ${tid}`}})
    }
  }

  private opId(op: Op): number {
    let id = this.opIds.get(op)
    if (id === undefined) this.opIds.set(op, (id = this.nextId++))
    return id
  }

  private async(op: Op, endNs: number, args: Record<string, unknown>): void {
    const id = `op-${this.opId(op)}`
    const sock = op.sock ? `${op.sock.s}#${op.sock.gen}` : 'unknown socket'
    const name = `${op.fn} ${sock}`
    this.emit({name, cat: 'socket', ph: 'b', ts: us(op.call.ts), pid: op.pid, id, args: {socket: sock, overlapped: op.ov, ...args}})
    this.emit({name, cat: 'socket', ph: 'e', ts: us(Math.max(endNs, op.call.ts)), pid: op.pid, id})
  }

  observe(step: Step): void {
    const ev = step.ev
    this.names(ev.pid, ev.tid)
    const tid = ev.tid ?? 0
    if (ev.kind === 'ret' && step.call) {
      const call = step.call.ev
      this.emit({name: ev.fn, cat: 'call', ph: 'X', ts: us(call.ts), dur: us(ev.ts - call.ts), pid: ev.pid, tid: call.tid ?? tid, args: {call: describe(call), return: describe(ev)}})
    } else if ((ev.kind === 'upret' && step.up) || ev.kind === 'cbret') {
      const start = step.up?.ev ?? ev
      this.emit({name: ev.fn, cat: 'upcall', ph: 'X', ts: us(start.ts), dur: us(ev.ts - start.ts), pid: ev.pid, tid: start.tid ?? tid, args: {upcall: describe(start), return: describe(ev)}})
    } else if (ev.kind !== 'call' && ev.kind !== 'up' && ev.kind !== 'cb') {
      // Signals, provider events, switch events, and returns whose call predates the trace.
      const o: Record<string, unknown> = {name: ev.key, cat: ev.kind, ph: 'i', s: ev.tid !== undefined ? 't' : 'p', ts: us(ev.ts), pid: ev.pid, args: {event: describe(ev)}}
      if (ev.tid !== undefined) o.tid = ev.tid
      this.emit(o)
    }
    const op = step.op
    if (!op) return
    if (op.done?.ev === ev && op.state !== 'DONE_IMMEDIATE') {
      this.async(op, ev.ts, {status: op.done.status, bytes: op.done.bytes})
      // A flow from the issuing call to the upcall or poll that completed the operation.
      if (ev.tid !== undefined && op.call.tid !== undefined && (ev.kind === 'up' || ev.kind === 'ret')) {
        const id = `flow-${this.opId(op)}`
        this.emit({name: 'completion', cat: 'flow', ph: 's', ts: us(op.call.ts), pid: op.pid, tid: op.call.tid, id})
        this.emit({name: 'completion', cat: 'flow', ph: 'f', bp: 'e', ts: us(ev.ts), pid: ev.pid, tid: ev.tid, id})
      }
    } else if (op.state === 'FAILED_SYNC' && op.ret === ev) this.async(op, ev.ts, {failed: true})
    else if (op.state === 'DONE_IMMEDIATE' && op.ret === ev) this.async(op, ev.ts, {immediate: true, bytes: op.done?.bytes})
  }

  finish(model: Model, findings: Finding[]): void {
    for (const p of model.procs.values()) {
      for (const op of p.ops.values()) if (isOutstanding(op)) this.async(op, model.lastTs, {pendingAtEnd: true})
      for (const c of p.callsBySeq.values()) {
        this.emit({name: c.fn, cat: 'call', ph: 'X', ts: us(c.ev.ts), dur: us(model.lastTs - c.ev.ts), pid: p.pid, tid: c.ev.tid ?? 0, args: {call: describe(c.ev), notReturnedAtEnd: true}})
      }
    }
    for (const f of findings) {
      const tid = f.evidence.find((e) => e.ts === f.ts)?.tid
      this.names(f.pid, tid)
      const o: Record<string, unknown> = {name: `${f.rule} ${f.severity}`, cat: 'finding', ph: 'i', s: tid !== undefined ? 't' : 'p', ts: us(f.ts), pid: f.pid, args: {rule: f.rule, severity: f.severity, fault: f.fault, message: f.message, socket: f.socket, fingerprint: f.fingerprint}}
      if (tid !== undefined) o.tid = tid
      this.emit(o)
    }
    this.flush()
    writeSync(this.fd, '\n]}\n')
    closeSync(this.fd)
  }
}
