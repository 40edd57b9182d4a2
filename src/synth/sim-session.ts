/**
 * What the simulated switch and provider do: process start-up and tear-down, and sessions —
 * a two-sided SAN connection (connect, accept, session negotiation, sends and receives in
 * both notification modes, RDMA writes and reads into memory the peer registered and
 * announced, switch-side application requests and cancels, duplication into another process,
 * orderly close), a connect that times out and falls back to TCP/IP, and a connect cancelled
 * by close. Everything here is healthy; a session given `plant` deviates at one point to
 * plant exactly one violation of that rule (planters.ts lists them).
 */
import {
  type Ctx,
  E,
  FD_ACCEPT,
  FD_CONNECT,
  type Listener,
  MAX_MSG,
  MAX_RDMA,
  MEM_READ,
  MEM_READWRITE,
  MEM_WRITE,
  NEGOTIATION_LEN,
  type Proc,
  REG_LEN,
  SIO_ADDRESS_LIST_QUERY,
  SIO_GET_EXTENSION_FUNCTION_POINTER,
  SO_DEBUG,
  SO_MAX_MSG_SIZE,
  SO_MAX_RDMA_SIZE,
  SOL_SOCKET,
  type Sock,
  EXTENSIONS,
  hex,
} from './sim-ctx.js'

const NO_ERRORS = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
const codes = (bit: number, code: number): number[] => {
  const c = [...NO_ERRORS]
  c[bit] = code
  return c
}

/** Records the planted violation `rule` when the session plants it. */
export function mark(x: Ctx, rule: string, p: Proc, k: Sock | string | undefined, what: string, expect: Record<string, number> = {[rule]: 1}): void {
  x.world.plant({rule, pid: p.pid, socket: typeof k === 'string' ? k : k?.s, ts: x.t, what, expect})
}

// ---- process life ------------------------------------------------------------------------------

/** WSPStartupEx and the extension-function lookups (the socket argument is not used). */
export function startup(x: Ctx, p: Proc, tid: number, fail?: {fn: string; errno: number; plant?: string}): void {
  x.callRet(p, tid, 'WSPStartupEx', {Version: 0x0202})
  for (const e of EXTENSIONS) {
    const ok = e.fn === 'WSPRdmaRead' ? p.rdmaRead : e.fn === 'WSPMemoryRegistrationCacheCallback' ? p.cacheCb : true
    const fields = {Socket: '0x0', IoctlCode: SIO_GET_EXTENSION_FUNCTION_POINTER, IoctlGuid: e.guid, InLen: 16, OutLen: 8, Overlapped: '0x0'}
    if (fail && fail.fn === e.fn) {
      if (fail.plant) mark(x, fail.plant, p, undefined, `the provider refuses the pointer of mandatory extension ${e.fn} (${fail.errno})`)
      x.callRet(p, tid, 'WSPIoctl', fields, -1, fail.errno)
    } else if (ok) x.callRet(p, tid, 'WSPIoctl', fields, 0, 0, {BytesOut: 8})
    else x.callRet(p, tid, 'WSPIoctl', fields, -1, E.WSAEOPNOTSUPP)
  }
}

/** Start-up of a process: extension lookups, the NIC address query on a control socket, the listening socket. */
export function* setupProcess(x: Ctx, p: Proc): Generator<void> {
  const tid = x.acquireTid(p)
  startup(x, p, tid)
  yield
  x.waitUs(50, 400)
  const cs = x.newSock(p, tid)
  x.createSocket(cs)
  x.callRet(p, tid, 'WSPIoctl', {Socket: cs.s, IoctlCode: SIO_ADDRESS_LIST_QUERY, InLen: 0, OutLen: 1024, Overlapped: '0x0'}, 0, 0, {BytesOut: 40, AddrCount: 2})
  x.close(cs, {keepTid: true, recycle: true})
  yield
  x.waitUs(50, 400)
  p.listen = listener(x, p, `${p.ip}:445`, tid)
}

/** A listening socket: socket, bind, listen, event select (FD_ACCEPT). */
export function listener(x: Ctx, p: Proc, addr: string, tid?: number): Listener {
  const l = x.newSock(p, tid)
  x.createSocket(l)
  x.callRet(p, l.tid, 'WSPBind', {Socket: l.s, Addr: addr})
  x.callRet(p, l.tid, 'WSPListen', {Socket: l.s, Backlog: 64})
  x.callRet(p, l.tid, 'WSPEventSelect', {Socket: l.s, EventHandle: l.ev, NetworkEvents: FD_ACCEPT})
  return {s: l.s, h: l.h, addr, ev: l.ev, tid: l.tid, busyUntil: x.t, sock: l}
}

/** The end of every process: its listening socket closed, WSPCleanup. */
export function* teardown(x: Ctx, procs: readonly Proc[]): Generator<void> {
  for (const p of procs) {
    x.waitUs(100, 3000)
    const l = p.listen
    if (!l) continue
    x.close(l.sock, {keepTid: true})
    x.waitUs(20, 300)
    x.callRet(p, l.tid, 'WSPCleanup', {})
    yield
  }
}

// ---- connection steps ---------------------------------------------------------------------------

function limits(x: Ctx, k: Sock): void {
  x.callRet(k.p, k.tid, 'WSPGetSockOpt', {Socket: k.s, OptLevel: SOL_SOCKET, OptName: SO_MAX_MSG_SIZE, OptLen: 4}, 0, 0, {OptValue: MAX_MSG})
  x.callRet(k.p, k.tid, 'WSPGetSockOpt', {Socket: k.s, OptLevel: SOL_SOCKET, OptName: SO_MAX_RDMA_SIZE, OptLen: 4}, 0, 0, {OptValue: MAX_RDMA})
}

function enumConnect(x: Ctx, k: Sock, code: number): void {
  x.callRet(k.p, k.tid, 'WSPEnumNetworkEvents', {Socket: k.s, EventHandle: k.ev}, 0, 0, {NetworkEventsOut: FD_CONNECT, ErrorCodes: codes(4, code)})
}

/** Socket, bind to its own (fully qualified) address, event select FD_CONNECT. */
function connector(x: Ctx, p: Proc): Sock {
  const c = x.newSock(p)
  c.addr = `${p.ip}:${x.world.nextPort()}`
  x.createSocket(c)
  x.callRet(p, c.tid, 'WSPBind', {Socket: c.s, Addr: c.addr})
  x.callRet(p, c.tid, 'WSPEventSelect', {Socket: c.s, EventHandle: c.ev, NetworkEvents: FD_CONNECT})
  return c
}

/**
 * FD_ACCEPT signalled and enumerated, then WSPAccept with the condition callback (CF_ACCEPT),
 * the event reset and the new socket's switch handle. Accepts on one listening socket never
 * overlap (each starts after the previous one's block).
 */
function accept(x: Ctx, S: Proc, L: Listener, c: Sock, plant?: string): Sock {
  const a = x.newSock(S)
  x.t = Math.max(x.t, L.busyUntil)
  if (plant === 'SAN018') {
    mark(x, 'SAN018', S, L.s, 'WSPAccept called without FD_ACCEPT reported by WSPEnumNetworkEvents')
  } else {
    x.ev(S.pid, undefined, 'NetEventSignal', {Socket: L.s, EventHandle: L.ev, FdBit: 3, Error: 0})
    x.waitUs(5, 60)
    x.callRet(S, a.tid, 'WSPEnumNetworkEvents', {Socket: L.s, EventHandle: L.ev}, 0, 0, {NetworkEventsOut: FD_ACCEPT, ErrorCodes: codes(3, 0)})
  }
  const call = x.call(S, a.tid, 'WSPAccept', {Socket: L.s})
  x.waitUs(3, 20)
  if (plant === 'SAN019') {
    mark(x, 'SAN019', S, L.s, 'WSPAccept accepted a connection without calling the condition function')
  } else {
    const cc = x.ev(S.pid, a.tid, 'ConditionCall', {Seq: 0, ListenSocket: L.s, CallerAddr: c.addr, CalleeAddr: L.addr})
    x.ev(S.pid, a.tid, 'ConditionReturn', {Seq: cc, Result: 0})
  }
  x.ev(S.pid, undefined, 'NetEventReset', {Socket: L.s, EventHandle: L.ev})
  x.upcall(S, a.tid, 'WPUCreateSocketHandle', {CatalogEntryId: 1001, Context: a.s}, 0, 0, {NewSwitchSocket: a.h})
  x.ret(S, a.tid, call, a.s)
  x.connState(a, 'CREATE', 'CONNECTED', 'accepted')
  a.addr = L.addr
  L.busyUntil = x.t
  return a
}

/** Message sizes: mostly small control messages, some bulk up to SO_MAX_MSG_SIZE. */
function msgSize(x: Ctx): number {
  return x.rng.chance(0.7) ? x.rng.int(1, 64) * 64 : x.rng.int(2, MAX_MSG / 4096) * 4096
}

/**
 * An RDMA transfer initiated by `c` on memory its peer `a` registered for it: `a` registers
 * (WSPRegisterRdmaMemory) and announces the descriptor in a message, `c` issues the RDMA
 * from (write) or into (read) its own registered memory, announces completion, and `a`
 * deregisters.
 */
function rdma(x: Ctx, c: Sock, a: Sock, fn: 'WSPRdmaWrite' | 'WSPRdmaRead', app?: {id: number; cancel: boolean; plant35?: boolean}): void {
  const rng = x.rng
  const len = rng.int(1, 48) * 4096
  const regLen = Math.min(MAX_RDMA, len + rng.int(0, 32) * 4096)
  const desc = x.world.nextDescriptor()
  const flags = fn === 'WSPRdmaWrite' ? rng.pick([MEM_WRITE, MEM_READWRITE]) : rng.pick([MEM_READ, MEM_READWRITE])
  const C = c.p
  const buf = fn === 'WSPRdmaWrite' ? c.S!.addr + rng.int(0, (REG_LEN - len) >> 12) * 4096 : c.R!.addr + 0x10000
  const handle = fn === 'WSPRdmaWrite' ? c.S!.handle : c.R!.handle
  if (app) {
    x.shim(C, c.tid, 'AppRequest', {AppReqId: app.id, AppSocket: hex(0x200 + c.n * 4), Kind: fn === 'WSPRdmaWrite' ? 'send' : 'recv', Blocking: true, BufAddr: hex(buf), BufLen: len})
    x.waitUs(2, 30)
  }
  x.callRet(a.p, a.tid, 'WSPRegisterRdmaMemory', {Socket: a.s, RegAddr: hex(a.base + 0x800000), RegLen: regLen, MemFlags: flags, DescriptorLenIn: 64}, 0, 0, {DescriptorOut: desc, DescriptorLenOut: 16})
  x.message(a, c, 48)
  x.waitUs(5, 80)
  const offset = rng.int(0, (regLen - len) >> 12) * 4096
  const op = x.post(c, fn, 4, len, buf, {poll: rng.chance(0.3), handle, extra: {TargetDescriptor: desc, TargetDescriptorLen: 16, TargetOffset: offset}})
  if (app) {
    x.shim(C, c.tid, 'SwitchMap', {AppReqId: app.id, SanSocket: c.s, Overlapped: [op.ov], RdmaRanges: [{Addr: hex(buf), Len: len}]})
    if (app.cancel) {
      x.waitUs(5, 100)
      x.shim(C, undefined, 'AppCancel', {AppReqId: app.id})
    }
    if (app.plant35) {
      x.waitUs(5, 100)
      mark(x, 'SAN035', C, c, `the switch completed cancelled application request ${app.id} while its ${fn} was outstanding`)
      x.shim(C, c.tid, 'AppComplete', {AppReqId: app.id, Status: E.WSA_OPERATION_ABORTED, Bytes: 0})
    }
  }
  x.waitUs(20, 600)
  x.complete(op, 0, len)
  if (app && !app.plant35) {
    x.waitUs(2, 40)
    x.shim(C, c.tid, 'AppComplete', {AppReqId: app.id, Status: app.cancel ? E.WSA_OPERATION_ABORTED : 0, Bytes: app.cancel ? 0 : len})
  }
  x.waitUs(5, 80)
  x.message(c, a, 48)
  x.callRet(a.p, a.tid, 'WSPDeregisterRdmaMemory', {Socket: a.s, TargetDescriptor: desc, TargetDescriptorLen: 16})
}

/** A switch-buffered application send that the application cancels: completed at once with a failure. */
function appCancel(x: Ctx, c: Sock, completeAfterMs?: number): void {
  const p = c.p
  const id = ++p.appSerial
  const buf = 0x7e0000000000 + p.index * 0x100000000 + (id % 65536) * 0x10000
  x.shim(p, c.tid, 'AppRequest', {AppReqId: id, AppSocket: hex(0x200 + c.n * 4), Kind: 'send', Blocking: true, BufAddr: hex(buf), BufLen: x.rng.int(1, 16) * 256})
  x.waitUs(50, 500)
  x.shim(p, undefined, 'AppCancel', {AppReqId: id})
  if (completeAfterMs !== undefined) {
    mark(x, 'SAN034', p, undefined, `cancelled switch-buffered request ${id} completed only ${completeAfterMs} ms after its cancel`)
    x.wait(completeAfterMs)
  } else x.waitUs(5, 200)
  x.shim(p, c.tid, 'AppComplete', {AppReqId: id, Status: E.WSA_OPERATION_ABORTED, Bytes: 0})
}

/**
 * Duplication of the connected socket `c` into process `D` (C:duplicating-socket-handles-for-a-san):
 * send buffers deregistered, WSPDuplicateSocket flushes the posted receive with success and 0
 * bytes, the old descriptor is closed, and `D` re-creates the socket from dwProviderReserved
 * with a switch handle of its own, registers its buffers and posts a receive.
 */
function duplicate(x: Ctx, c: Sock, D: Proc, plant?: string): Sock {
  const C = c.p
  if (plant === 'SAN037') mark(x, 'SAN037', C, c, 'WSPDuplicateSocket with a send-only registration still live')
  else x.deregister(c, 'S')
  const token = x.world.nextToken()
  const call = x.call(C, c.tid, 'WSPDuplicateSocket', {Socket: c.s, TargetPid: D.pid})
  x.waitUs(10, 80)
  x.connState(c, 'CONNECTED', 'DUPLICATING_OLD', 'duplicate')
  if (plant === 'SAN038') {
    mark(x, 'SAN038', C, c, 'WSPDuplicateSocket returned with a receive still pending (not flushed with success and 0 bytes)')
  } else if (c.recv) {
    x.complete(c.recv, 0, 0, {reason: 'flush-on-duplicate', polled: false, tid: c.tid})
    c.recv = undefined
  }
  x.waitUs(5, 40)
  x.ret(C, c.tid, call, 0, 0, {ProviderReservedOut: token})
  x.waitUs(20, 300)
  x.close(c, {state: 'DUPLICATING_OLD'})
  x.waitUs(100, 2000)
  const n = x.newSock(D)
  n.addr = c.addr
  x.createSocket(n, {token})
  x.connState(n, 'DUPLICATING_NEW', 'CONNECTED', 'duplicate')
  x.register(n, 'R', MEM_WRITE)
  x.register(n, 'S', MEM_READ)
  x.postRecv(n)
  return n
}

/** Plants that happen in the data phase of a connection, at one step. */
const DATA_PLANTS = new Set(['SAN002', 'SAN010', 'SAN020', 'SAN021', 'SAN022', 'SAN023', 'SAN024', 'SAN025', 'SAN026', 'SAN027', 'SAN028', 'SAN034', 'SAN035', 'SAN039'])
/** Plants of the close phase, on the connecting side. */
const CLOSE_PLANTS = new Set(['SAN029', 'SAN030', 'SAN032', 'SAN033'])

/** Data-phase step kinds and their weights. */
const STEPS = ['c2s', 's2c', 'rdmaWrite', 'rdmaRead', 'query', 'option', 'appCancel', 'appRdma'] as const
type Step = (typeof STEPS)[number]
const WEIGHTS = [30, 30, 10, 7, 4, 3, 4, 3]
/** The first session of every trace shows each kind of traffic at least once. */
const SHOWCASE: Step[] = ['c2s', 's2c', 'rdmaWrite', 'c2s', 'rdmaRead', 'query', 'appCancel', 'appRdma', 's2c', 'option', 'c2s', 'rdmaWrite', 's2c']

/** A planted step of the data phase. */
function dataPlant(x: Ctx, plant: string, c: Sock, a: Sock): void {
  const C = c.p
  switch (plant) {
    case 'SAN002':
      mark(x, plant, C, c, 'the switch forwarded WSPShutdown to the SAN provider')
      x.callRet(C, c.tid, 'WSPShutdown', {Socket: c.s, How: 1})
      return
    case 'SAN010':
      mark(x, plant, C, c, 'WPUQuerySocketHandleContext names the provider descriptor instead of the switch handle')
      x.upcall(C, C.comp, 'WPUQuerySocketHandleContext', {SwitchSocket: c.s}, -1, E.WSAENOTSOCK)
      return
    case 'SAN020':
      mark(x, plant, C, c, 'WSPSend from a buffer outside every registration of the socket')
      x.message(c, a, 512, {buf: c.base + 0x700000})
      return
    case 'SAN021':
      mark(x, plant, C, c, 'WSPSend from the receive region, registered MEM_WRITE only')
      x.message(c, a, 512, {buf: c.R!.addr + 0x20000})
      return
    case 'SAN022':
      mark(x, plant, C, c, 'WSPDeregisterMemory with a handle never registered (the provider refuses it with WSAEINVAL)')
      x.callRet(C, c.tid, 'WSPDeregisterMemory', {Socket: c.s, MemHandle: hex(0x9ff00000 + c.n)}, -1, E.WSAEINVAL)
      return
    case 'SAN023':
      mark(x, plant, C, c, `WSPSend of 100000 bytes > SO_MAX_MSG_SIZE ${MAX_MSG}`)
      x.message(c, a, 100000, {buf: c.S!.addr})
      return
    case 'SAN024':
      mark(x, plant, C, c, 'WSPSend with dwFlags MSG_OOB')
      x.message(c, a, 256, {flags: 1})
      return
    case 'SAN025': {
      // Two switch threads send with the same OVERLAPPED; the provider completes both inline.
      const t2 = x.acquireTid(C)
      const s1 = x.post(c, 'WSPSend', 6, 512, c.S!.addr, {callOnly: true})
      x.waitUs(2, 10)
      mark(x, plant, C, c, `WSPSend reuses OVERLAPPED ${s1.ov} while another send on it is outstanding`)
      const s2 = x.post(c, 'WSPSend', 6, 256, c.S!.addr + 0x1000, {callOnly: true, tid: t2})
      x.waitUs(3, 20)
      x.ret(C, c.tid, s1.call, 0, 0, {BytesOut: 512})
      x.ret(C, t2, s2.call, 0, 0, {BytesOut: 256})
      x.releaseTid(C, t2)
      x.waitUs(5, 60)
      x.receive(a, 512)
      x.waitUs(5, 60)
      x.receive(a, 256)
      return
    }
    case 'SAN026': {
      const send = x.post(c, 'WSPSend', 2, 512, c.S!.addr, {poll: false})
      x.waitUs(5, 60)
      x.receive(a, 512)
      x.notify(send, 0, 512)
      x.waitUs(5, 200)
      mark(x, plant, C, c, `second WPUCompleteOverlappedRequest for WSPSend ${send.ov}`)
      x.notify(send, 0, 512)
      return
    }
    case 'SAN027': {
      const send = x.post(c, 'WSPSend', 2, 512, c.S!.addr, {poll: true})
      x.waitUs(5, 60)
      x.receive(a, 512)
      x.opDone(send, 0, 512, true, 'normal')
      mark(x, plant, C, c, `WPUCompleteOverlappedRequest for poll-mode WSPSend ${send.ov} (hEvent bit 0 set)`)
      x.notify(send, 0, 512)
      x.waitUs(5, 60)
      x.gor(send, 0, 512)
      return
    }
    case 'SAN028':
      mark(x, plant, a.p, a, `a receive of ${MAX_MSG} bytes completes with 70000 bytes`)
      x.message(c, a, MAX_MSG, {recvBytes: 70000})
      return
    case 'SAN034':
      appCancel(x, c, 1500)
      return
    case 'SAN035':
      if (C.rdmaRead) rdma(x, c, a, 'WSPRdmaRead', {id: ++C.appSerial, cancel: true, plant35: true})
      else rdma(x, c, a, 'WSPRdmaWrite', {id: ++C.appSerial, cancel: true, plant35: true})
      return
    case 'SAN039':
      mark(x, plant, C, c, 'WSPIoctl FIONBIO forwarded to the SAN provider')
      x.callRet(C, c.tid, 'WSPIoctl', {Socket: c.s, IoctlCode: 0x4004667e, InLen: 4, OutLen: 0, Overlapped: '0x0'}, -1, E.WSAEOPNOTSUPP)
      return
    default:
      throw new Error(`no data-phase plant for ${plant}`)
  }
}

export interface ConnectionSpec {
  client: Proc
  server: Proc
  /** Duplication target (a process other than the client's, when there is one). */
  dupTo?: Proc
  plant?: string
  /** Show every kind of traffic once (duplication included). */
  showcase?: boolean
}

/** A two-sided SAN connection from `client` to `server`'s listening socket, from connect to close. */
export function* connection(x: Ctx, spec: ConnectionSpec): Generator<void> {
  const {client: C, server: S, plant} = spec
  const rng = x.rng
  const sh = x.shim.bind(x)

  let own: Listener | undefined
  if (plant === 'SAN019') {
    own = listener(x, S, `${S.ip}:${x.world.nextPort()}`)
    yield
  }

  // The connecting side: socket, bind, (limits), event select, nonblocking connect.
  let c = x.newSock(C)
  c.addr = `${C.ip}:${x.world.nextPort()}`
  x.createSocket(c)
  if (plant === 'SAN011') {
    mark(x, plant, C, c, 'the first call on the new SAN socket is WSPSetSockOpt, not WSPBind')
    x.callRet(C, c.tid, 'WSPSetSockOpt', {Socket: c.s, OptLevel: SOL_SOCKET, OptName: SO_DEBUG, OptLen: 4})
  }
  x.callRet(C, c.tid, 'WSPBind', {Socket: c.s, Addr: c.addr})
  if (plant === 'SAN023' || rng.chance(0.25)) limits(x, c)
  if (plant !== 'SAN012') {
    if (plant === 'SAN004') {
      mark(x, plant, C, c, 'WSPEventSelect failed with WSAEINPROGRESS, a code a SAN provider never returns')
      x.callRet(C, c.tid, 'WSPEventSelect', {Socket: c.s, EventHandle: c.ev, NetworkEvents: FD_CONNECT}, -1, E.WSAEINPROGRESS)
    } else if (plant === 'SAN005') {
      mark(x, plant, C, c, 'WSPEventSelect failed with WSAENOBUFS, outside its documented codes')
      x.callRet(C, c.tid, 'WSPEventSelect', {Socket: c.s, EventHandle: c.ev, NetworkEvents: FD_CONNECT}, -1, E.WSAENOBUFS)
    }
    x.callRet(C, c.tid, 'WSPEventSelect', {Socket: c.s, EventHandle: c.ev, NetworkEvents: FD_CONNECT})
  }
  yield
  // Read only now: the first step of a session that starts with the trace is generated before the processes' start-up is.
  const L = own ?? S.listen!

  if (plant === 'SAN016') {
    // The connect fails at once; the switch tries WSPConnect again on the failed socket.
    x.callRet(C, c.tid, 'WSPConnect', {Socket: c.s, Addr: L.addr}, -1, E.WSAETIMEDOUT, {}, rng.real(50, 400))
    x.waitUs(20, 200)
    mark(x, plant, C, c, 'WSPConnect again on a socket whose connect failed')
    x.callRet(C, c.tid, 'WSPConnect', {Socket: c.s, Addr: L.addr}, -1, E.WSAEINVAL)
    x.waitUs(20, 200)
    x.close(c)
    if (C.shim) sh(C, undefined, 'TcpFallback', {AppSocket: hex(0x200 + c.n * 4), Dest: L.addr, Result: 0})
    return
  }

  let a: Sock
  if (plant === 'SAN012') {
    mark(x, plant, C, c, 'WSPConnect without WSPEventSelect(FD_CONNECT): the connect was forwarded as blocking')
    const call = x.call(C, c.tid, 'WSPConnect', {Socket: c.s, Addr: L.addr})
    x.waitUs(100, 800)
    a = accept(x, S, L, c)
    x.waitUs(50, 300)
    x.ret(C, c.tid, call, 0)
  } else {
    let us = rng.real(30, 300)
    if (plant === 'SAN013') {
      us = rng.real(1200, 1600) * 1000
      mark(x, plant, C, c, `WSPConnect blocked ${(us / 1000).toFixed(0)} ms before returning WSAEWOULDBLOCK`)
    }
    x.callRet(C, c.tid, 'WSPConnect', {Socket: c.s, Addr: L.addr}, -1, E.WSAEWOULDBLOCK, {}, us)
    yield
    x.waitUs(100, 1500)
    a = accept(x, S, L, c, plant)
    yield
    x.waitUs(50, 500)
    x.connState(c, 'CONNECT', 'CONNECTED', 'cm-rep')
    x.ev(C.pid, undefined, 'NetEventSignal', {Socket: c.s, EventHandle: c.ev, FdBit: 4, Error: 0})
    x.waitUs(3, 40)
    enumConnect(x, c, 0)
    if (plant === 'SAN017') {
      x.waitUs(20, 200)
      mark(x, plant, C, c, 'WSPEnumNetworkEvents reports FD_CONNECT a second time for one connect')
      enumConnect(x, c, 0)
    }
  }
  yield

  // Session negotiation: both sides register their buffers, post a receive, and exchange one message.
  x.waitUs(20, 300)
  x.register(c, 'R', MEM_WRITE)
  x.register(c, 'S', MEM_READ)
  x.register(a, 'R', MEM_WRITE)
  x.register(a, 'S', MEM_READ)
  x.postRecv(c)
  if (plant === 'SAN040') {
    // The connecting side's negotiation message arrives before the accepting side posted a
    // receive, and the provider drops the connection instead of buffering it.
    x.waitUs(5, 50)
    const send = x.post(c, 'WSPSend', 2, NEGOTIATION_LEN, c.S!.addr, {poll: false})
    x.waitUs(10, 60)
    x.complete(send, 0, NEGOTIATION_LEN)
    x.waitUs(20, 100)
    mark(x, plant, S, a, 'the provider dropped the accepted connection: the peer\'s negotiation message arrived before a receive was posted')
    x.ev(S.pid, undefined, 'ConnState', {Socket: a.s, Old: 'CONNECTED', New: 'DISCONNECTED', Reason: 'recv-not-posted'})
    x.waitUs(20, 100)
    const r = x.post(a, 'WSPRecv', 0, 4096, a.R!.addr, {callOnly: true})
    x.waitUs(3, 20)
    x.ret(S, a.tid, r.call, -1, E.WSAECONNRESET)
    x.waitUs(20, 200)
    x.deregister(a, 'S')
    x.deregister(a, 'R')
    x.close(a)
    yield
    x.waitUs(100, 2000)
    x.deregister(c, 'S')
    x.close(c)
    if (own) x.close(own.sock)
    return
  }
  x.postRecv(a)
  yield
  x.message(c, a, NEGOTIATION_LEN)
  x.waitUs(10, 200)
  x.message(a, c, NEGOTIATION_LEN)
  yield

  // Data phase.
  const steps = spec.showcase ? SHOWCASE.length : rng.int(3, 24)
  const plantAt = plant && DATA_PLANTS.has(plant) ? Math.floor(steps / 2) : -1
  const dup = spec.dupTo && (spec.showcase || plant === 'SAN037' || plant === 'SAN038' || (!plant && rng.chance(0.05)))
  const dupAt = dup ? (spec.showcase ? 6 : Math.max(1, Math.floor((steps * 2) / 3))) : -1
  for (let i = 0; i < steps; i++) {
    x.pause(0.05, 40)
    yield
    if (i === plantAt) dataPlant(x, plant!, c, a)
    if (i === dupAt) c = duplicate(x, c, spec.dupTo!, plant)
    let step: Step = spec.showcase ? SHOWCASE[i] : STEPS[rng.weighted(WEIGHTS)]
    if (step === 'rdmaRead' && !c.p.rdmaRead) step = 'rdmaWrite'
    if ((step === 'appCancel' || step === 'appRdma') && !c.p.shim && !spec.showcase) step = 'c2s'
    switch (step) {
      case 'c2s':
        x.message(c, a, msgSize(x))
        break
      case 's2c':
        x.message(a, c, msgSize(x))
        break
      case 'rdmaWrite':
        rdma(x, c, a, 'WSPRdmaWrite')
        break
      case 'rdmaRead':
        rdma(x, c, a, 'WSPRdmaRead')
        break
      case 'query': {
        const k = rng.chance(0.5) ? c : a
        x.upcall(k.p, k.p.comp, 'WPUQuerySocketHandleContext', {SwitchSocket: k.h}, 0, 0, {Context: k.s})
        break
      }
      case 'option':
        x.callRet(c.p, c.tid, 'WSPGetSockOpt', {Socket: c.s, OptLevel: SOL_SOCKET, OptName: SO_DEBUG, OptLen: 4}, 0, 0, {OptValue: 0})
        break
      case 'appCancel':
        appCancel(x, c)
        // The application thinks for a while (the showcase lets the cancel deadline pass in the trace).
        if (spec.showcase) x.wait(1200)
        break
      case 'appRdma':
        rdma(x, c, a, c.p.rdmaRead ? 'WSPRdmaRead' : 'WSPRdmaWrite', {id: ++c.p.appSerial, cancel: spec.showcase || rng.chance(0.4)})
        break
    }
  }
  yield

  // Close. The switch may abort a connection (only close follows); rarely it closes the
  // connecting side to force completion of an RDMA outstanding after an application cancel.
  x.wait(rng.real(0.05, 3))
  let abortC = plant === 'SAN036' || (!plant && c.p.shim && rng.chance(0.03))
  const abortA = spec.showcase || (!plant && a.p.shim && rng.chance(0.02))
  const forced = !plant && !abortC && c.p.shim && rng.chance(0.02)
  if (plant === 'SAN036') {
    sh(c.p, c.tid, 'SwitchAbort', {SanSocket: c.s, Reason: 'application cancelled a blocking receive'})
    x.waitUs(20, 300)
    mark(x, plant, c.p, c, 'WSPSend issued on a socket the switch is aborting')
    x.message(c, a, 256)
    abortC = false
  }
  const closeC = (): void => {
    const p = c.p
    if (abortC) sh(p, c.tid, 'SwitchAbort', {SanSocket: c.s, Reason: 'application cancelled a blocking request'})
    const sendRegion = c.S
    x.deregister(c, 'S')
    if (sendRegion && p.cacheCb && rng.chance(0.2)) {
      // The application frees the buffer: the switch invalidates the provider's cached registration.
      x.callRet(p, c.tid, 'WSPMemoryRegistrationCacheCallback', {CacheAddr: hex(sendRegion.addr), CacheSize: sendRegion.len})
    }
    if (forced) {
      forcedClose(x, c, a)
      return
    }
    if (plant === 'SAN029') mark(x, plant, p, c, 'WSPCloseSocket took 1.5 s')
    if (plant === 'SAN030') mark(x, plant, p, c, 'the receive pending at close was completed with WSAETIMEDOUT instead of WSA_OPERATION_ABORTED')
    if (plant === 'SAN032') mark(x, plant, p, c, 'no WPUCloseSocketHandle after WSPCloseSocket')
    x.close(c, {
      state: 'CONNECTED',
      ms: plant === 'SAN029' ? 1500 : undefined,
      status: plant === 'SAN030' ? E.WSAETIMEDOUT : undefined,
      release: plant !== 'SAN032',
      keepTid: plant === 'SAN033',
    })
    if (plant === 'SAN033') {
      x.waitUs(50, 500)
      mark(x, plant, p, c, 'WSPDeregisterMemory on the descriptor after WSPCloseSocket returned')
      x.callRet(p, c.tid, 'WSPDeregisterMemory', {Socket: c.s, MemHandle: c.R!.handle}, -1, E.WSAENOTSOCK)
      x.releaseTid(p, c.tid)
      x.recycle(c)
    }
  }
  const closeA = (): void => {
    if (abortA) sh(a.p, a.tid, 'SwitchAbort', {SanSocket: a.s, Reason: 'application closed with pending requests'})
    x.deregister(a, 'S')
    x.close(a, {state: 'CONNECTED'})
  }
  if (forced || CLOSE_PLANTS.has(plant ?? '') || rng.chance(0.5)) {
    closeC()
    yield
    x.waitUs(20, 2000)
    closeA()
  } else {
    closeA()
    yield
    x.waitUs(20, 2000)
    closeC()
  }
  if (own) {
    x.waitUs(50, 500)
    x.close(own.sock)
  }
  if (plant === 'SAN032') x.wait(2500)
}

/**
 * The switch closes the connecting side to force completion of an RDMA read that is still
 * outstanding after the application cancelled its request; the provider aborts it, then the
 * switch completes the request.
 */
function forcedClose(x: Ctx, c: Sock, a: Sock): void {
  const C = c.p
  const rng = x.rng
  const id = ++C.appSerial
  const fn = C.rdmaRead ? 'WSPRdmaRead' : 'WSPRdmaWrite'
  const len = rng.int(4, 32) * 4096
  const desc = x.world.nextDescriptor()
  const buf = fn === 'WSPRdmaRead' ? c.R!.addr + 0x10000 : c.base + 0x100000
  x.shim(C, c.tid, 'AppRequest', {AppReqId: id, AppSocket: hex(0x200 + c.n * 4), Kind: fn === 'WSPRdmaRead' ? 'recv' : 'send', Blocking: true, BufAddr: hex(buf), BufLen: len})
  x.callRet(a.p, a.tid, 'WSPRegisterRdmaMemory', {Socket: a.s, RegAddr: hex(a.base + 0x800000), RegLen: len, MemFlags: MEM_READWRITE, DescriptorLenIn: 64}, 0, 0, {DescriptorOut: desc, DescriptorLenOut: 16})
  x.message(a, c, 48)
  if (fn === 'WSPRdmaWrite') {
    // The send region was deregistered for the close: this transfer uses a fresh registration.
    x.register(c, 'S', MEM_READ)
  }
  const op = x.post(c, fn, 4, len, buf, {poll: false, handle: fn === 'WSPRdmaRead' ? c.R!.handle : c.S!.handle, extra: {TargetDescriptor: desc, TargetDescriptorLen: 16, TargetOffset: 0}})
  x.shim(C, c.tid, 'SwitchMap', {AppReqId: id, SanSocket: c.s, Overlapped: [op.ov], RdmaRanges: [{Addr: hex(buf), Len: len}]})
  x.waitUs(50, 500)
  x.shim(C, undefined, 'AppCancel', {AppReqId: id})
  x.wait(rng.real(800, 3000))
  const call = x.call(C, c.tid, 'WSPCloseSocket', {Socket: c.s})
  x.waitUs(5, 40)
  x.complete(op, E.WSA_OPERATION_ABORTED, 0, {reason: 'flush-on-close', polled: false})
  if (c.recv) x.complete(c.recv, E.WSA_OPERATION_ABORTED, 0, {reason: 'flush-on-close', polled: false})
  c.recv = undefined
  x.ret(C, c.tid, call, 0)
  x.waitUs(20, 200)
  x.upcall(C, C.comp, 'WPUCloseSocketHandle', {SwitchSocket: c.h})
  x.shim(C, c.tid, 'AppComplete', {AppReqId: id, Status: E.WSA_OPERATION_ABORTED, Bytes: 0})
  x.releaseTid(C, c.tid)
  x.recycle(c)
  x.waitUs(20, 300)
  x.callRet(a.p, a.tid, 'WSPDeregisterRdmaMemory', {Socket: a.s, TargetDescriptor: desc, TargetDescriptorLen: 16})
}

/** A connect that times out (FD_CONNECT with WSAETIMEDOUT): the switch closes the SAN socket and falls back to TCP/IP. */
export function* connectTimeout(x: Ctx, C: Proc): Generator<void> {
  const c = connector(x, C)
  const dest = x.world.nowhere()
  x.callRet(C, c.tid, 'WSPConnect', {Socket: c.s, Addr: dest}, -1, E.WSAEWOULDBLOCK, {}, x.rng.real(30, 300))
  yield
  x.wait(x.rng.real(20, 400))
  x.connState(c, 'CONNECT', 'DISCONNECTED', 'cm-timeout')
  x.ev(C.pid, undefined, 'NetEventSignal', {Socket: c.s, EventHandle: c.ev, FdBit: 4, Error: E.WSAETIMEDOUT})
  x.waitUs(3, 40)
  enumConnect(x, c, E.WSAETIMEDOUT)
  x.waitUs(10, 200)
  x.close(c)
  if (C.shim) x.shim(C, undefined, 'TcpFallback', {AppSocket: hex(0x200 + c.n * 4), Dest: dest, Result: 0})
}

/** A pending connect the switch cancels by closing the SAN socket; the provider aborts it promptly. */
export function* connectCancelled(x: Ctx, C: Proc, plant?: 'SAN014' | 'SAN031'): Generator<void> {
  const c = connector(x, C)
  const dest = x.world.nowhere()
  if (plant === 'SAN014') mark(x, plant, C, c, 'WSPConnect returned WSAEWOULDBLOCK and stayed unresolved for 61 s')
  x.callRet(C, c.tid, 'WSPConnect', {Socket: c.s, Addr: dest}, -1, E.WSAEWOULDBLOCK, {}, x.rng.real(30, 300))
  yield
  x.wait(plant === 'SAN014' ? 61_000 : x.rng.real(1, 40))
  const call = x.call(C, c.tid, 'WSPCloseSocket', {Socket: c.s})
  x.waitUs(10, 80)
  x.ret(C, c.tid, call, 0)
  if (plant === 'SAN031') {
    x.waitUs(10, 100)
    mark(x, plant, C, c, 'FD_CONNECT signalled after the close that cancelled the connect')
    x.ev(C.pid, undefined, 'NetEventSignal', {Socket: c.s, EventHandle: c.ev, FdBit: 4, Error: 0})
  }
  x.waitUs(20, 200)
  x.upcall(C, C.comp, 'WPUCloseSocketHandle', {SwitchSocket: c.h})
  x.releaseTid(C, c.tid)
  x.recycle(c)
}

/** A connect refused with a no-fallback code (WSAECONNREFUSED) by a destination that is not in the trace. */
export function* connectRefused(x: Ctx, C: Proc, dest: string): Generator<void> {
  const c = connector(x, C)
  x.callRet(C, c.tid, 'WSPConnect', {Socket: c.s, Addr: dest}, -1, E.WSAEWOULDBLOCK, {}, x.rng.real(30, 300))
  yield
  x.wait(x.rng.real(2, 40))
  x.ev(C.pid, undefined, 'NetEventSignal', {Socket: c.s, EventHandle: c.ev, FdBit: 4, Error: E.WSAECONNREFUSED})
  x.waitUs(3, 40)
  mark(x, 'SAN015', C, c, `FD_CONNECT reports WSAECONNREFUSED for ${dest}: a no-fallback result`)
  enumConnect(x, c, E.WSAECONNREFUSED)
  x.waitUs(10, 200)
  x.close(c)
}

/** Two distinct processes (or the only one twice). */
export function pickPair(x: Ctx, procs: readonly Proc[]): [Proc, Proc] {
  const C = x.rng.pick(procs)
  if (procs.length < 2) return [C, C]
  let S = x.rng.pick(procs)
  while (S === C) S = x.rng.pick(procs)
  return [C, S]
}

/** A process other than `p` (or `p` itself when it is the only one). */
export function other(x: Ctx, procs: readonly Proc[], p: Proc): Proc {
  if (procs.length < 2) return p
  let o = x.rng.pick(procs)
  while (o === p) o = x.rng.pick(procs)
  return o
}

/** One of the concurrent session slots: sessions back to back until the trace is large enough. */
export function* slot(x: Ctx, procs: readonly Proc[], index: number): Generator<void> {
  let first = index === 0
  while (first || x.world.wantMore()) {
    x.world.sessionStarted(x)
    const [C, S] = pickPair(x, procs)
    // The first sessions of the trace show each kind once: a connection, a cancelled connect, a timed-out one.
    const kind = first ? 0 : x.count === 0 && index <= 2 ? 3 - index : x.rng.weighted([90, 5, 5])
    if (kind === 0) yield* connection(x, {client: C, server: S, dupTo: other(x, procs, C), showcase: first})
    else if (kind === 1) yield* connectTimeout(x, C)
    else yield* connectCancelled(x, C)
    x.world.sessionEnded(x)
    first = false
    x.pause(0.1, 80)
    yield
  }
}
