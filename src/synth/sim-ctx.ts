/**
 * The simulator's building blocks: the simulated processes and sockets, and `Ctx`, the
 * clock and event queue of one simulated actor with the helpers that write the SPI
 * vocabulary (calls and returns, upcalls, overlapped operations and their completions in
 * both notification modes). Scripts (sim-session.ts, planters.ts) are generator functions
 * over a Ctx; the driver (sim.ts) merges the actors' queues in time order.
 */
import type {RawEvent} from './builder.js'
import type {Rng} from './rng.js'

export const US = 1_000
export const MS = 1_000_000
export const SEC = 1_000_000_000

/** Error codes used by the scripts (wsd-rules.md §1.0). */
export const E = {
  WSA_OPERATION_ABORTED: 995,
  WSA_IO_INCOMPLETE: 996,
  WSA_IO_PENDING: 997,
  WSAEINVAL: 10022,
  WSAEWOULDBLOCK: 10035,
  WSAEINPROGRESS: 10036,
  WSAENOTSOCK: 10038,
  WSAENOPROTOOPT: 10042,
  WSAESOCKTNOSUPPORT: 10044,
  WSAEOPNOTSUPP: 10045,
  WSAECONNRESET: 10054,
  WSAENOBUFS: 10055,
  WSAETIMEDOUT: 10060,
  WSAECONNREFUSED: 10061,
  WSANOTINITIALISED: 10093,
} as const

export const FD_ACCEPT = 0x08
export const FD_CONNECT = 0x10
export const SO_DEBUG = 0x0001
export const SO_MAX_MSG_SIZE = 0x2003
export const SO_MAX_RDMA_SIZE = 0x700d
export const SOL_SOCKET = 0xffff
export const SIO_GET_EXTENSION_FUNCTION_POINTER = 0xc8000006
export const SIO_ADDRESS_LIST_QUERY = 0x48000016
export const MEM_READ = 1
export const MEM_WRITE = 2
export const MEM_READWRITE = 3

/** The provider's limits, as every simulated WSPGetSockOpt reports them. */
export const MAX_MSG = 65536
export const MAX_RDMA = 1 << 20
/** Local registrations (receive and send regions) of every connected socket. */
export const REG_LEN = 0x40000
/** Posted receives: one at a time per socket, into the start of the receive region. */
export const RECV_LEN = 65536
/** The session-negotiation message each side sends first (at most 256 bytes, C:using-session-protocol). */
export const NEGOTIATION_LEN = 64

/** Extension functions and their GUIDs, in lookup order. */
export const EXTENSIONS: ReadonlyArray<{fn: string; guid: string; optional: boolean}> = [
  {fn: 'WSPRegisterMemory', guid: '{c0b422f5-f58c-11d1-ad6c-00c04fa34a2d}', optional: false},
  {fn: 'WSPDeregisterMemory', guid: '{c0b422f6-f58c-11d1-ad6c-00c04fa34a2d}', optional: false},
  {fn: 'WSPRegisterRdmaMemory', guid: '{c0b422f7-f58c-11d1-ad6c-00c04fa34a2d}', optional: false},
  {fn: 'WSPDeregisterRdmaMemory', guid: '{c0b422f8-f58c-11d1-ad6c-00c04fa34a2d}', optional: false},
  {fn: 'WSPRdmaWrite', guid: '{c0b422f9-f58c-11d1-ad6c-00c04fa34a2d}', optional: false},
  {fn: 'WSPRdmaRead', guid: '{c0b422fa-f58c-11d1-ad6c-00c04fa34a2d}', optional: true},
  {fn: 'WSPMemoryRegistrationCacheCallback', guid: '{e5da4af8-d824-48cd-a799-6337a98ed2af}', optional: true},
]

export const hex = (n: number): string => '0x' + n.toString(16)

export interface Listener {
  s: string
  h: string
  addr: string
  /** Event object selected for FD_ACCEPT. */
  ev: string
  tid: number
  /** Accepts on one listening socket are serialized: the next block starts after this time. */
  busyUntil: number
  sock: Sock
}

/** A simulated process using the SAN provider. */
export interface Proc {
  pid: number
  index: number
  ip: string
  /** The provider's completion thread (upcalls). */
  comp: number
  /** The switch shim is traced in this process (AppRequest/AppCancel/AppComplete/SwitchMap/SwitchAbort/TcpFallback). */
  shim: boolean
  /** The WSPRdmaRead pointer lookup succeeded (else the switch never calls it). */
  rdmaRead: boolean
  /** The WSPMemoryRegistrationCacheCallback pointer lookup succeeded. */
  cacheCb: boolean
  listen?: Listener
  sockSerial: number
  /** Descriptor values handed out (fresh ones). */
  sockValues: number
  /** Released descriptors and switch handles and when they became free: [s, h, time, …]. */
  freeSocks: Array<string | number>
  memSerial: number
  appSerial: number
  /** Free threads and when they became free: [tid, time, tid, time, …]. */
  freeTids: number[]
  nextTid: number
}

export interface Reg {
  addr: number
  len: number
  handle: string
  flags: number
}

/** An overlapped operation issued by the switch. */
export interface Op {
  k: Sock
  fn: string
  ov: string
  len: number
  /** hEvent bit 0 set: the switch polls it with WSPGetOverlappedResult. */
  poll: boolean
  call: RawEvent
}

/** A SAN socket of a simulated process. */
export interface Sock {
  p: Proc
  /** Serial within the process: descriptors, handles, OVERLAPPEDs and buffers derive from it. */
  n: number
  s: string
  h: string
  tid: number
  /** Event object (WSPEventSelect) and the notify-mode hEvent of its transfers. */
  ev: string
  base: number
  addr?: string
  /** Receive region (MEM_WRITE) and send region (MEM_READ). */
  R?: Reg
  S?: Reg
  /** The posted receive, if any. */
  recv?: Op
  recvSlot: number
}

/** One planted violation, as recorded in the sidecar. */
export interface PlantRecord {
  rule: string
  pid: number
  socket?: string
  ts: number
  what: string
  /** Findings the analyzer must report for it: rule id → count. */
  expect: Record<string, number>
}

/** What scripts need from the driver. */
export interface World {
  readonly procs: readonly Proc[]
  /** The trace is not yet as large as asked, counting the sessions in progress: start another session. */
  wantMore(): boolean
  sessionStarted(x: Ctx): void
  sessionEnded(x: Ctx): void
  nextPort(): number
  /** A fresh dwProviderReserved token (WSPDuplicateSocket). */
  nextToken(): string
  /** Fresh RDMA descriptor bytes (hex). */
  nextDescriptor(): string
  /** A destination no simulated process listens on. */
  nowhere(): string
  plant(rec: PlantRecord): void
}

const CALL_MIN = 4 * US

/** One actor's clock and pending events, with the vocabulary helpers. */
export class Ctx {
  q: RawEvent[] = []
  qi = 0
  /** Events this actor wrote. */
  count = 0

  constructor(
    readonly world: World,
    readonly rng: Rng,
    /** Local clock, ns. */
    public t: number,
  ) {
    this.t = Math.round(t)
  }

  /** A pause of `lo`..`hi` ms, log-uniform (mostly short, sometimes long). */
  pause(lo: number, hi: number): void {
    this.t += Math.round(lo * Math.pow(hi / lo, this.rng.next()) * MS)
  }

  // ---- clock and raw events ---------------------------------------------------------------

  wait(ms: number): void {
    this.t += Math.round(ms * MS)
  }

  waitUs(lo: number, hi: number): void {
    this.t += Math.round(this.rng.real(lo, hi) * US)
  }

  ev(pid: number, tid: number | undefined, event: string, fields: Record<string, unknown>): RawEvent {
    const e: RawEvent = tid === undefined ? {ts: this.t, pid, event, ...fields} : {ts: this.t, pid, tid, event, ...fields}
    this.q.push(e)
    this.count++
    this.t += 800 + ((this.rng.next() * 2400) | 0)
    return e
  }

  /** A switch-shim event (provider WSD.SwitchShim). */
  shim(p: Proc, tid: number | undefined, event: string, fields: Record<string, unknown>): RawEvent {
    return this.ev(p.pid, tid, event, {provider: 'WSD.SwitchShim', ...fields})
  }

  // ---- calls and upcalls (Seq is assigned when the driver writes the event) -------------------

  call(p: Proc, tid: number, fn: string, fields: Record<string, unknown> = {}): RawEvent {
    return this.ev(p.pid, tid, 'SpiCall', {Seq: 0, Fn: fn, ...fields})
  }

  ret(p: Proc, tid: number, call: RawEvent, rc: number | string, errno = 0, out: Record<string, unknown> = {}): RawEvent {
    const sock = call.Socket !== undefined ? {Socket: call.Socket} : {}
    return this.ev(p.pid, tid, 'SpiReturn', {Seq: call, Fn: call.Fn, Rc: rc, Errno: errno, ...sock, ...out})
  }

  /** A call and its return after `us` microseconds inside (default: a few µs). */
  callRet(p: Proc, tid: number, fn: string, fields: Record<string, unknown>, rc: number | string = 0, errno = 0, out: Record<string, unknown> = {}, us?: number): RawEvent {
    const c = this.call(p, tid, fn, fields)
    this.t += us !== undefined ? Math.round(us * US) : CALL_MIN + ((this.rng.next() * 30 * US) | 0)
    return this.ret(p, tid, c, rc, errno, out)
  }

  upcall(p: Proc, tid: number, up: string, fields: Record<string, unknown>, rc = 0, errno = 0, out: Record<string, unknown> = {}): RawEvent {
    const u = this.ev(p.pid, tid, 'Upcall', {Seq: 0, Up: up, ...fields})
    this.ev(p.pid, tid, 'UpcallReturn', {Seq: u, Up: up, Rc: rc, Errno: errno, ...out})
    return u
  }

  // ---- threads and sockets ---------------------------------------------------------------------

  /**
   * A thread of `p` that no other actor uses from now on: threads are reused, but only once
   * free at this actor's clock (actors run ahead of the merge, so a thread released by one at
   * a later time must not be taken by another now).
   */
  acquireTid(p: Proc): number {
    const f = p.freeTids
    for (let i = 0; i < f.length; i += 2) {
      if (f[i + 1] <= this.t) {
        const tid = f[i]
        f.splice(i, 2)
        return tid
      }
    }
    return p.nextTid++
  }

  releaseTid(p: Proc, tid: number): void {
    p.freeTids.push(tid, this.t)
  }

  /** A new socket of `p` (not yet created by WSPSocket), on a thread of its own unless given. */
  newSock(p: Proc, tid?: number): Sock {
    const n = ++p.sockSerial
    // Descriptor and switch handle: values released earlier are often handed out again (a new
    // generation of the descriptor); descriptors and switch handles never share a value.
    let s: string | undefined
    let h: string | undefined
    const f = p.freeSocks
    for (let i = 0; i < f.length; i += 3) {
      if ((f[i + 2] as number) <= this.t) {
        if (this.rng.chance(0.3)) break
        s = f[i] as string
        h = f[i + 1] as string
        f.splice(i, 3)
        break
      }
    }
    if (s === undefined || h === undefined) {
      const v = ++p.sockValues
      s = hex(0x1000 + v * 8)
      h = hex(0x1000 + v * 8 + 4)
    }
    return {
      p,
      n,
      s,
      h,
      tid: tid ?? this.acquireTid(p),
      ev: hex(0x40000 + n * 16),
      base: 0x100000000 + n * 0x1000000,
      recvSlot: 0,
    }
  }

  /** The socket is gone (closed and released): its descriptor and switch handle may be reused from now on. */
  recycle(k: Sock): void {
    k.p.freeSocks.push(k.s, k.h, this.t)
  }

  /** OVERLAPPED of slot `slot` of a socket: unique per process among outstanding operations. */
  ov(k: Sock, slot: number): string {
    return hex(0x7ff000000000 + k.n * 0x400 + slot * 0x40)
  }

  /** WSPSocket with the nested WPUCreateSocketHandle (unless `handle` is false). */
  createSocket(k: Sock, opts: {token?: string; handle?: boolean; af?: number; type?: number; protocol?: number} = {}): RawEvent {
    const p = k.p
    const c = this.call(p, k.tid, 'WSPSocket', {Af: opts.af ?? 2, Type: opts.type ?? 1, Protocol: opts.protocol ?? 6, Flags: 1, ProviderReserved: opts.token ?? '0x0'})
    this.waitUs(3, 20)
    if (opts.handle !== false) this.upcall(p, k.tid, 'WPUCreateSocketHandle', {CatalogEntryId: 1001, Context: k.s}, 0, 0, {NewSwitchSocket: k.h})
    return this.ret(p, k.tid, c, k.s)
  }

  register(k: Sock, which: 'R' | 'S', flags: number): Reg {
    const p = k.p
    const addr = k.base + (which === 'R' ? 0 : 0x100000)
    const handle = hex(0x9000000 + ++p.memSerial)
    this.callRet(p, k.tid, 'WSPRegisterMemory', {Socket: k.s, RegAddr: hex(addr), RegLen: REG_LEN, MemFlags: flags}, handle)
    const r: Reg = {addr, len: REG_LEN, handle, flags}
    k[which] = r
    return r
  }

  deregister(k: Sock, which: 'R' | 'S'): void {
    const r = k[which]
    if (!r) return
    this.callRet(k.p, k.tid, 'WSPDeregisterMemory', {Socket: k.s, MemHandle: r.handle})
    k[which] = undefined
  }

  // ---- overlapped operations ------------------------------------------------------------------

  /** An overlapped transfer returning WSA_IO_PENDING (or `rc` 0 inline with `inline` bytes). */
  post(
    k: Sock,
    fn: string,
    slot: number,
    len: number,
    buf: number,
    opts: {poll?: boolean; handle?: string; extra?: Record<string, unknown>; flags?: number; tid?: number; inline?: number; callOnly?: boolean} = {},
  ): Op {
    const poll = opts.poll ?? false
    const ov = this.ov(k, slot)
    const fields: Record<string, unknown> = {
      Socket: k.s,
      Overlapped: ov,
      HEvent: poll ? hex(parseInt(k.ev, 16) + 1) : k.ev,
      CompletionRoutine: '0x0',
      ...(fn === 'WSPRecv' ? {ThreadIdPtr: '0x0'} : {}),
      Flags: opts.flags ?? 0,
      BufferCount: 1,
      TotalLen: len,
      Buffers: [opts.handle ? {Addr: hex(buf), Len: len, Handle: opts.handle} : {Addr: hex(buf), Len: len}],
      ...opts.extra,
    }
    const tid = opts.tid ?? k.tid
    const call = this.call(k.p, tid, fn, fields)
    const op: Op = {k, fn, ov, len, poll, call}
    if (opts.callOnly) return op
    this.waitUs(3, 25)
    if (opts.inline !== undefined) this.ret(k.p, tid, call, 0, 0, {BytesOut: opts.inline, ...(fn === 'WSPRecv' ? {FlagsOut: 0} : {})})
    else this.ret(k.p, tid, call, -1, E.WSA_IO_PENDING)
    return op
  }

  /** One WSPGetOverlappedResult poll by the switch thread of the operation's socket. */
  gor(op: Op, status: number | undefined, bytes = 0): void {
    const k = op.k
    const c = this.call(k.p, k.tid, 'WSPGetOverlappedResult', {Socket: k.s, Overlapped: op.ov, FWait: false})
    this.waitUs(1, 4)
    if (status === undefined) this.ret(k.p, k.tid, c, 0, E.WSA_IO_INCOMPLETE)
    else if (status === 0) this.ret(k.p, k.tid, c, 1, 0, {BytesOut: bytes, FlagsOut: 0})
    else this.ret(k.p, k.tid, c, 0, status, {BytesOut: bytes})
  }

  opDone(op: Op, status: number, bytes: number, notified: boolean, reason: string): void {
    this.ev(op.k.p.pid, undefined, 'OpDone', {Socket: op.k.s, Overlapped: op.ov, Error: status, Bytes: bytes, Notified: notified, Reason: reason})
  }

  /** The completion upcall of a notify-mode operation. */
  notify(op: Op, status: number, bytes: number, tid?: number): void {
    const k = op.k
    this.upcall(k.p, tid ?? k.p.comp, 'WPUCompleteOverlappedRequest', {SwitchSocket: k.h, Overlapped: op.ov, DwError: status, CbTransferred: bytes})
  }

  /**
   * The provider finishes `op` and the switch learns it: notify mode by the completion upcall
   * (with an OpDone first, sometimes); poll mode by OpDone and then a final WSPGetOverlappedResult
   * (`polled` false: the switch does not poll, e.g. operations flushed by close or duplication).
   */
  complete(op: Op, status: number, bytes: number, opts: {reason?: string; polled?: boolean; tid?: number} = {}): void {
    const reason = opts.reason ?? (status === 0 ? 'normal' : 'transport-error')
    if (op.poll) {
      const polled = opts.polled ?? true
      if (polled && status === 0 && this.rng.chance(0.25)) {
        this.gor(op, undefined)
        this.waitUs(2, 30)
      }
      this.opDone(op, status, bytes, false, reason)
      if (polled) {
        this.waitUs(2, 40)
        this.gor(op, status, bytes)
      }
    } else {
      if (this.rng.chance(0.5)) this.opDone(op, status, bytes, true, reason)
      this.notify(op, status, bytes, opts.tid)
    }
  }

  // ---- receives and messages -------------------------------------------------------------------

  /** Posts the socket's receive (one at a time), notify or poll mode at random. */
  postRecv(k: Sock, opts: {poll?: boolean} = {}): Op {
    const slot = k.recvSlot
    k.recvSlot ^= 1
    const op = this.post(k, 'WSPRecv', slot, RECV_LEN, k.R!.addr, {poll: opts.poll ?? this.rng.chance(0.3)})
    k.recv = op
    return op
  }

  /**
   * A message of `len` bytes from `a` to `b`: `a` posts a send, `b`'s posted receive completes
   * with it and is posted again, `a`'s send completes. Returns the send.
   */
  message(a: Sock, b: Sock, len: number, opts: {flags?: number; buf?: number; poll?: boolean; recvBytes?: number; repost?: boolean} = {}): Op {
    const buf = opts.buf ?? a.S!.addr + this.rng.int(0, (REG_LEN - len) >> 12) * 0x1000
    const send = this.post(a, 'WSPSend', 2 + this.rng.int(0, 1), len, buf, {poll: opts.poll ?? this.rng.chance(0.3), flags: opts.flags})
    this.waitUs(5, 120)
    this.receive(b, opts.recvBytes ?? Math.min(len, RECV_LEN), opts.repost)
    this.waitUs(2, 40)
    this.complete(send, 0, len)
    return send
  }

  /** `b`'s posted receive completes with `bytes`, and is posted again. */
  receive(b: Sock, bytes: number, repost = true): void {
    const r = b.recv
    if (!r) return
    b.recv = undefined
    this.complete(r, 0, bytes)
    if (repost) {
      this.waitUs(2, 30)
      this.postRecv(b)
    }
  }

  /** The provider's internal connection state change (ConnState), in the vocabulary of WinOF ibwsd. */
  connState(k: Sock, from: string, to: string, reason: string): void {
    this.ev(k.p.pid, undefined, 'ConnState', {Socket: k.s, Old: from, New: to, Reason: reason})
  }

  /**
   * WSPCloseSocket: the pending receive is flushed with `status` inside the call; then the final
   * WPUCloseSocketHandle. `state`: the provider's connection state, logged as it closes.
   */
  close(k: Sock, opts: {status?: number; ms?: number; release?: boolean; keepTid?: boolean; state?: string; recycle?: boolean} = {}): RawEvent {
    const p = k.p
    const c = this.call(p, k.tid, 'WSPCloseSocket', {Socket: k.s})
    this.waitUs(5, 40)
    if (opts.state) this.connState(k, opts.state, 'CLOSED', 'closesocket')
    if (k.recv) {
      this.complete(k.recv, opts.status ?? E.WSA_OPERATION_ABORTED, 0, {reason: 'flush-on-close', polled: false})
      k.recv = undefined
    }
    if (opts.ms !== undefined) this.wait(opts.ms)
    const r = this.ret(p, k.tid, c, 0)
    if (opts.release !== false) {
      this.waitUs(20, 200)
      this.upcall(p, p.comp, 'WPUCloseSocketHandle', {SwitchSocket: k.h})
      if (opts.recycle ?? !opts.keepTid) this.recycle(k)
    }
    if (!opts.keepTid) this.releaseTid(p, k.tid)
    return r
  }
}
