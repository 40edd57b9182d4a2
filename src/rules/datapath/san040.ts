import {errorName} from '../../model/constants.js'
import {type Ev, num, str} from '../../model/event.js'
import {succeeded} from '../../model/result.js'
import type {Op, Sock, Step} from '../../model/state.js'
import {formatDuration as fd} from '../../util/duration.js'
import {C} from '../refs.js'
import type {RuleListener, RuleModule} from '../types.js'
import {CONNECTION_ERRORS, Completions, gorResult, isTransfer, isWildcardHost, opName, requested, resultText, retClass, splitAddr, when} from './common.js'

/** Largest session-negotiation message (C:using-session-protocol). */
const NEGOTIATION_MAX = 256
const DATA_FNS = new Set(['WSPRegisterMemory', 'WSPRecv', 'WSPSend', 'WSPRdmaWrite', 'WSPRdmaRead'])
const SEND_FNS = new Set(['WSPSend', 'WSPRdmaWrite', 'WSPRdmaRead'])
const GONE = new Set(['CLOSING', 'CLOSED', 'RELEASED', 'DUPLICATED_OUT'])
/** Provider connection states (ConnState.New) that mean the connection broke. */
const BROKEN_STATE = /disconn|closed|error|fail|reset|abort|broken|dead/i

interface Conn {
  sock: Sock
  kind: 'accepted' | 'connected'
  /** The event at which the connection was established. */
  at: Ev
  /** The WSPConnect call (connecting side). */
  start?: Ev
  local?: string
  remote?: string
  /** `local` and `remote` split into host and port (once, for pairing). */
  localAddr?: {host: string; port: number}
  remoteAddr?: {host: string; port: number}
  peer?: Conn
  firstRecv?: Op
  firstRecvCall?: Ev
  firstRecvRet?: Ev
  firstSend?: Op
  firstData?: string
  sawRecv: boolean
  orderReported: boolean
  dataFlowed: boolean
  /** (a) judged: failure reported, or negotiation over without failure. */
  judged: boolean
  closed?: Ev
  /** (b) for the message this side sends: judged, timer armed. */
  sent: {judged: boolean; timer: boolean}
}

/** SAN040: an early session-negotiation message must not break the new connection. */
export const SAN040: RuleModule = {
  meta: {
    id: 'SAN040',
    title: 'Early session-negotiation message must not break the connection',
    severity: 'warning',
    fault: 'provider',
    section: 'I. Options and session',
    refs: [C('accepting-connection-requests'), C('initiating-a-connection'), C('using-session-protocol')],
    docs: {
      checks:
        'For each new connection (accepted, or connected by WSPConnect/FD_CONNECT): a connection failure (a completion or data-path call failing with WSAECONNRESET, WSAECONNABORTED or WSAENETRESET, or a provider ConnState change to a broken state) before the first WSPRecv on it returned, or within the negotiation window after the first WSPRecv was posted while no application data has flowed, is a warning; failures after the switch closed or aborted the socket, or after the peer closed, do not count. Two-sided (both processes in the trace, peers matched by address and timing): the peer\'s first WSPSend of at most 256 bytes completes successfully but this side\'s first WSPRecv completion is not that message (an error, another byte count, or none within the window): warning. Also (switch, info): the first data-path calls on a new connection are not in the order WSPRegisterMemory, WSPRecv, WSPSend.',
      why: 'Right after connect/accept the two switches exchange one session-negotiation message. On the accepting side the peer\'s message can arrive before any receive is posted; a provider without NIC flow control that drops the connection (or the message) then breaks every fresh connection under load, and the application sees connects that succeed and fail at once.',
      fix: 'Provider: buffer messages that arrive before receives are posted in private memory and hand them over one-to-one to the first posted receives, never reset the connection for it. Switch: register the message buffers, post the receives, then send the negotiation message.',
      example: [
        '+0.000 s  SpiReturn WSPAccept Socket=0x2b0 Rc=0x2c0',
        '+0.001 s  ConnState Socket=0x2c0 Old=CONNECTED New=DISCONNECTED Reason=recv-not-posted',
        '+0.002 s  SpiCall WSPRecv Socket=0x2c0 Overlapped=0x7040',
        '+0.002 s  SpiReturn WSPRecv Rc=-1 Errno=WSAECONNRESET   <- connection broken before the first receive was posted',
      ],
    },
    thresholds: {
      sessionNegotiationWindow: {
        flag: 'session-negotiation-window',
        default: '5000ms',
        description: 'time after the first WSPRecv of a new connection during which a connection failure, before any application data, counts as a session-negotiation failure',
      },
    },
    needs: [
      {keys: ['ret:WSPAccept', 'ret:WSPConnect'], why: 'new connections (WSPAccept or WSPConnect returns)'},
      {keys: ['call:WSPRecv', 'call:WSPSend', 'call:WSPRegisterMemory'], why: 'data-path calls (WSPRegisterMemory, WSPRecv, WSPSend)'},
    ],
    instance: 'new connection (accepted or connected socket)',
  },
  create(ctx) {
    const win = ctx.t.sessionNegotiationWindow
    const tr = new Completions()
    const conns = new Map<Sock, Conn>()
    const unpaired = new Set<Conn>()
    const bound = new WeakMap<Sock, string>()
    /** Last condition callback per process and thread (addresses of the connection being accepted). */
    const conditions = new Map<string, Ev>()

    const track = (k: Sock, kind: Conn['kind'], at: Ev, local?: string, remote?: string, start?: Ev): void => {
      if (conns.has(k)) return
      const c: Conn = {sock: k, kind, at, start, local, remote, localAddr: splitAddr(local), remoteAddr: splitAddr(remote), sawRecv: false, orderReported: false, dataFlowed: false, judged: false, sent: {judged: false, timer: false}}
      conns.set(k, c)
      pair(c)
    }

    /** Matches a connecting side with an accepting side: same destination, and same source port or overlapping timing. */
    const matches = (cn: Conn, ac: Conn): boolean => {
      const dest = cn.remoteAddr
      const callee = ac.localAddr
      if (!dest || !callee || dest.port !== callee.port) return false
      if (!isWildcardHost(callee.host) && callee.host !== dest.host) return false
      const src = cn.localAddr
      const caller = ac.remoteAddr
      if (src && caller && src.port !== 0) return src.port === caller.port && (isWildcardHost(src.host) || src.host === caller.host)
      const from = cn.start?.ts ?? cn.at.ts
      return ac.at.ts >= from && ac.at.ts <= cn.at.ts + win
    }

    const pair = (c: Conn): void => {
      const cands: Conn[] = []
      for (const o of unpaired) if (o.kind !== c.kind && (c.kind === 'connected' ? matches(c, o) : matches(o, c))) cands.push(o)
      if (cands.length !== 1) {
        if (cands.length > 1) ctx.inconclusive('several candidate peers for a connection: two-sided negotiation check skipped')
        unpaired.add(c)
        return
      }
      const o = cands[0]
      unpaired.delete(o)
      c.peer = o
      o.peer = c
      deliver(c, c.at.ts)
      deliver(o, c.at.ts)
    }

    const describeConn = (c: Conn): string => `${c.kind === 'accepted' ? 'accepted' : 'outgoing'} connection ${c.sock.s} (process ${c.sock.pid})`

    /** (b): the message `x` sent first must be what its peer's first receive completes with. */
    const deliver = (x: Conn, now: number, final = false): void => {
      const y = x.peer
      const op = x.firstSend
      if (!y || !op || x.sent.judged) return
      const sc = tr.first(op)
      if (!sc) return
      if (sc.status !== 0) {
        x.sent.judged = true
        return
      }
      const size = sc.bytes ?? requested(op)
      const req = requested(op) ?? size
      if (req !== undefined && req > NEGOTIATION_MAX) {
        x.sent.judged = true
        return ctx.inconclusive(`first WSPSend larger than ${NEGOTIATION_MAX} bytes: not a session-negotiation message`)
      }
      const r = y.firstRecv
      const rc = r ? tr.first(r) : undefined
      const closedFirst = (ts: number): boolean => !!y.closed && y.closed.ts <= ts
      if (rc && r) {
        x.sent.judged = true
        if (closedFirst(rc.ev.ts)) return ctx.inconclusive('the receiving side was closed before its first receive completed')
        ctx.checked()
        if (rc.status === 0 && (rc.bytes === undefined || size === undefined || rc.bytes === size)) return
        ctx.report({
          message: `${describeConn(y)} did not get the peer's session-negotiation message in its first WSPRecv: ${x.sock.s} (process ${x.sock.pid}) sent ${size ?? '?'} bytes (${opName(op)} completed at ${when(sc.ev)}) but ${opName(r)} completed with ${resultText(rc)}`,
          sock: y.sock,
          evidence: [
            ['peer negotiation send', op.call],
            ['peer send completed', sc.ev],
            ['first receive', r.call],
            ['first receive completed', rc.ev],
          ],
          measured: {sentBytes: size ?? '', receivedBytes: rc.bytes ?? '', status: rc.status ?? ''},
        })
        return
      }
      if (final) {
        x.sent.judged = true
        if (closedFirst(now)) return ctx.inconclusive('the receiving side was closed before its first receive completed')
        ctx.checked()
        ctx.report({
          message: `${describeConn(y)} never got the peer's session-negotiation message: ${x.sock.s} (process ${x.sock.pid}) sent ${size ?? '?'} bytes (${opName(op)} completed at ${when(sc.ev)}) but ${r ? `${opName(r)} had not completed` : 'no WSPRecv was posted'} ${fd(win)} later`,
          sock: y.sock,
          ts: now,
          evidence: [
            ['peer negotiation send', op.call],
            ['peer send completed', sc.ev],
            ['first receive', r?.call],
          ],
          measured: {sentBytes: size ?? '', windowNs: win},
        })
        return
      }
      if (x.sent.timer) return
      x.sent.timer = true
      const deadline = Math.max(sc.ev.ts, now) + win
      ctx.at(
        deadline,
        () => deliver(x, deadline, true),
        () => {
          if (!x.sent.judged) ctx.inconclusive('the trace ended before the peer\'s negotiation message could be received')
        },
      )
    }

    /** (a): a connection failure during session negotiation. */
    const failure = (c: Conn, ev: Ev, what: string): void => {
      const k = c.sock
      if (c.judged || GONE.has(k.state) || k.abort) return
      if (c.peer?.closed && c.peer.closed.ts <= ev.ts) return
      let phase: string
      if (!c.firstRecvRet) phase = c.firstRecvCall ? 'before its first WSPRecv returned' : 'before any WSPRecv was posted'
      else if (c.firstRecvCall && ev.ts - c.firstRecvCall.ts <= win && !c.dataFlowed) phase = `${fd(ev.ts - c.firstRecvCall.ts)} after its first WSPRecv was posted, before any application data`
      else return
      c.judged = true
      ctx.checked()
      ctx.report({
        message: `${describeConn(c)} broke during session negotiation, ${phase}: ${what}; a negotiation message that arrives before receives are posted must be buffered, not break the connection`,
        sock: k,
        evidence: [
          ['connection established', c.at],
          ['first receive', c.firstRecvCall],
          ['failure', ev],
        ],
        measured: {windowNs: win},
      })
    }

    /** A completion signal (event, status, bytes) of an operation. */
    const signal = (op: Op | undefined, ev: Ev, status: number | undefined, bytes: number | undefined, what: string): void => {
      const c = op?.sock && conns.get(op.sock)
      if (!op || !c) return
      if (status !== undefined && CONNECTION_ERRORS.has(status)) failure(c, ev, `${opName(op)} ${what} ${errorName(status)}`)
      if (tr.first(op)?.ev === ev && status === 0 && (bytes ?? 0) > 0 && isTransfer(op) && op !== c.firstSend && op !== c.firstRecv) c.dataFlowed = true
      if (op === c.firstSend) deliver(c, ev.ts)
      if (op === c.firstRecv && c.peer) deliver(c.peer, ev.ts)
    }

    const order = (step: Step): void => {
      const k = step.sock
      const c = k && conns.get(k)
      if (!c || GONE.has(k.state)) return
      const fn = step.ev.fn
      if (fn === 'WSPRecv' && !c.firstRecvCall) {
        c.firstRecvCall = step.ev
        c.firstRecv = step.call?.op
      }
      if (fn === 'WSPSend' && !c.firstSend && step.call?.op) c.firstSend = step.call.op
      const first = c.firstData === undefined
      c.firstData ??= fn
      let bad: string | undefined
      if (first && fn !== 'WSPRegisterMemory') bad = `the first data-path call is ${fn}, not WSPRegisterMemory`
      else if (SEND_FNS.has(fn) && !c.sawRecv) bad = `${fn} before any WSPRecv was posted`
      if (fn === 'WSPRecv') c.sawRecv = true
      if (!bad || c.orderReported) return
      c.orderReported = true
      ctx.report({
        message: `${describeConn(c)}: ${bad} (expected WSPRegisterMemory, then WSPRecv, then WSPSend for the session-negotiation exchange)`,
        severity: 'info',
        fault: 'switch',
        sock: k,
        evidence: [
          ['connection established', c.at],
          ['call', step.ev],
        ],
      })
    }

    const forget = (step: Step): void => {
      const c = step.sock && conns.get(step.sock)
      if (!c) return
      c.closed ??= step.ev
      if (!c.judged) {
        c.judged = true
        ctx.checked()
      }
      conns.delete(c.sock)
      unpaired.delete(c)
    }

    const handlers: RuleListener = {
      'call:WSPBind': (step) => {
        const a = str(step.ev.f.Addr)
        if (step.sock && a) bound.set(step.sock, a)
      },
      'cb:Condition': (step) => {
        conditions.set(`${step.ev.pid}:${step.ev.tid}`, step.ev)
      },
      'ret:WSPAccept': (step) => {
        const call = step.call?.ev
        const key = `${step.ev.pid}:${step.ev.tid}`
        const cond = conditions.get(key)
        conditions.delete(key)
        if (!step.created || !call) return
        const c = cond && cond.ts >= call.ts ? cond : undefined
        const listen = step.call?.sock
        track(step.created, 'accepted', step.ev, str(c?.f.CalleeAddr) ?? (listen ? bound.get(listen) : undefined), str(c?.f.CallerAddr))
      },
      'ret:WSPConnect': (step) => {
        const k = step.sock
        if (k && num(step.ev.f.Rc) === 0 && k.state === 'CONNECTED' && k.role !== 'DUP_IN') track(k, 'connected', step.ev, bound.get(k), str(k.connectCall?.f.Addr), k.connectCall)
      },
      'ret:WSPEnumNetworkEvents': (step) => {
        const k = step.sock
        if (k && step.before === 'CONNECTING' && k.state === 'CONNECTED') track(k, 'connected', step.ev, bound.get(k), str(k.connectCall?.f.Addr), k.connectCall)
      },
      'ret:*': (step) => {
        const ev = step.ev
        if (!DATA_FNS.has(ev.fn)) return
        const k = step.sock
        const c = k && conns.get(k)
        if (!c) return
        const op = step.call?.op
        const err = num(ev.f.Errno)
        if (op && op.ret === ev) {
          const cls = retClass(op)
          if (cls === 'immediate') signal(op, ev, 0, num(ev.f.BytesOut), 'completed inline with')
          else if (cls === 'failed') signal(op, ev, err, undefined, 'failed with')
        } else if (succeeded(ev) === false && err !== undefined && CONNECTION_ERRORS.has(err)) failure(c, ev, `${ev.fn} failed with ${errorName(err)}`)
        if (ev.fn === 'WSPRecv' && step.call?.ev === c.firstRecvCall) c.firstRecvRet ??= ev
      },
      'up:WPUCompleteOverlappedRequest': (step) => signal(step.op, step.ev, num(step.ev.f.DwError), num(step.ev.f.CbTransferred), 'completed with'),
      'prov:OpDone': (step) => signal(step.op, step.ev, num(step.ev.f.Error), num(step.ev.f.Bytes), 'completed with'),
      'ret:WSPGetOverlappedResult': (step) => {
        const g = gorResult(step)
        if (!g?.op || !g.final) return
        const cpl = {ev: step.ev, status: g.status, bytes: g.bytes}
        if (tr.onGor(g.op, cpl)) signal(g.op, cpl.ev, cpl.status, cpl.bytes, 'completed with')
      },
      'prov:ConnState': (step) => {
        const k = step.sock
        const c = k && conns.get(k)
        const to = str(step.ev.f.New)
        if (c && to && BROKEN_STATE.test(to)) failure(c, step.ev, `the provider moved the connection to ${to}${str(step.ev.f.Reason) ? ` (${str(step.ev.f.Reason)})` : ''}`)
      },
      // Once the switch closes the socket (or the provider releases it) its negotiation is over;
      // a paired peer keeps its own reference for the two-sided check.
      'call:WSPCloseSocket': (step) => forget(step),
      'up:WPUCloseSocketHandle': (step) => forget(step),
      end: () => {
        const last = ctx.model.lastTs
        for (const c of conns.values()) {
          if (c.judged) continue
          if (c.firstRecvCall && (c.dataFlowed || last - c.firstRecvCall.ts > win) && c.firstRecvRet) ctx.checked()
          else ctx.inconclusive('the trace ended during session negotiation')
        }
        conns.clear()
        unpaired.clear()
      },
    }
    for (const fn of DATA_FNS) handlers[`call:${fn}`] = order
    return handlers
  },
}
