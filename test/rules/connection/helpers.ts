/** Trace fragments shared by the connection-rule tests (SAN014–SAN023). */
import {FD_ACCEPT, FD_CONNECT, WSAEWOULDBLOCK, type TraceBuilder} from '../../../src/synth/builder.js'

export const P = 100 // connecting process
export const Q = 200 // accepting process (two-sided traces)
export const T = 7
export const CB = 40 // provider completion thread
export const S = '0x2a0'
export const H = '0x3c4'
export const EV = '0x1f0'
export const LS = '0x1a0'
export const LH = '0x400'
export const LEV = '0x2f0'
export const DEST = '10.0.0.2:445'

export const WSAECONNREFUSED = 10061
export const WSAECONNRESET = 10054
export const WSAEHOSTUNREACH = 10065
export const WSAETIMEDOUT = 10060
export const WSAENOTCONN = 10057
export const WSAEINVAL = 10022

/** ErrorCodes array with `code` at FD bit `bit`. */
export function codes(bit = 4, code = 0): number[] {
  const c = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
  c[bit] = code
  return c
}

/** Socket, bind, WSPEventSelect(FD_CONNECT), WSPConnect returning WSAEWOULDBLOCK. */
export function pendingConnect(b: TraceBuilder, opts: {pid?: number; s?: string; h?: string; addr?: string; mask?: number} = {}): void {
  const pid = opts.pid ?? P
  const s = opts.s ?? S
  b.socket(pid, T, s, opts.h ?? H)
  b.callRet(pid, T, 'WSPBind', {Socket: s, Addr: '10.0.0.1:0'})
  b.callRet(pid, T, 'WSPEventSelect', {Socket: s, EventHandle: EV, NetworkEvents: opts.mask ?? FD_CONNECT})
  b.callRet(pid, T, 'WSPConnect', {Socket: s, Addr: opts.addr ?? DEST}, -1, WSAEWOULDBLOCK, 0.3)
}

/** The provider signals FD_CONNECT and the switch enumerates it with `code`. */
export function connectOutcome(b: TraceBuilder, code: number, opts: {pid?: number; s?: string; signal?: boolean} = {}): void {
  const pid = opts.pid ?? P
  const s = opts.s ?? S
  if (opts.signal !== false) b.emit(pid, undefined, 'NetEventSignal', {Socket: s, EventHandle: EV, FdBit: 4, Error: code})
  enumerate(b, FD_CONNECT, codes(4, code), {pid, s})
}

export function enumerate(b: TraceBuilder, out: number, errorCodes = codes(), opts: {pid?: number; s?: string; ev?: string} = {}): void {
  const s = opts.s ?? S
  b.callRet(opts.pid ?? P, T, 'WSPEnumNetworkEvents', {Socket: s, EventHandle: opts.ev ?? EV}, 0, 0, 0.01, {NetworkEventsOut: out, ErrorCodes: errorCodes})
}

/** Listening socket of the accepting process on `addr`. */
export function listener(b: TraceBuilder, addr = DEST, pid = Q): void {
  b.listen(pid, T, LS, LH, addr, LEV)
}

/** FD_ACCEPT signalled and enumerated on the listening socket. */
export function fdAccept(b: TraceBuilder, pid = Q, listen = LS): void {
  b.emit(pid, undefined, 'NetEventSignal', {Socket: listen, EventHandle: LEV, FdBit: 3, Error: 0})
  enumerate(b, FD_ACCEPT, codes(3, 0), {pid, s: listen, ev: LEV})
}

export interface AcceptOpts {
  pid?: number
  listen?: string
  /** New descriptor and switch handle; omitted for a failing accept. */
  s?: string
  h?: string
  /** CF_* result; undefined: no condition call. */
  result?: number
  condTid?: number
  /** Emit the condition call after the return. */
  condAfter?: boolean
  conds?: number
  reset?: boolean
  errno?: number
  caller?: string
}

/** WSPAccept with its condition call, event reset and WPUCreateSocketHandle, as configured. */
export function acceptCall(b: TraceBuilder, o: AcceptOpts = {}): void {
  const pid = o.pid ?? Q
  const listen = o.listen ?? LS
  const cond = (): void => {
    const cseq = b.nextSeq(pid)
    b.emit(pid, o.condTid ?? T, 'ConditionCall', {Seq: cseq, ListenSocket: listen, CallerAddr: o.caller ?? '10.0.0.1:50000', CalleeAddr: DEST})
    b.emit(pid, o.condTid ?? T, 'ConditionReturn', {Seq: cseq, Result: o.result ?? 0})
  }
  const seq = b.call(pid, T, 'WSPAccept', {Socket: listen})
  if (o.result !== undefined && !o.condAfter) for (let j = 0; j < (o.conds ?? 1); j++) cond()
  if (o.s) {
    if (o.reset !== false) b.emit(pid, undefined, 'NetEventReset', {Socket: listen, EventHandle: LEV})
    b.upcall(pid, T, 'WPUCreateSocketHandle', {CatalogEntryId: 1001, Context: o.s}, 0, {NewSwitchSocket: o.h ?? '0x4c4'})
    b.ret(pid, T, 'WSPAccept', seq, o.s)
  } else {
    b.ret(pid, T, 'WSPAccept', seq, -1, o.errno ?? WSAECONNREFUSED)
  }
  if (o.result !== undefined && o.condAfter) cond()
}

export function tcpConnect(b: TraceBuilder, dest: string, result: number, pid = P): void {
  b.emit(pid, 12, 'TcpFallback', {provider: 'WSD.SwitchShim', AppSocket: '0x120', Dest: dest, Result: result})
}

/** Ends the trace `ms` later with an unrelated call. */
export function end(b: TraceBuilder, ms: number, pid = P): void {
  b.wait(ms)
  b.callRet(pid, T + 1, 'WSPCleanup', {})
}

// ---- memory registration -------------------------------------------------------------

/** The socket the accepting process creates for the connection. */
export const AS = '0x2c0'
export const AH = '0x4c4'
export const BUF = '0x5000000'
export const MEMH = '0x9001'

/** Two-sided: Q listens on DEST and accepts AS; P connects S to DEST. */
export function connectedPair(b: TraceBuilder): void {
  listener(b)
  pendingConnect(b)
  fdAccept(b)
  acceptCall(b, {result: 0, s: AS, h: AH})
  connectOutcome(b, 0)
}

export function rdmaRegister(b: TraceBuilder, o: {pid?: number; s?: string; addr?: string; len?: number; flags?: number; desc: string; descLen?: number}): void {
  b.callRet(o.pid ?? Q, T, 'WSPRegisterRdmaMemory', {Socket: o.s ?? AS, RegAddr: o.addr ?? '0x8000000', RegLen: o.len ?? 8192, MemFlags: o.flags ?? 3, DescriptorLenIn: 64}, 0, 0, 0.02, {
    DescriptorOut: o.desc,
    DescriptorLenOut: o.descLen ?? 16,
  })
}

/** An RDMA transfer returning WSA_IO_PENDING. */
export function rdma(
  b: TraceBuilder,
  fn: 'WSPRdmaWrite' | 'WSPRdmaRead',
  o: {pid?: number; s?: string; ov?: string; len?: number; buf?: string; memHandle?: string; desc: string; descLen?: number; offset?: number},
): void {
  b.post(o.pid ?? P, T, fn, o.s ?? S, o.ov ?? '0x7080', o.len ?? 4096, {
    buf: o.buf ?? BUF,
    memHandle: o.memHandle ?? MEMH,
    extra: {TargetDescriptor: o.desc, TargetDescriptorLen: o.descLen ?? 16, TargetOffset: o.offset ?? 0},
  })
}

export function getSockOpt(b: TraceBuilder, name: number, value: number, s = S, pid = P): void {
  b.callRet(pid, T, 'WSPGetSockOpt', {Socket: s, OptLevel: 0xffff, OptName: name, OptLen: 4}, 0, 0, 0.02, {OptValue: value})
}
