/**
 * A small builder of SAN SPI traces in their JSON form (trace-format.md). Tests, the demo
 * trace and the simulator use it to write realistic call sequences without repeating the
 * event vocabulary by hand.
 */

export type RawEvent = {ts: number; pid: number; tid?: number; event: string} & Record<string, unknown>

export const WSAEWOULDBLOCK = 10035
export const WSA_IO_PENDING = 997
export const WSA_OPERATION_ABORTED = 995
export const FD_CONNECT = 0x10
export const FD_ACCEPT = 0x08

const MS = 1_000_000

export class TraceBuilder {
  readonly events: RawEvent[] = []
  /** Current time, ns. */
  now = 0
  /** Time advanced after every event, ns. */
  step = 10_000
  private seqs = new Map<number, number>()

  /** Moves the clock to `ms` milliseconds (never backwards). */
  at(ms: number): this {
    this.now = Math.max(this.now, Math.round(ms * MS))
    return this
  }

  /** Advances the clock by `ms` milliseconds. */
  wait(ms: number): this {
    this.now += Math.round(ms * MS)
    return this
  }

  nextSeq(pid: number): number {
    const s = (this.seqs.get(pid) ?? 0) + 1
    this.seqs.set(pid, s)
    return s
  }

  emit(pid: number, tid: number | undefined, event: string, fields: Record<string, unknown> = {}): RawEvent {
    const e: RawEvent = {ts: this.now, pid, ...(tid !== undefined ? {tid} : {}), event, ...fields}
    this.events.push(e)
    this.now += this.step
    return e
  }

  call(pid: number, tid: number, fn: string, fields: Record<string, unknown> = {}): number {
    const seq = this.nextSeq(pid)
    this.emit(pid, tid, 'SpiCall', {Seq: seq, Fn: fn, ...fields})
    return seq
  }

  ret(pid: number, tid: number, fn: string, seq: number, rc: number | string, errno = 0, fields: Record<string, unknown> = {}): void {
    this.emit(pid, tid, 'SpiReturn', {Seq: seq, Fn: fn, Rc: rc, Errno: errno, ...fields})
  }

  /** A call and its return; `ms` is the time spent inside. */
  callRet(pid: number, tid: number, fn: string, fields: Record<string, unknown>, rc: number | string = 0, errno = 0, ms = 0.02, out: Record<string, unknown> = {}): void {
    const seq = this.call(pid, tid, fn, fields)
    this.wait(ms)
    this.ret(pid, tid, fn, seq, rc, errno, {...(fields.Socket !== undefined ? {Socket: fields.Socket} : {}), ...out})
  }

  upcall(pid: number, tid: number, up: string, fields: Record<string, unknown> = {}, rc = 0, out: Record<string, unknown> = {}): void {
    const seq = this.nextSeq(pid)
    this.emit(pid, tid, 'Upcall', {Seq: seq, Up: up, ...fields})
    this.emit(pid, tid, 'UpcallReturn', {Seq: seq, Up: up, Rc: rc, Errno: 0, ...out})
  }

  // ---- scenarios -------------------------------------------------------------------------

  startup(pid: number, tid: number): void {
    this.callRet(pid, tid, 'WSPStartupEx', {Version: 0x0202})
  }

  /** WSPSocket with the nested WPUCreateSocketHandle; returns nothing, the descriptor is `s`. */
  socket(pid: number, tid: number, s: string, handle: string, extra: Record<string, unknown> = {}): void {
    const seq = this.call(pid, tid, 'WSPSocket', {Af: 2, Type: 1, Protocol: 6, Flags: 1, ProviderReserved: '0x0', ...extra})
    this.upcall(pid, tid, 'WPUCreateSocketHandle', {CatalogEntryId: 1001, Context: s}, 0, {NewSwitchSocket: handle})
    this.ret(pid, tid, 'WSPSocket', seq, s)
  }

  /** Socket, bind, event select(FD_CONNECT), nonblocking connect, FD_CONNECT signalled and enumerated. */
  connect(pid: number, tid: number, s: string, handle: string, addr: string, opts: {hEvent?: string; connectMs?: number; resolveMs?: number} = {}): void {
    const hEvent = opts.hEvent ?? '0x1f0'
    this.socket(pid, tid, s, handle)
    // The switch binds the SAN socket to the application socket's own address: fully qualified.
    this.callRet(pid, tid, 'WSPBind', {Socket: s, Addr: `10.0.0.1:${49152 + (Number(BigInt(s) % 16000n))}`})
    this.callRet(pid, tid, 'WSPEventSelect', {Socket: s, EventHandle: hEvent, NetworkEvents: FD_CONNECT})
    this.callRet(pid, tid, 'WSPConnect', {Socket: s, Addr: addr}, -1, WSAEWOULDBLOCK, opts.connectMs ?? 0.3)
    this.wait(opts.resolveMs ?? 2)
    this.emit(pid, undefined, 'NetEventSignal', {Socket: s, EventHandle: hEvent, FdBit: 4, Error: 0})
    this.callRet(pid, tid, 'WSPEnumNetworkEvents', {Socket: s, EventHandle: hEvent}, 0, 0, 0.01, {NetworkEventsOut: FD_CONNECT, ErrorCodes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]})
  }

  /** Listening socket: socket, bind, listen, event select(FD_ACCEPT). */
  listen(pid: number, tid: number, s: string, handle: string, addr: string, hEvent = '0x2f0'): void {
    this.socket(pid, tid, s, handle)
    this.callRet(pid, tid, 'WSPBind', {Socket: s, Addr: addr})
    this.callRet(pid, tid, 'WSPListen', {Socket: s, Backlog: 16})
    this.callRet(pid, tid, 'WSPEventSelect', {Socket: s, EventHandle: hEvent, NetworkEvents: FD_ACCEPT})
  }

  /** FD_ACCEPT reported, then WSPAccept with the condition callback and the new socket's handle. */
  accept(pid: number, tid: number, listen: string, s: string, handle: string, hEvent = '0x2f0'): void {
    this.emit(pid, undefined, 'NetEventSignal', {Socket: listen, EventHandle: hEvent, FdBit: 3, Error: 0})
    this.callRet(pid, tid, 'WSPEnumNetworkEvents', {Socket: listen, EventHandle: hEvent}, 0, 0, 0.01, {NetworkEventsOut: FD_ACCEPT, ErrorCodes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]})
    const seq = this.call(pid, tid, 'WSPAccept', {Socket: listen})
    const cseq = this.nextSeq(pid)
    this.emit(pid, tid, 'ConditionCall', {Seq: cseq, ListenSocket: listen, CallerAddr: '10.0.0.1:50000', CalleeAddr: '10.0.0.2:445'})
    this.emit(pid, tid, 'ConditionReturn', {Seq: cseq, Result: 0})
    this.emit(pid, undefined, 'NetEventReset', {Socket: listen, EventHandle: hEvent})
    this.upcall(pid, tid, 'WPUCreateSocketHandle', {CatalogEntryId: 1001, Context: s}, 0, {NewSwitchSocket: handle})
    this.ret(pid, tid, 'WSPAccept', seq, s)
  }

  register(pid: number, tid: number, s: string, addr: string, len: number, memHandle: string, flags = 3): void {
    this.callRet(pid, tid, 'WSPRegisterMemory', {Socket: s, RegAddr: addr, RegLen: len, MemFlags: flags}, memHandle)
  }

  /** An overlapped transfer returning WSA_IO_PENDING (not completed here). */
  post(pid: number, tid: number, fn: string, s: string, ov: string, len: number, opts: {hEvent?: string; buf?: string; memHandle?: string; extra?: Record<string, unknown>} = {}): void {
    const buf = opts.buf ?? '0x5000000'
    const fields: Record<string, unknown> = {
      Socket: s,
      Overlapped: ov,
      HEvent: opts.hEvent ?? '0x1f0',
      CompletionRoutine: '0x0',
      ...(fn === 'WSPRecv' ? {ThreadIdPtr: '0x0'} : {}),
      Flags: 0,
      BufferCount: 1,
      TotalLen: len,
      Buffers: [{Addr: buf, Len: len, ...(opts.memHandle ? {Handle: opts.memHandle} : {})}],
      ...opts.extra,
    }
    this.callRet(pid, tid, fn, fields, -1, WSA_IO_PENDING, 0.02)
  }

  /** Completion upcall for an operation (notify mode). */
  complete(pid: number, tid: number, handle: string, ov: string, bytes: number, error = 0): void {
    this.upcall(pid, tid, 'WPUCompleteOverlappedRequest', {SwitchSocket: handle, Overlapped: ov, DwError: error, CbTransferred: bytes})
  }

  /** WSPCloseSocket then the final WPUCloseSocketHandle. */
  close(pid: number, tid: number, s: string, handle: string, opts: {closeMs?: number; releaseMs?: number; release?: boolean} = {}): void {
    this.callRet(pid, tid, 'WSPCloseSocket', {Socket: s}, 0, 0, opts.closeMs ?? 0.05)
    if (opts.release === false) return
    this.wait(opts.releaseMs ?? 0.1)
    this.upcall(pid, tid, 'WPUCloseSocketHandle', {SwitchSocket: handle})
  }

  /** JSON Lines text. */
  jsonl(): string {
    return this.events.map((e) => JSON.stringify(e)).join('\n') + '\n'
  }
}
