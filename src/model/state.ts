/**
 * The per-process model rebuilt from the event stream in one pass (wsd-rules.md §1.0, §3):
 * sockets keyed (pid, descriptor, generation) with the socket state machine, calls paired
 * with their returns, overlapped operations from issue to completion, the switch-handle map,
 * registrations, and the switch's application requests. Rules read it; only the model writes it.
 * Memory follows live sockets, open calls and pending operations, not trace length.
 */
import {E, FD_CONNECT, FD_CONNECT_BIT, RDMA_FNS, SOCKETLESS_FNS, TRANSFER_FNS} from './constants.js'
import {type Ev, type Value, isNonNull, num, str} from './event.js'
import {toHandle} from './fields.js'

export type SockState =
  | 'UNKNOWN'
  | 'CREATED'
  | 'BOUND'
  | 'SETUP_FAILED'
  | 'CONNECTING'
  | 'CONNECTED'
  | 'CONNECT_FAILED'
  | 'LISTENING'
  | 'DUPLICATED_OUT'
  | 'CLOSING'
  | 'CLOSED'
  | 'RELEASED'

export type Role = 'CONNECT' | 'LISTEN' | 'ACCEPTED' | 'CONTROL' | 'DUP_IN'

export interface Sock {
  pid: number
  /** Provider descriptor, canonical hex. */
  s: string
  gen: number
  state: SockState
  role?: Role
  /** Event that created this instance (return of WSPSocket/WSPAccept); absent for sockets that predate the trace. */
  created?: Ev
  switchHandle?: string
  /** Local address (WSPBind, or the callee address of an accepted connection). */
  local?: string
  /** Remote address (WSPConnect, or the caller address of an accepted connection). */
  remote?: string
  /** Last successful WSPEventSelect: mask, event handle and the call. */
  evSelect?: {mask: number | undefined; hEvent: Value | undefined; call: Ev}
  connectCall?: Ev
  /** State when WSPCloseSocket was called. */
  stateAtClose?: SockState
  closeCall?: Ev
  closeRet?: Ev
  /** WPUCloseSocketHandle for this socket's switch handle. */
  release?: Ev
  /** Operations issued and not yet completed (read-only for rules: only the model changes it). */
  pending: Set<Op>
  /** Absolute position in its process's released-sockets window, once released. */
  relSlot?: number
  /** Set by SwitchAbort, or by a close that forced completion of a cancelled request (SAN036). */
  abort?: {ev: Ev; reason: string}
}

/** A buffer of a transfer call as traced: [start, end), its length, the WSABUFEX handle for RDMA, and its position in `Buffers`. */
export interface OpBuffer {
  start: bigint
  end: bigint
  len: number
  handle?: string
  index: number
}

export type OpState = 'ISSUED' | 'PENDING' | 'DONE_IMMEDIATE' | 'FAILED_SYNC' | 'DONE'

export interface Completion {
  ev: Ev
  status: number | undefined
  bytes: number | undefined
}

export interface Op {
  pid: number
  ov: string
  fn: string
  call: Ev
  ret?: Ev
  sock?: Sock
  /** hEvent bit 0 set: the switch polls and the provider must not notify. Undefined when HEvent is absent. */
  pollMode?: boolean
  state: OpState
  /** Local buffers: [start, end) as bigint addresses, with the registration handle for RDMA. */
  buffers?: OpBuffer[]
  /** First completion signal of each kind. */
  upcall?: Completion
  upcalls: number
  gor?: Completion
  opDone?: Completion
  /** First completion signal of any kind (§3.2). */
  done?: Completion
  /** Return of the first completion upcall, when it returned while the operation was still mapped by its OVERLAPPED. */
  upcallRet?: Ev
  /** Absolute slot in the process's finished-operations queue. */
  slot?: number
  /** For RDMA operations: the TargetDescriptor (the key of Model.rdmaTargets while outstanding). */
  target?: string
}

export interface Call {
  ev: Ev
  fn: string
  sock?: Sock
  /** Socket state when the call was made. */
  before?: SockState
  op?: Op
  /** Switch handles created by WPUCreateSocketHandle nested in this call. */
  handles: string[]
  /** For WSPAccept: the addresses the condition callback was given. */
  accepted?: {local?: string; remote?: string}
  ret?: Ev
}

export interface UpcallRec {
  ev: Ev
  /** The SPI call this upcall is nested in (same thread), if any. */
  within?: Call
  ret?: Ev
}

export interface AppReq {
  id: number
  req?: Ev
  kind?: string
  buf?: {start: bigint; end: bigint}
  sanSocket?: string
  ovs: string[]
  ranges: Array<{start: bigint; end: bigint}>
  cancel?: Ev
  complete?: Ev
}

export interface RdmaReg {
  sock?: Sock
  start: bigint
  end: bigint
  descriptor?: string
  call: Ev
  ret: Ev
}

export interface Proc {
  pid: number
  /** Latest socket instance per descriptor value (may be closed or released). */
  sockets: Map<string, Sock>
  gens: Map<string, number>
  /** Switch handle → socket instance. */
  handles: Map<string, Sock>
  /** Handles created by a failed WSPSocket/WSPAccept (never returned to the switch). */
  orphanHandles: Map<string, Ev>
  callsBySeq: Map<number, Call>
  /** Open calls per thread, innermost last. */
  callStacks: Map<number, Call[]>
  upsBySeq: Map<number, UpcallRec>
  upStacks: Map<number, UpcallRec[]>
  ops: Map<string, Op>
  appReqs: Map<number, AppReq>
  /** Operations in ISSUED or PENDING state still mapped by their OVERLAPPED in `ops`, in issue order. */
  outstanding: Set<Op>
  rdmaRegs: Set<RdmaReg>
  /** rdmaRegs by descriptor, each set in rdmaRegs order (registrations without a descriptor are not indexed). */
  rdmaByDesc: Map<string, Set<RdmaReg>>
  /** rdmaRegs by registering socket, each set in rdmaRegs order. */
  rdmaBySock: Map<Sock, Set<RdmaReg>>
  /** Finished operations still mapped by OVERLAPPED, oldest first (bounded, see DONE_OPS_KEPT). */
  doneOps: Array<Op | undefined>
  doneHead: number
  /** Absolute slot number of doneOps[0]. */
  doneBase: number
  /** Successful WSPStartupEx not yet matched by WSPCleanup. */
  startups: number
  /**
   * The window of the last RELEASED_KEPT sockets released, as a ring: a socket released as the
   * `n`th of the process sits at `n % RELEASED_KEPT` until the window moves past it. A slot is
   * emptied early once its socket is mapped neither by descriptor nor by switch handle (both
   * taken over by newer sockets): the model can no longer reach it.
   */
  released: Array<Sock | undefined>
  /** Sockets released so far (the absolute position of the next one in `released`). */
  releasedCount: number
}

/** Released sockets kept findable by descriptor per process. */
export const RELEASED_KEPT = 1024

/**
 * The `pending` set of a socket with no operation pending: one shared, empty, unchangeable set
 * (a socket gets a set of its own with its first pending operation, and gives it up when the
 * last one finishes), so that the many sockets with none cost nothing for it.
 */
class NoPending extends Set<Op> {
  override add(): this {
    throw new Error('NO_PENDING is shared and stays empty')
  }
  override clear(): void {}
}
export const NO_PENDING: ReadonlySet<Op> = new NoPending()

/**
 * Finished operations stay findable by their OVERLAPPED (a second completion must be seen)
 * until the OVERLAPPED is reused, their socket is released, or this many more operations of
 * the process have finished: memory then follows live work, not trace length, even when
 * every request has an OVERLAPPED of its own.
 */
export const DONE_OPS_KEPT = 1024

/**
 * Duplication tokens (WSPDuplicateSocket's dwProviderReserved) remembered for the WSPSocket
 * that re-creates the socket in the target process, which normally follows within
 * milliseconds; beyond this many later duplications (in all processes) a token is forgotten.
 */
export const DUP_TOKENS_KEPT = 4096

/** What the model resolved for one event; handed to every rule. */
export interface Step {
  ev: Ev
  proc: Proc
  /** For call and ret events: the call record (for ret, the paired call when found). */
  call?: Call
  /** The socket instance the event concerns (its descriptor, or the socket behind a switch handle). */
  sock?: Sock
  /** That socket's state just before this event. */
  before?: SockState
  /** For ret:WSPSocket / ret:WSPAccept success: the socket created. */
  created?: Sock
  /** The operation the event issues, returns or completes. */
  op?: Op
  /** For upcalls: the record of the upcall (for upret, the paired upcall). */
  up?: UpcallRec
  /** For app/sw events: the application request. */
  app?: AppReq
}

/**
 * A socket instance with every field present from the start: sockets then share one object
 * shape, which keeps the many rule reads of their fields fast.
 */
function newSock(pid: number, s: string, gen: number, state: SockState, created: Ev | undefined): Sock {
  return {
    pid,
    s,
    gen,
    state,
    role: undefined,
    created,
    switchHandle: undefined,
    local: undefined,
    remote: undefined,
    evSelect: undefined,
    connectCall: undefined,
    stateAtClose: undefined,
    closeCall: undefined,
    closeRet: undefined,
    release: undefined,
    pending: NO_PENDING as Set<Op>,
    abort: undefined,
    relSlot: undefined,
  }
}

/** A transfer's `Buffers` field as address ranges (entries without Addr or Len left out); undefined when absent. */
export function readBuffers(bufs: Value | undefined): OpBuffer[] | undefined {
  if (!Array.isArray(bufs)) return undefined
  const out: OpBuffer[] = []
  for (let index = 0; index < bufs.length; index++) {
    const b = bufs[index]
    if (!b || typeof b !== 'object' || Array.isArray(b)) continue
    const a = addr(b.Addr)
    const len = num(b.Len)
    if (a !== undefined && len !== undefined) out.push({start: a, end: a + BigInt(len), len, handle: str(b.Handle), index})
  }
  return out
}

export function addr(v: Value | undefined): bigint | undefined {
  const h = typeof v === 'string' ? v : typeof v === 'number' ? toHandle(v) : undefined
  return h ? BigInt(h) : undefined
}

/** Bit 0 of a handle value: from the last hex digit of a `0x…` handle, without making a bigint. */
export function lowBit(h: string): boolean {
  if (/^0[xX][0-9a-fA-F]+$/.test(h)) return (parseInt(h[h.length - 1], 16) & 1) === 1
  return (BigInt(h) & 1n) === 1n
}

/** The handles of a call that created none (shared, never modified: the first handle replaces it). */
const NO_HANDLES: string[] = Object.freeze([]) as unknown as string[]

const DONE_STATES = new Set<OpState>(['DONE', 'DONE_IMMEDIATE', 'FAILED_SYNC'])

export interface ModelOptions {
  /** Treat an application cancel as the start of the abort regime (SAN036, `--cancel-implies-abort`). */
  cancelImpliesAbort?: boolean
}

export class Model {
  constructor(readonly options: ModelOptions = {}) {}

  readonly procs = new Map<number, Proc>()
  /**
   * dwProviderReserved tokens from WSPDuplicateSocket → whether the duplicated socket was
   * listening (what a WSPSocket re-creating it inherits); the last DUP_TOKENS_KEPT tokens.
   */
  readonly dupTokens = new Map<string, {listening: boolean}>()
  /**
   * Outstanding RDMA operations (of any process) by TargetDescriptor: those in ISSUED or
   * PENDING state still mapped by their OVERLAPPED in their process's `ops`. An operation
   * leaves its set when it completes or fails, or when its OVERLAPPED is reused.
   */
  readonly rdmaTargets = new Map<string, Set<Op>>()
  /** Event kinds seen (`call:WSPConnect`, `up:WPUCloseSocketHandle`, `app:Cancel`, …). */
  readonly seen = new Set<string>()
  /** Events whose return or call could not be paired. */
  unpairedReturns = 0
  firstTs?: number
  lastTs = 0
  events = 0

  proc(pid: number): Proc {
    let p = this.procs.get(pid)
    if (!p) {
      p = {
        pid,
        sockets: new Map(),
        gens: new Map(),
        handles: new Map(),
        orphanHandles: new Map(),
        callsBySeq: new Map(),
        callStacks: new Map(),
        upsBySeq: new Map(),
        upStacks: new Map(),
        ops: new Map(),
        appReqs: new Map(),
        outstanding: new Set(),
        rdmaRegs: new Set(),
        rdmaByDesc: new Map(),
        rdmaBySock: new Map(),
        doneOps: [],
        doneHead: 0,
        doneBase: 0,
        startups: 0,
        released: [],
        releasedCount: 0,
      }
      this.procs.set(pid, p)
    }
    return p
  }

  /** The current instance for a descriptor; a socket that predates the trace gets generation 0 in state UNKNOWN. */
  sockFor(p: Proc, s: string): Sock {
    let k = p.sockets.get(s)
    if (!k) {
      k = newSock(p.pid, s, 0, 'UNKNOWN', undefined)
      p.sockets.set(s, k)
    }
    return k
  }

  apply(ev: Ev): Step {
    this.events++
    if (this.firstTs === undefined) this.firstTs = ev.ts
    if (ev.ts > this.lastTs) this.lastTs = ev.ts
    this.seen.add(ev.key)
    const p = this.proc(ev.pid)
    // Every field present from the start: one object shape for all steps keeps the rules' property reads monomorphic.
    const step: Step = {ev, proc: p, call: undefined, sock: undefined, before: undefined, created: undefined, op: undefined, up: undefined, app: undefined}
    switch (ev.kind) {
      case 'call':
        this.onCall(p, ev, step)
        break
      case 'ret':
        this.onRet(p, ev, step)
        break
      case 'up':
        this.onUpcall(p, ev, step)
        break
      case 'upret':
        this.onUpcallReturn(p, ev, step)
        break
      case 'cb': {
        const st = ev.tid !== undefined ? p.callStacks.get(ev.tid) : undefined
        const within = st?.[st.length - 1]
        if (within?.fn === 'WSPAccept') within.accepted = {local: str(ev.f.CalleeAddr), remote: str(ev.f.CallerAddr)}
        this.atSocket(p, ev.f.ListenSocket, step)
        break
      }
      case 'sig':
      case 'reset':
        this.atSocket(p, ev.f.Socket, step)
        break
      case 'prov':
        this.atSocket(p, ev.f.Socket, step)
        if (ev.fn === 'OpDone') this.complete(p, ev, 'opDone', num(ev.f.Error), num(ev.f.Bytes), step)
        break
      case 'app':
      case 'sw':
        this.onSwitch(p, ev, step)
        break
      default:
        break
    }
    return step
  }

  private atSocket(p: Proc, s: Value | undefined, step: Step): Sock | undefined {
    if (typeof s !== 'string' || s === '0x0') return undefined
    const k = this.sockFor(p, s)
    step.sock = k
    step.before = k.state
    return k
  }

  private onCall(p: Proc, ev: Ev, step: Step): void {
    const call: Call = {ev, fn: ev.fn, sock: undefined, before: undefined, op: undefined, handles: NO_HANDLES, accepted: undefined, ret: undefined}
    step.call = call
    if (ev.seq !== undefined) p.callsBySeq.set(ev.seq, call)
    if (ev.tid !== undefined) {
      let st = p.callStacks.get(ev.tid)
      if (!st) p.callStacks.set(ev.tid, (st = []))
      st.push(call)
    }
    if (SOCKETLESS_FNS.has(ev.fn)) return
    const k = this.atSocket(p, ev.f.Socket, step)
    if (!k) return
    call.sock = k
    call.before = k.state
    switch (ev.fn) {
      case 'WSPCloseSocket':
        if (k.state !== 'CLOSED' && k.state !== 'RELEASED' && k.state !== 'CLOSING') {
          k.stateAtClose = k.state
          k.closeCall = ev
          k.state = 'CLOSING'
          // A close while a cancelled application request is still mapped to this socket forces completion (SAN035/SAN036).
          if (!k.abort) {
            for (const r of p.appReqs.values()) {
              if (r.cancel && !r.complete && r.sanSocket === k.s) {
                k.abort = {ev, reason: `close forcing completion of cancelled request ${r.id}`}
                break
              }
            }
          }
        }
        break
      case 'WSPConnect':
        k.connectCall = ev
        k.role ??= 'CONNECT'
        k.remote ??= str(ev.f.Addr)
        break
      case 'WSPBind':
        k.local ??= str(ev.f.Addr)
        break
      case 'WSPIoctl':
        if (isNonNull(ev.f.Overlapped)) this.issue(p, k, call)
        break
      default:
        if (TRANSFER_FNS.has(ev.fn) && isNonNull(ev.f.Overlapped)) this.issue(p, k, call)
    }
  }

  private issue(p: Proc, k: Sock, call: Call): void {
    const ev = call.ev
    const ov = ev.f.Overlapped as string
    const h = str(ev.f.HEvent)
    const op: Op = {
      pid: p.pid,
      ov,
      fn: ev.fn,
      call: ev,
      sock: k,
      pollMode: h === undefined ? undefined : lowBit(h),
      state: 'ISSUED',
      buffers: undefined,
      upcall: undefined,
      upcalls: 0,
      gor: undefined,
      opDone: undefined,
      done: undefined,
      upcallRet: undefined,
      slot: undefined,
      ret: undefined,
      target: undefined,
    }
    op.buffers = readBuffers(ev.f.Buffers)
    call.op = op
    // A reused OVERLAPPED replaces the finished operation it held: that one is forgotten.
    const old = p.ops.get(ov)
    if (old?.slot !== undefined && old.slot >= p.doneBase) p.doneOps[old.slot - p.doneBase] = undefined
    if (old) this.unmapOutstanding(p, old)
    p.ops.set(ov, op)
    if (k.pending === NO_PENDING) k.pending = new Set()
    k.pending.add(op)
    p.outstanding.add(op)
    if (RDMA_FNS.has(op.fn)) {
      const d = str(ev.f.TargetDescriptor)
      if (d !== undefined) {
        op.target = d
        let set = this.rdmaTargets.get(d)
        if (!set) this.rdmaTargets.set(d, (set = new Set()))
        set.add(op)
      }
    }
  }

  /** An operation finished, or its OVERLAPPED now maps another one: it leaves the outstanding indexes. */
  private unmapOutstanding(p: Proc, op: Op): void {
    p.outstanding.delete(op)
    const d = op.target
    if (d === undefined) return
    const set = this.rdmaTargets.get(d)
    if (set?.delete(op) && set.size === 0) this.rdmaTargets.delete(d)
  }

  private addRdmaReg(p: Proc, r: RdmaReg): void {
    p.rdmaRegs.add(r)
    if (r.descriptor !== undefined) {
      let set = p.rdmaByDesc.get(r.descriptor)
      if (!set) p.rdmaByDesc.set(r.descriptor, (set = new Set()))
      set.add(r)
    }
    if (r.sock) {
      let set = p.rdmaBySock.get(r.sock)
      if (!set) p.rdmaBySock.set(r.sock, (set = new Set()))
      set.add(r)
    }
  }

  private deleteRdmaReg(p: Proc, r: RdmaReg): void {
    p.rdmaRegs.delete(r)
    if (r.descriptor !== undefined) {
      const set = p.rdmaByDesc.get(r.descriptor)
      if (set?.delete(r) && set.size === 0) p.rdmaByDesc.delete(r.descriptor)
    }
    if (r.sock) {
      const set = p.rdmaBySock.get(r.sock)
      if (set?.delete(r) && set.size === 0) p.rdmaBySock.delete(r.sock)
    }
  }

  private popCall(p: Proc, ev: Ev): Call | undefined {
    let call: Call | undefined
    if (ev.seq !== undefined) {
      call = p.callsBySeq.get(ev.seq)
      if (call && call.fn !== ev.fn) call = undefined
      if (call) p.callsBySeq.delete(ev.seq)
    }
    if (ev.tid !== undefined) {
      const st = p.callStacks.get(ev.tid)
      if (st) {
        let idx = -1
        if (call) idx = st.lastIndexOf(call)
        else if (ev.seq === undefined) {
          for (let j = st.length - 1; j >= 0; j--) {
            if (st[j].fn === ev.fn && st[j].ret === undefined) {
              idx = j
              break
            }
          }
          if (idx >= 0) {
            call = st[idx]
            if (call.ev.seq !== undefined) p.callsBySeq.delete(call.ev.seq)
          }
        }
        if (idx >= 0) st.splice(idx, 1)
        if (st.length === 0) p.callStacks.delete(ev.tid)
      }
    } else if (call) {
      // Paired by Seq without a thread: drop it from whichever stack holds it.
      for (const [tid, st] of p.callStacks) {
        const idx = st.indexOf(call)
        if (idx >= 0) {
          st.splice(idx, 1)
          if (st.length === 0) p.callStacks.delete(tid)
          break
        }
      }
    }
    return call
  }

  private onRet(p: Proc, ev: Ev, step: Step): void {
    const call = this.popCall(p, ev)
    if (!call) this.unpairedReturns++
    else call.ret = ev
    step.call = call
    const rc = num(ev.f.Rc)
    const err = num(ev.f.Errno)
    const ok = rc === 0
    let k = call?.sock
    if (!k && !SOCKETLESS_FNS.has(ev.fn) && typeof ev.f.Socket === 'string' && ev.f.Socket !== '0x0') k = this.sockFor(p, ev.f.Socket)
    if (k) {
      step.sock = k
      step.before = k.state
    }
    if (ev.fn === 'WSPStartupEx' && rc === 0) p.startups++
    if (ev.fn === 'WSPCleanup' && rc === 0 && p.startups > 0 && --p.startups === 0) this.retiring.add(p)
    switch (ev.fn) {
      case 'WSPSocket':
      case 'WSPAccept':
        if (rc !== undefined && rc !== -1 && rc !== 0) {
          step.created = this.createSocket(p, ev, call, toHandle(rc)!)
        } else if (call) {
          for (const h of call.handles) p.orphanHandles.set(h, ev)
        }
        return
      case 'WSPCloseSocket':
        if (k && k.state === 'CLOSING') {
          k.state = 'CLOSED'
          k.closeRet = ev
        }
        return
      case 'WSPGetOverlappedResult': {
        const ov = call?.ev.f.Overlapped ?? ev.f.Overlapped
        if (typeof ov !== 'string') return
        const op = p.ops.get(ov)
        if (!op) return
        step.op = op
        const final = (rc !== undefined && rc !== 0) || (err !== undefined && err !== E.WSA_IO_INCOMPLETE)
        if (final) this.complete(p, ev, 'gor', rc !== undefined && rc !== 0 ? 0 : err, num(ev.f.BytesOut), step, ov)
        return
      }
      default:
        break
    }
    if (call?.op) {
      const op = call.op
      step.op = op
      op.ret = ev
      if (op.state === 'ISSUED') {
        if (ok) {
          op.state = 'DONE_IMMEDIATE'
          op.done ??= {ev, status: 0, bytes: num(ev.f.BytesOut)}
          this.finish(p, op)
        } else if (err === E.WSA_IO_PENDING) op.state = 'PENDING'
        else {
          op.state = 'FAILED_SYNC'
          this.finish(p, op)
        }
      }
    }
    if (!k || !call) return
    switch (ev.fn) {
      case 'WSPBind':
        if (ok && k.state === 'CREATED') k.state = 'BOUND'
        else if (!ok && (k.state === 'CREATED' || k.state === 'BOUND')) k.state = 'SETUP_FAILED'
        break
      case 'WSPSetSockOpt':
        if (!ok && (k.state === 'CREATED' || k.state === 'BOUND')) k.state = 'SETUP_FAILED'
        break
      case 'WSPListen':
        if (ok && (k.state === 'BOUND' || k.state === 'CREATED' || k.state === 'UNKNOWN')) {
          k.state = 'LISTENING'
          k.role = 'LISTEN'
        }
        break
      case 'WSPEventSelect':
        if (ok) k.evSelect = {mask: num(call.ev.f.NetworkEvents), hEvent: call.ev.f.EventHandle, call: call.ev}
        break
      case 'WSPConnect':
        // Only a first connect moves the socket; a connect on a connecting or connected
        // socket (WSAEALREADY, WSAEISCONN) leaves its state alone.
        if (call.before !== 'CREATED' && call.before !== 'BOUND' && call.before !== 'UNKNOWN') break
        if (ok) k.state = 'CONNECTED'
        else if (err === E.WSAEWOULDBLOCK) k.state = 'CONNECTING'
        else k.state = 'CONNECT_FAILED'
        break
      case 'WSPEnumNetworkEvents': {
        const mask = num(ev.f.NetworkEventsOut)
        if (k.state === 'CONNECTING' && mask !== undefined && (mask & FD_CONNECT) !== 0) {
          const codes = ev.f.ErrorCodes
          const code = Array.isArray(codes) ? num(codes[FD_CONNECT_BIT]) : undefined
          k.state = code === 0 || code === undefined ? 'CONNECTED' : 'CONNECT_FAILED'
        }
        break
      }
      case 'WSPIoctl':
        if (k.state === 'CREATED' && num(call.ev.f.IoctlCode) === 0x48000016) k.role ??= 'CONTROL'
        break
      case 'WSPDuplicateSocket':
        if (ok && k.state !== 'CLOSING' && k.state !== 'CLOSED' && k.state !== 'RELEASED') {
          const token = str(ev.f.ProviderReservedOut)
          if (token && token !== '0x0') this.keepToken(token, k.stateAtClose === 'LISTENING' || k.state === 'LISTENING')
          k.state = 'DUPLICATED_OUT'
        }
        break
      case 'WSPRegisterRdmaMemory': {
        const start = addr(call.ev.f.RegAddr)
        const len = num(call.ev.f.RegLen)
        if (ok && start !== undefined && len !== undefined) {
          this.addRdmaReg(p, {sock: k, start, end: start + BigInt(len), descriptor: str(ev.f.DescriptorOut), call: call.ev, ret: ev})
        }
        break
      }
      case 'WSPDeregisterRdmaMemory':
        if (ok) {
          const d = str(call.ev.f.TargetDescriptor)
          const mine = p.rdmaBySock.get(k)
          if (mine) {
            for (const r of mine) {
              if (d === undefined || r.descriptor === d) {
                this.deleteRdmaReg(p, r)
                if (d !== undefined) break
              }
            }
          }
        }
        break
      default:
        break
    }
  }

  /** Remembers a duplication token, forgetting the oldest beyond DUP_TOKENS_KEPT. */
  private keepToken(token: string, listening: boolean): void {
    this.dupTokens.delete(token)
    this.dupTokens.set(token, {listening})
    if (this.dupTokens.size > DUP_TOKENS_KEPT) this.dupTokens.delete(this.dupTokens.keys().next().value!)
  }

  private createSocket(p: Proc, ev: Ev, call: Call | undefined, s: string): Sock {
    const gen = (p.gens.get(s) ?? 0) + 1
    p.gens.set(s, gen)
    const k = newSock(p.pid, s, gen, 'CREATED', ev)
    if (ev.fn === 'WSPAccept') {
      k.state = 'CONNECTED'
      k.role = 'ACCEPTED'
      k.local = call?.accepted?.local ?? (call?.sock?.local)
      k.remote = call?.accepted?.remote
    } else {
      const token = call ? str(call.ev.f.ProviderReserved) : undefined
      if (token && token !== '0x0') {
        k.role = 'DUP_IN'
        const src = this.dupTokens.get(token)
        k.state = src?.listening ? 'LISTENING' : 'CONNECTED'
      }
    }
    const prev = p.sockets.get(s)
    if (prev && prev.gen === 0 && prev.state === 'UNKNOWN' && !prev.switchHandle) {
      // A descriptor seen before its creation was in the trace: the new instance supersedes it.
    }
    p.sockets.set(s, k)
    let owner: Sock | undefined
    if (call) {
      const h = call.handles[call.handles.length - 1]
      if (h !== undefined) {
        k.switchHandle = h
        owner = p.handles.get(h)
        p.handles.set(h, k)
      }
    }
    // A re-activated duplicate may return a descriptor without creating a switch handle: keep the old one.
    if (!k.switchHandle && prev?.switchHandle && k.role === 'DUP_IN') k.switchHandle = prev.switchHandle
    // Released sockets whose descriptor or switch handle the new one took over may now be out of reach.
    this.unreachable(p, prev)
    if (owner !== prev) this.unreachable(p, owner)
    return k
  }

  private onUpcall(p: Proc, ev: Ev, step: Step): void {
    const tid = ev.tid
    const st = tid !== undefined ? p.callStacks.get(tid) : undefined
    const rec: UpcallRec = {ev, within: st?.[st.length - 1], ret: undefined}
    step.up = rec
    if (ev.seq !== undefined) p.upsBySeq.set(ev.seq, rec)
    if (tid !== undefined) {
      let us = p.upStacks.get(tid)
      if (!us) p.upStacks.set(tid, (us = []))
      us.push(rec)
    }
    const h = str(ev.f.SwitchSocket)
    if (h !== undefined) {
      const k = p.handles.get(h)
      if (k) {
        step.sock = k
        step.before = k.state
      }
    }
    switch (ev.fn) {
      case 'WPUCompleteOverlappedRequest':
        this.complete(p, ev, 'upcall', num(ev.f.DwError), num(ev.f.CbTransferred), step)
        break
      case 'WPUCloseSocketHandle':
        if (step.sock) {
          const k = step.sock
          k.release ??= ev
          if (k.state === 'CLOSED') {
            k.state = 'RELEASED'
            this.forgetReleased(p, k)
          }
          this.forgetDoneOps(p, k)
          // RDMA memory exposed by a released socket is gone with it.
          const regs = p.rdmaBySock.get(k)
          if (regs) for (const r of regs) this.deleteRdmaReg(p, r)
        }
        break
      default:
        break
    }
  }

  private onUpcallReturn(p: Proc, ev: Ev, step: Step): void {
    let rec: UpcallRec | undefined
    if (ev.seq !== undefined) {
      rec = p.upsBySeq.get(ev.seq)
      if (rec) p.upsBySeq.delete(ev.seq)
    }
    if (ev.tid !== undefined) {
      const us = p.upStacks.get(ev.tid)
      if (us) {
        let idx = rec ? us.lastIndexOf(rec) : -1
        if (!rec && ev.seq === undefined) {
          for (let j = us.length - 1; j >= 0; j--) {
            if (us[j].ev.fn === ev.fn) {
              idx = j
              break
            }
          }
          if (idx >= 0) rec = us[idx]
        }
        if (idx >= 0) us.splice(idx, 1)
        if (us.length === 0) p.upStacks.delete(ev.tid)
      }
    }
    if (!rec) this.unpairedReturns++
    else rec.ret = ev
    step.up = rec
    if (ev.fn === 'WPUCompleteOverlappedRequest' && rec) {
      const ov = str(rec.ev.f.Overlapped)
      const op = ov !== undefined ? p.ops.get(ov) : undefined
      if (op && op.upcall?.ev === rec.ev) op.upcallRet = ev
    }
    if (ev.fn === 'WPUCreateSocketHandle') {
      const h = str(ev.f.NewSwitchSocket) ?? (num(ev.f.Rc) !== undefined && num(ev.f.Rc) !== -1 ? toHandle(num(ev.f.Rc)) : undefined)
      const within = rec?.within
      if (h && within && (within.fn === 'WSPSocket' || within.fn === 'WSPAccept') && within.ret === undefined) {
        if (within.handles === NO_HANDLES) within.handles = [h]
        else within.handles.push(h)
      }
    }
  }

  private complete(p: Proc, ev: Ev, how: 'upcall' | 'gor' | 'opDone', status: number | undefined, bytes: number | undefined, step: Step, overlapped?: string): void {
    // A poll's return names no OVERLAPPED: the caller passes the one of the paired call.
    const ov = overlapped ?? str(ev.f.Overlapped)
    if (ov === undefined) return
    const op = p.ops.get(ov)
    if (!op) return
    step.op = op
    const c: Completion = {ev, status, bytes}
    if (how === 'upcall') op.upcalls++
    if (!op[how]) op[how] = c
    if (op.state === 'ISSUED' || op.state === 'PENDING') {
      op.state = 'DONE'
      op.done = c
      this.finish(p, op)
    }
  }

  /**
   * Released sockets stay findable by descriptor (a later call on it is SAN033; the next
   * WSPSocket returning it starts the next generation) for the last RELEASED_KEPT of them per
   * process; older ones are dropped, keeping only their generation count.
   */
  private forgetReleased(p: Proc, k: Sock): void {
    const slot = p.releasedCount++
    const j = slot % RELEASED_KEPT
    const old = p.released[j]
    if (old) {
      if (p.sockets.get(old.s) === old) p.sockets.delete(old.s)
      if (old.switchHandle && p.handles.get(old.switchHandle) === old) p.handles.delete(old.switchHandle)
      old.relSlot = undefined
    }
    k.relSlot = slot
    p.released[j] = k
    this.unreachable(p, k)
  }

  /**
   * A released socket that neither its descriptor nor its switch handle maps any more (newer
   * sockets took both over) leaves its slot of the window empty: leaving the window would only
   * have unmapped it, so nothing changes but the memory it held.
   */
  private unreachable(p: Proc, k: Sock | undefined): void {
    if (k?.relSlot === undefined || p.sockets.get(k.s) === k) return
    if (k.switchHandle !== undefined && p.handles.get(k.switchHandle) === k) return
    const j = k.relSlot % RELEASED_KEPT
    if (p.released[j] === k) p.released[j] = undefined
    k.relSlot = undefined
  }

  /** An operation finished (at once, failed, or completed): it is no longer pending anywhere, and is remembered as done. */
  private finish(p: Proc, op: Op): void {
    const k = op.sock
    if (k?.pending.delete(op) && k.pending.size === 0) k.pending = NO_PENDING as Set<Op>
    this.unmapOutstanding(p, op)
    this.retire(p, op)
  }

  /** Remembers a finished operation, forgetting the oldest beyond DONE_OPS_KEPT. */
  private retire(p: Proc, op: Op): void {
    op.slot = p.doneBase + p.doneOps.length
    p.doneOps.push(op)
    if (p.doneOps.length - p.doneHead > DONE_OPS_KEPT) {
      const old = p.doneOps[p.doneHead]
      p.doneOps[p.doneHead++] = undefined
      if (old && p.ops.get(old.ov) === old) p.ops.delete(old.ov)
    }
    if (p.doneHead > 1024 && p.doneHead * 2 > p.doneOps.length) {
      p.doneOps = p.doneOps.slice(p.doneHead)
      p.doneBase += p.doneHead
      p.doneHead = 0
    }
  }

  /** Completed operations of a released socket are no longer needed. */
  private forgetDoneOps(p: Proc, k: Sock): void {
    for (const [ov, op] of p.ops) {
      if (op.sock !== k || !DONE_STATES.has(op.state)) continue
      p.ops.delete(ov)
      if (op.slot !== undefined && op.slot >= p.doneBase) p.doneOps[op.slot - p.doneBase] = undefined
    }
  }

  private onSwitch(p: Proc, ev: Ev, step: Step): void {
    if (ev.fn === 'Abort') {
      const k = this.atSocket(p, ev.f.SanSocket, step)
      if (k) k.abort ??= {ev, reason: str(ev.f.Reason) ?? 'switch abort'}
      return
    }
    const id = num(ev.f.AppReqId)
    if (id === undefined) return
    let r = p.appReqs.get(id)
    if (!r) {
      r = {id, ovs: [], ranges: []}
      p.appReqs.set(id, r)
    }
    step.app = r
    switch (ev.fn) {
      case 'Request': {
        r.req = ev
        r.kind = str(ev.f.Kind)
        const a = addr(ev.f.BufAddr)
        const len = num(ev.f.BufLen)
        if (a !== undefined && len !== undefined) r.buf = {start: a, end: a + BigInt(len)}
        break
      }
      case 'Map': {
        const s = str(ev.f.SanSocket)
        if (s) {
          r.sanSocket = s
          this.atSocket(p, s, step)
        }
        if (Array.isArray(ev.f.Overlapped)) for (const o of ev.f.Overlapped) if (typeof o === 'string') r.ovs.push(o)
        if (Array.isArray(ev.f.RdmaRanges)) {
          for (const x of ev.f.RdmaRanges) {
            if (!x || typeof x !== 'object' || Array.isArray(x)) continue
            const a = addr(x.Addr)
            const len = num(x.Len)
            if (a !== undefined && len !== undefined) r.ranges.push({start: a, end: a + BigInt(len)})
          }
        }
        break
      }
      case 'Cancel':
        r.cancel ??= ev
        if (r.sanSocket) {
          const k = this.atSocket(p, r.sanSocket, step)
          if (k && this.options.cancelImpliesAbort) k.abort ??= {ev, reason: `application cancelled request ${r.id}`}
        }
        break
      case 'Complete':
        r.complete ??= ev
        if (r.sanSocket) this.atSocket(p, r.sanSocket, step)
        break
      default:
        break
    }
  }

  /** Called after every rule has seen the step: frees what no rule can need any more. */
  settle(step: Step): void {
    if (step.app?.complete === step.ev) step.proc.appReqs.delete(step.app.id)
    if (this.retiring.size && this.retiring.has(step.proc)) this.retire_(step.proc)
  }

  /** Processes whose last WSPCleanup returned, to forget once nothing of theirs is live. */
  private readonly retiring = new Set<Proc>()

  /**
   * After the final WSPCleanup of a process, with no call open, no operation outstanding and
   * every socket closed, its state is dropped: a long capture of many short-lived processes
   * keeps memory of the live ones only. A later event of the same pid starts afresh.
   */
  private retire_(p: Proc): void {
    this.retiring.delete(p)
    if (p.startups > 0 || p.callsBySeq.size || p.callStacks.size || p.upStacks.size || p.appReqs.size) return
    if (p.outstanding.size) return
    for (const k of p.sockets.values()) if (k.state !== 'CLOSED' && k.state !== 'RELEASED' && k.state !== 'UNKNOWN') return
    this.procs.delete(p.pid)
    this.retiredSockets += [...p.gens.values()].reduce((a, g) => a + g, 0)
    this.retiredProcs++
  }

  /** Counts of what was dropped by retiring processes (for totals). */
  retiredProcs = 0
  retiredSockets = 0
}

/** Operations that are still outstanding from the provider's point of view. */
export function isOutstanding(op: Op): boolean {
  return op.state === 'ISSUED' || op.state === 'PENDING'
}

export {RDMA_FNS, TRANSFER_FNS}
