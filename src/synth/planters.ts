/**
 * Planters: one way per rule SAN001–SAN040 to plant exactly one violation of it in an
 * otherwise healthy simulated trace, and nothing that any other rule reports. Most are a
 * connection session that deviates at one point (sim-session.ts, `plant`); the others are
 * short incidents of their own. Each records what it planted (pid, socket, time) and the
 * findings the analyzer must report for it (always exactly one finding of its own rule: every
 * planter was designed so that no other rule co-fires, see the notes below).
 *
 * Co-firing avoided, by design:
 * - SAN004/SAN005 use WSPEventSelect failures that the switch retries at once (a failed event
 *   select left as is would make the connect a SAN012 violation, a close failure would be SAN029).
 * - SAN006 and SAN003 run in a short-lived process of their own: a refused mandatory extension
 *   makes any later use of it a second SAN006 finding, so that process uses none.
 * - SAN008's socket is closed without WPUCloseSocketHandle (it has no switch handle to release).
 * - SAN009 reissues the descriptor of an otherwise idle socket, which is then never closed
 *   (a second close would be SAN033, a release of its handle SAN032).
 * - SAN012's connect completes synchronously (an FD_CONNECT without WSPEventSelect would be SAN017).
 * - SAN019 accepts on a listening socket of its own, so that peers stay matched by address.
 * - SAN025's two sends complete inline (completions name an OVERLAPPED, so a reused one could
 *   only complete the later operation and leave the first pending: SAN030/SAN032).
 * - SAN027 notifies a poll-mode operation (a notify-mode one never notified stays pending: SAN030/SAN032).
 * - SAN030 completes the pending receive at close with a wrong status (one never completed
 *   would also be SAN032 and SAN027).
 * - SAN035 completes the cancelled request while its RDMA is outstanding; the RDMA completes
 *   well within the wait limit afterwards.
 * - SAN036 is the last transfer of its session; SAN040's accepting side closes within the
 *   negotiation window, so the peer's message is not judged lost.
 */
import {UsageError} from '../util/errors.js'
import {type Ctx, E, type Proc} from './sim-ctx.js'
import {connection, connectCancelled, connectRefused, mark, other, pickPair, startup} from './sim-session.js'

export const RULE_IDS: readonly string[] = Array.from({length: 40}, (_, i) => `SAN${String(i + 1).padStart(3, '0')}`)

/** Catalogue sections (wsd-rules.md §2) and the rules in each. */
export const SECTIONS: ReadonlyArray<{letter: string; name: string; title: string; rules: string[]}> = [
  {letter: 'A', name: 'contract', title: 'Contract-wide', rules: range(1, 6)},
  {letter: 'B', name: 'sockets', title: 'Socket creation and handles', rules: range(7, 11)},
  {letter: 'C', name: 'connecting', title: 'Connecting', rules: range(12, 17)},
  {letter: 'D', name: 'accepting', title: 'Listening and accepting', rules: range(18, 19)},
  {letter: 'E', name: 'memory', title: 'Memory registration', rules: range(20, 23)},
  {letter: 'F', name: 'datapath', title: 'Data path and completion', rules: range(24, 28)},
  {letter: 'G', name: 'close', title: 'Close and cancel', rules: range(29, 36)},
  {letter: 'H', name: 'duplication', title: 'Duplication', rules: range(37, 38)},
  {letter: 'I', name: 'options', title: 'Options and session', rules: range(39, 40)},
]

function range(a: number, b: number): string[] {
  return RULE_IDS.slice(a - 1, b)
}

/** What a planter may use besides its context. */
export interface PlantWorld {
  readonly procs: readonly Proc[]
  /** A new short-lived process, used by no other actor. */
  miniProc(): Proc
  /** A destination that refuses connects (no process of the trace listens there, and no TCP/IP fallback goes there). */
  refusingDest(): string
}

export interface Planter {
  rule: string
  /** How the violation is planted (for the sidecar and the documentation). */
  how: string
  run(x: Ctx, w: PlantWorld): Generator<void>
}

/** A connection session with the planted deviation. */
function session(rule: string, how: string): Planter {
  return {
    rule,
    how,
    *run(x, w) {
      const [C, S] = pickPair(x, w.procs)
      yield* connection(x, {client: C, server: S, dupTo: other(x, w.procs, C), plant: rule})
    },
  }
}

function* incident(x: Ctx, w: PlantWorld, body: (p: Proc, tid: number) => void): Generator<void> {
  const p = x.rng.pick(w.procs)
  const tid = x.acquireTid(p)
  body(p, tid)
  x.releaseTid(p, tid)
}

const PLANTERS: Planter[] = [
  {
    rule: 'SAN001',
    how: 'WSPCancelBlockingCall sent to the provider (which refuses it with WSAEOPNOTSUPP)',
    *run(x, w) {
      yield* incident(x, w, (p, tid) => {
        mark(x, 'SAN001', p, undefined, 'the switch called WSPCancelBlockingCall')
        x.callRet(p, tid, 'WSPCancelBlockingCall', {}, -1, E.WSAEOPNOTSUPP)
      })
    },
  },
  session('SAN002', 'WSPShutdown forwarded on a connected socket'),
  {
    rule: 'SAN003',
    how: 'a short-lived process calls WSPCleanup twice for one WSPStartupEx (the provider answers the second with WSANOTINITIALISED)',
    *run(x, w) {
      const p = w.miniProc()
      const tid = x.acquireTid(p)
      startup(x, p, tid)
      yield
      x.wait(x.rng.real(1, 20))
      x.callRet(p, tid, 'WSPCleanup', {})
      x.waitUs(20, 500)
      mark(x, 'SAN003', p, undefined, 'WSPCleanup without a matching WSPStartupEx')
      x.callRet(p, tid, 'WSPCleanup', {}, -1, E.WSANOTINITIALISED)
    },
  },
  session('SAN004', 'WSPEventSelect fails with WSAEINPROGRESS (the switch retries)'),
  session('SAN005', 'WSPEventSelect fails with WSAENOBUFS (the switch retries)'),
  {
    rule: 'SAN006',
    how: 'a short-lived process whose provider refuses the mandatory WSPRdmaWrite pointer (WSAENOBUFS); the switch then uses no SAN',
    *run(x, w) {
      const p = w.miniProc()
      const tid = x.acquireTid(p)
      startup(x, p, tid, {fn: 'WSPRdmaWrite', errno: E.WSAENOBUFS, plant: 'SAN006'})
      yield
      x.wait(x.rng.real(1, 20))
      x.callRet(p, tid, 'WSPCleanup', {})
    },
  },
  {
    rule: 'SAN007',
    how: 'WSPSocket for a UDP datagram socket (the provider refuses it with WSAESOCKTNOSUPPORT)',
    *run(x, w) {
      yield* incident(x, w, (p, tid) => {
        mark(x, 'SAN007', p, undefined, 'WSPSocket with SOCK_DGRAM / IPPROTO_UDP')
        x.callRet(p, tid, 'WSPSocket', {Af: 2, Type: 2, Protocol: 17, Flags: 1, ProviderReserved: '0x0'}, -1, E.WSAESOCKTNOSUPPORT)
      })
    },
  },
  {
    rule: 'SAN008',
    how: 'WSPSocket returns a descriptor without calling WPUCreateSocketHandle; the switch binds and closes it',
    *run(x, w) {
      const p = x.rng.pick(w.procs)
      const k = x.newSock(p)
      mark(x, 'SAN008', p, k, 'WSPSocket returned a descriptor without WPUCreateSocketHandle')
      x.createSocket(k, {handle: false})
      x.callRet(p, k.tid, 'WSPBind', {Socket: k.s, Addr: `${p.ip}:${x.world.nextPort()}`})
      yield
      x.waitUs(50, 2000)
      x.close(k, {release: false})
    },
  },
  {
    rule: 'SAN009',
    how: 'WSPSocket returns the descriptor of a socket that is still open (bound, never closed)',
    *run(x, w) {
      const p = x.rng.pick(w.procs)
      const k1 = x.newSock(p)
      x.createSocket(k1)
      x.callRet(p, k1.tid, 'WSPBind', {Socket: k1.s, Addr: `${p.ip}:${x.world.nextPort()}`})
      yield
      x.waitUs(50, 2000)
      const k2 = x.newSock(p)
      k2.s = k1.s
      mark(x, 'SAN009', p, k2, `WSPSocket returned ${k1.s}, which is still open`)
      x.createSocket(k2)
      x.callRet(p, k2.tid, 'WSPBind', {Socket: k2.s, Addr: `${p.ip}:${x.world.nextPort()}`})
      yield
      x.waitUs(50, 2000)
      x.close(k2, {recycle: false})
      x.releaseTid(p, k1.tid)
    },
  },
  session('SAN010', 'WPUQuerySocketHandleContext with the provider descriptor instead of the switch handle (rejected with WSAENOTSOCK)'),
  session('SAN011', 'WSPSetSockOpt(SO_DEBUG) before WSPBind on a new socket'),
  session('SAN012', 'WSPConnect without WSPEventSelect(FD_CONNECT), completing synchronously'),
  session('SAN013', 'WSPConnect takes 1.2–1.6 s to return WSAEWOULDBLOCK'),
  {
    rule: 'SAN014',
    how: 'a nonblocking connect left unresolved for 61 s, then cancelled by close',
    *run(x, w) {
      yield* connectCancelled(x, x.rng.pick(w.procs), 'SAN014')
    },
  },
  {
    rule: 'SAN015',
    how: 'FD_CONNECT reports WSAECONNREFUSED (a no-fallback result) for a destination that is not in the trace',
    *run(x, w) {
      yield* connectRefused(x, x.rng.pick(w.procs), w.refusingDest())
    },
  },
  session('SAN016', 'a second WSPConnect on a socket whose connect failed (WSAETIMEDOUT)'),
  session('SAN017', 'FD_CONNECT reported twice for one connect'),
  session('SAN018', 'WSPAccept without FD_ACCEPT reported by WSPEnumNetworkEvents'),
  session('SAN019', 'WSPAccept accepts without calling the condition function (on a listening socket of its own)'),
  session('SAN020', 'WSPSend from a buffer outside the socket\'s registrations'),
  session('SAN021', 'WSPSend from a region registered MEM_WRITE only'),
  session('SAN022', 'WSPDeregisterMemory of a handle never registered (refused with WSAEINVAL)'),
  session('SAN023', 'WSPSend of 100000 bytes on a socket whose SO_MAX_MSG_SIZE is 65536'),
  session('SAN024', 'WSPSend with MSG_OOB'),
  session('SAN025', 'two threads send with the same OVERLAPPED at once (both complete inline)'),
  session('SAN026', 'a second WPUCompleteOverlappedRequest for a completed send'),
  session('SAN027', 'WPUCompleteOverlappedRequest for a poll-mode send (hEvent bit 0 set)'),
  session('SAN028', 'a 65536-byte receive completes with 70000 bytes'),
  session('SAN029', 'WSPCloseSocket takes 1.5 s'),
  session('SAN030', 'the receive pending at close completes with WSAETIMEDOUT instead of WSA_OPERATION_ABORTED'),
  {
    rule: 'SAN031',
    how: 'FD_CONNECT signalled after the close that cancelled a pending connect',
    *run(x, w) {
      yield* connectCancelled(x, x.rng.pick(w.procs), 'SAN031')
    },
  },
  session('SAN032', 'no WPUCloseSocketHandle after WSPCloseSocket'),
  session('SAN033', 'WSPDeregisterMemory on a descriptor after WSPCloseSocket returned (the provider answers WSAENOTSOCK)'),
  session('SAN034', 'a cancelled switch-buffered application send completed 1.5 s after its cancel'),
  session('SAN035', 'a cancelled application request completed while its RDMA is outstanding'),
  session('SAN036', 'WSPSend after SwitchAbort on the socket'),
  session('SAN037', 'WSPDuplicateSocket with the send registration still live'),
  session('SAN038', 'WSPDuplicateSocket returns with a receive still pending'),
  session('SAN039', 'WSPIoctl(FIONBIO) forwarded to the provider (refused with WSAEOPNOTSUPP)'),
  session('SAN040', 'the provider drops an accepted connection whose peer\'s negotiation message came before a receive was posted'),
]

const BY_RULE = new Map(PLANTERS.map((p) => [p.rule, p]))

export function planterFor(rule: string): Planter {
  const p = BY_RULE.get(rule)
  if (!p) throw new UsageError(`no planter for ${rule}`)
  return p
}

export const planters: readonly Planter[] = PLANTERS

/**
 * Parses `--inject`: `SAN013=5,SAN030=2` (rule ids case-insensitive; `all=N` plants N of every
 * rule). Counts are non-negative integers; a rule may be named once.
 */
export function parseInject(text: string): Record<string, number> {
  const out: Record<string, number> = {}
  const t = text.trim()
  if (t === '') return out
  for (const raw of t.split(',')) {
    const item = raw.trim()
    const m = /^([A-Za-z0-9]+)\s*=\s*(\S+)$/.exec(item)
    if (!m) throw new UsageError(`invalid --inject item '${item}': expected RULE=COUNT, e.g. SAN013=5 (several separated by commas)`)
    const id = m[1].toUpperCase()
    const count = m[2]
    if (!/^\d+$/.test(count)) throw new UsageError(`invalid --inject count '${count}' for ${m[1]}: expected a non-negative integer`)
    const n = Number(count)
    if (!Number.isSafeInteger(n)) throw new UsageError(`invalid --inject count '${count}' for ${m[1]}: too large`)
    const ids = id === 'ALL' ? RULE_IDS : [id]
    if (id !== 'ALL' && !BY_RULE.has(id)) throw new UsageError(`unknown rule '${m[1]}' in --inject (rules are SAN001 to SAN040, or all)`)
    for (const r of ids) {
      if (Object.hasOwn(out, r) && id !== 'ALL') throw new UsageError(`--inject names ${r} twice`)
      out[r] = (id === 'ALL' ? (out[r] ?? 0) : 0) + n
    }
  }
  return out
}

/** Validates counts given programmatically (rule ids known or `all`, counts non-negative integers). */
export function checkInject(inject: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(inject)) {
    const id = k.toUpperCase()
    if (id !== 'ALL' && !BY_RULE.has(id)) throw new UsageError(`unknown rule '${k}' to inject (rules are SAN001 to SAN040, or all)`)
    if (!Number.isSafeInteger(v) || v < 0) throw new UsageError(`invalid count ${v} for ${id}: expected a non-negative integer`)
    if (v > 0) for (const r of id === 'ALL' ? RULE_IDS : [id]) out[r] = (out[r] ?? 0) + v
  }
  return out
}
