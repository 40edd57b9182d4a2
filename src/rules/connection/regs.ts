/**
 * Local memory registrations (WSPRegisterMemory), which the shared model does not keep:
 * per socket, handle → region, with the access flags and the registering events
 * (wsd-rules.md §3.3). Each rule that needs them owns one tracker. A socket's regions are
 * dropped when its WSPCloseSocket returns (the provider releases whatever is left).
 */
import type {Ev} from '../../model/event.js'
import {num, str} from '../../model/event.js'
import {toHandle} from '../../model/fields.js'
import {succeeded} from '../../model/result.js'
import {type Model, type RdmaReg, type Sock, addr} from '../../model/state.js'
import type {RuleListener} from '../types.js'
import {overlaps} from './util.js'

export const MEM_READ = 1
export const MEM_WRITE = 2
export const MEM_READWRITE = 3

export const memFlagsText = (f: number | undefined): string =>
  f === MEM_READ ? 'MEM_READ' : f === MEM_WRITE ? 'MEM_WRITE' : f === MEM_READWRITE ? 'MEM_READWRITE' : f === undefined ? 'flags unknown' : `flags 0x${f.toString(16)}`

export interface Region {
  sock: Sock
  handle: string
  start: bigint
  end: bigint
  flags?: number
  call: Ev
  ret: Ev
  /** Registrations of the same handle on this socket still outstanding (providers may ref-count). */
  refs: number
  /** WSPMemoryRegistrationCacheCallback that covered part of this region. */
  invalidated?: Ev
}

export class LocalRegs {
  /** Live regions per socket. */
  private readonly live = new Map<Sock, Map<string, Region>>()
  /** Handles deregistered from a socket, with the deregistering return (for messages). */
  private readonly gone = new Map<Sock, Map<string, Ev>>()

  regions(k: Sock): Region[] {
    const m = this.live.get(k)
    return m ? [...m.values()] : []
  }

  get(k: Sock, handle: string): Region | undefined {
    return this.live.get(k)?.get(handle)
  }

  deregistered(k: Sock, handle: string): Ev | undefined {
    return this.gone.get(k)?.get(handle)
  }

  /** Live regions of other sockets of the same process holding this handle. */
  elsewhere(k: Sock, handle: string): Region[] {
    const out: Region[] = []
    for (const [s, m] of this.live) {
      if (s === k || s.pid !== k.pid) continue
      const r = m.get(handle)
      if (r) out.push(r)
    }
    return out
  }

  /** Live regions of the socket that contain [start, end). */
  containing(k: Sock, start: bigint, end: bigint): Region[] {
    const out: Region[] = []
    const m = this.live.get(k)
    if (m) for (const r of m.values()) if (r.start <= start && end <= r.end) out.push(r)
    return out
  }

  /** Whether any registration history of the socket is known (the trace shows the socket's registrations). */
  any(k: Sock): boolean {
    return (this.live.get(k)?.size ?? 0) > 0 || (this.gone.get(k)?.size ?? 0) > 0
  }

  private drop(k: Sock): void {
    this.live.delete(k)
    this.gone.delete(k)
  }

  listener(): RuleListener {
    return {
      'ret:WSPRegisterMemory': (step) => {
        const k = step.sock
        const call = step.call?.ev
        if (!k || !call || !succeeded(step.ev)) return
        const handle = toHandle(num(step.ev.f.Rc))
        const start = addr(call.f.RegAddr)
        const len = num(call.f.RegLen)
        if (!handle || start === undefined || len === undefined) return
        let m = this.live.get(k)
        if (!m) this.live.set(k, (m = new Map()))
        const prev = m.get(handle)
        if (prev && prev.start === start && prev.end === start + BigInt(len)) prev.refs++
        else m.set(handle, {sock: k, handle, start, end: start + BigInt(len), flags: num(call.f.MemFlags), call, ret: step.ev, refs: 1})
        this.gone.get(k)?.delete(handle)
      },
      'ret:WSPDeregisterMemory': (step) => {
        const k = step.sock
        const call = step.call?.ev
        const handle = call ? str(call.f.MemHandle) : undefined
        if (!k || !handle || num(step.ev.f.Rc) !== 0) return
        const m = this.live.get(k)
        const r = m?.get(handle)
        if (!m || !r) return
        if (--r.refs > 0) return
        m.delete(handle)
        let g = this.gone.get(k)
        if (!g) this.gone.set(k, (g = new Map()))
        g.set(handle, step.ev)
      },
      'call:WSPMemoryRegistrationCacheCallback': (step) => {
        const start = addr(step.ev.f.CacheAddr)
        const size = num(step.ev.f.CacheSize)
        if (start === undefined || size === undefined) return
        const range = {start, end: start + BigInt(size)}
        for (const [k, m] of this.live) {
          if (k.pid !== step.ev.pid) continue
          for (const r of m.values()) if (overlaps(r, range)) r.invalidated ??= step.ev
        }
      },
      'ret:WSPCloseSocket': (step) => {
        if (step.sock && step.sock.state === 'CLOSED') this.drop(step.sock)
      },
      'up:WPUCloseSocketHandle': (step) => {
        if (step.sock && step.sock.state === 'RELEASED') this.drop(step.sock)
      },
    }
  }
}

/** An RDMA registration is usable until deregistered or until its socket's close returned. */
export function rdmaLive(r: RdmaReg): boolean {
  return !r.sock || (r.sock.state !== 'CLOSED' && r.sock.state !== 'RELEASED')
}

/** Live RDMA registrations (any process) whose descriptor bytes are `desc`. */
export function rdmaByDescriptor(model: Model, desc: string): RdmaReg[] {
  const out: RdmaReg[] = []
  for (const p of model.procs.values()) {
    const set = p.rdmaByDesc.get(desc)
    if (set) for (const r of set) if (rdmaLive(r)) out.push(r)
  }
  return out
}

export type RdmaTarget =
  | {kind: 'peer'; reg: RdmaReg; peer: Sock | undefined}
  | {kind: 'not-peer'; peer: Sock; own?: RdmaReg; other?: RdmaReg}
  | {kind: 'own'; reg: RdmaReg}
  | {kind: 'unknown'}

/**
 * The registration an RDMA call on `k` targets. With a known peer, only the peer's live
 * registrations count; without one, a live registration of another socket with the same
 * descriptor bytes is taken as the peer's (matching by descriptor).
 */
export function rdmaTarget(model: Model, k: Sock, desc: string, peer: Sock | undefined): RdmaTarget {
  const regs = rdmaByDescriptor(model, desc)
  const own = regs.find((r) => r.sock === k)
  if (peer) {
    const reg = regs.find((r) => r.sock === peer)
    if (reg) return {kind: 'peer', reg, peer}
    return {kind: 'not-peer', peer, own, other: regs.find((r) => r.sock !== k)}
  }
  const other = regs.find((r) => r.sock !== k)
  if (other) return {kind: 'peer', reg: other, peer: other.sock}
  if (own) return {kind: 'own', reg: own}
  return {kind: 'unknown'}
}
