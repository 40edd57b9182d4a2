import {FD_ACCEPT, FD_ACCEPT_BIT, errorName} from '../../model/constants.js'
import type {Ev} from '../../model/event.js'
import {num} from '../../model/event.js'
import {succeeded} from '../../model/result.js'
import type {Sock, Step} from '../../model/state.js'
import {formatOffset} from '../../util/duration.js'
import {C, R} from '../refs.js'
import type {RuleModule} from '../types.js'
import {fdConnectOf, fdName, maskText} from './util.js'

const WSAENOTCONN = 10057
const DATA_PATH = ['WSPSend', 'WSPRecv', 'WSPRdmaWrite', 'WSPRdmaRead', 'WSPRegisterMemory', 'WSPRegisterRdmaMemory']

/** SAN017: only selected events are signalled/reported, one FD_CONNECT per connect, FD_ACCEPT only on listeners. */
export const SAN017: RuleModule = {
  meta: {
    id: 'SAN017',
    title: 'Network-event reporting consistency',
    severity: 'warning',
    fault: 'provider',
    section: 'C. Connecting',
    refs: [R('ff566287'), R('ff566284'), C('accepting-connection-requests')],
    docs: {
      checks:
        'Each NetEventSignal and each WSPEnumNetworkEvents return is compared with the socket\'s current WSPEventSelect mask: a signalled or enumerated event not in the mask is a finding. More than one FD_CONNECT reported (by WSPEnumNetworkEvents) for one WSPConnect, or FD_CONNECT on a socket with no WSPConnect, is a finding. After FD_CONNECT reported success, a data-path call (WSPSend, WSPRecv, WSPRdmaWrite, WSPRdmaRead, WSPRegisterMemory, WSPRegisterRdmaMemory) failing with WSAENOTCONN before the socket is closed is a finding. FD_ACCEPT reported on a socket that is not listening is a finding.',
      why: 'The switch drives its connect and accept logic from these events: an unselected or spurious event wakes it for nothing or makes it accept on a connecting socket; a duplicate FD_CONNECT makes it process a connect twice; a "connected" socket that then answers WSAENOTCONN makes the switch believe the connection succeeded and then fail the application\'s first transfer instead of falling back to TCP/IP.',
      fix: 'In the provider, record and signal only the events of the last WSPEventSelect mask, report FD_CONNECT exactly once per connect (clear it when enumerated), report FD_ACCEPT only for listening sockets, and report FD_CONNECT success only once the connection is usable for transfers.',
      example: [
        '+0.000 s  SpiCall WSPEventSelect Socket=0x2a0 EventHandle=0x1f0 NetworkEvents=0x10',
        '+0.050 s  NetEventSignal Socket=0x2a0 EventHandle=0x1f0 FdBit=3   <- FD_ACCEPT was not selected',
      ],
    },
    thresholds: {},
    needs: [
      {keys: ['sig:NetEvent', 'ret:WSPEnumNetworkEvents'], why: 'network-event signals or WSPEnumNetworkEvents returns'},
      {keys: ['ret:WSPEventSelect'], why: 'WSPEventSelect returns (the selected event mask)'},
    ],
    instance: 'network-event signal or WSPEnumNetworkEvents return',
  },
  create(ctx) {
    /** FD_CONNECT reports since the last WSPConnect, per socket. */
    const reports = new Map<Sock, {connect: Ev; count: number; first?: Ev}>()
    /** Sockets connected by an FD_CONNECT with iErrorCode 0, until closed. */
    const connectedByFd = new Map<Sock, Ev>()

    /** The socket's selected mask, or why it cannot be judged. */
    const maskOf = (k: Sock): number | string => {
      const sel = k.evSelect
      if (!sel) return k.state === 'UNKNOWN' || !k.created ? 'socket created before the trace began (its WSPEventSelect is not in the trace)' : 0
      return sel.mask ?? 'WSPEventSelect without a NetworkEvents field'
    }

    const selectText = (k: Sock): string => (k.evSelect ? `the last WSPEventSelect mask is ${maskText(k.evSelect.mask ?? 0)}` : 'no WSPEventSelect succeeded on it')

    const dataPath = (step: Step): void => {
      const k = step.sock
      const fd = k && connectedByFd.get(k)
      if (!k || !fd || k.closeCall) return
      if (succeeded(step.ev) !== false || num(step.ev.f.Errno) !== WSAENOTCONN) return
      connectedByFd.delete(k)
      ctx.report({
        message: `${step.ev.fn} on ${k.s} failed with ${errorName(WSAENOTCONN)} after FD_CONNECT reported success at ${formatOffset(fd.ts)} and before any close: the provider reported a connection that is not usable`,
        sock: k,
        evidence: [['FD_CONNECT success', fd], ['call', step.call?.ev], ['failure', step.ev]],
      })
    }

    const handlers: Record<string, (step: Step) => void> = {
      'call:WSPConnect': (step) => {
        if (step.sock) reports.set(step.sock, {connect: step.ev, count: 0})
      },
      'call:WSPCloseSocket': (step) => {
        if (!step.sock) return
        reports.delete(step.sock)
        connectedByFd.delete(step.sock)
      },
      'sig:NetEvent': (step) => {
        const k = step.sock
        const bit = num(step.ev.f.FdBit)
        if (!k || bit === undefined) return ctx.inconclusive('NetEventSignal without Socket or FdBit')
        const mask = maskOf(k)
        if (typeof mask === 'string') return ctx.inconclusive(mask)
        ctx.checked()
        if (mask & (1 << bit)) return
        ctx.report({
          message: `${fdName(bit)} signalled on ${k.s} (event ${step.ev.f.EventHandle ?? 'not traced'}) but ${selectText(k)}: only selected events may be recorded and signalled`,
          sock: k,
          evidence: [['event select', k.evSelect?.call], ['signal', step.ev]],
          measured: {fdBit: bit, mask},
        })
      },
      'ret:WSPEnumNetworkEvents': (step) => {
        const k = step.sock
        if (!k || num(step.ev.f.Rc) !== 0) return
        const out = num(step.ev.f.NetworkEventsOut)
        if (out === undefined) return ctx.inconclusive('WSPEnumNetworkEvents return without NetworkEventsOut')
        const before = step.before ?? 'UNKNOWN'
        let unselected = out
        if (out & FD_ACCEPT) {
          if (before === 'UNKNOWN') ctx.inconclusive('FD_ACCEPT on a socket created before the trace began')
          else if (before !== 'LISTENING') {
            unselected &= ~FD_ACCEPT
            ctx.report({
              message: `WSPEnumNetworkEvents reported ${fdName(FD_ACCEPT_BIT)} on ${k.s}, which is not listening (state ${before})`,
              sock: k,
              evidence: [['socket created', k.created], ['enumeration', step.ev]],
            })
          }
        }
        const mask = maskOf(k)
        if (typeof mask === 'string') ctx.inconclusive(mask)
        else {
          ctx.checked()
          const extra = unselected & ~mask
          if (extra) {
            ctx.report({
              message: `WSPEnumNetworkEvents on ${k.s} reported ${maskText(extra)} but ${selectText(k)}: only selected events may be recorded`,
              sock: k,
              evidence: [['event select', k.evSelect?.call], ['enumeration', step.ev]],
              measured: {reported: `0x${out.toString(16)}`, mask: `0x${mask.toString(16)}`},
            })
          }
        }
        const fdc = fdConnectOf(step.ev)
        if (!fdc) return
        const rec = reports.get(k)
        if (!rec) {
          if (before === 'UNKNOWN') return ctx.inconclusive('FD_CONNECT on a socket created before the trace began')
          ctx.report({
            message: `WSPEnumNetworkEvents reported FD_CONNECT on ${k.s} but no WSPConnect was issued on it`,
            sock: k,
            evidence: [['socket created', k.created], ['enumeration', step.ev]],
          })
        } else if (++rec.count === 1) {
          rec.first = step.ev
          if (fdc.code === 0) connectedByFd.set(k, step.ev)
        } else {
          ctx.report({
            message: `FD_CONNECT reported ${rec.count} times on ${k.s} for one WSPConnect (first at ${formatOffset(rec.first!.ts)}, again with ${fdc.code === 0 ? 'success' : errorName(fdc.code)}): each completed connect yields exactly one FD_CONNECT`,
            sock: k,
            evidence: [['connect', rec.connect], ['first FD_CONNECT', rec.first], ['again', step.ev]],
          })
        }
      },
    }
    for (const fn of DATA_PATH) handlers[`ret:${fn}`] = dataPath
    return handlers
  },
}
