import {E, FD_CONNECT_BIT, errorName} from '../../model/constants.js'
import type {Ev} from '../../model/event.js'
import {num} from '../../model/event.js'
import type {Sock} from '../../model/state.js'
import {formatDuration as fd, formatOffset} from '../../util/duration.js'
import {C, R} from '../refs.js'
import type {RuleModule, TimerHandle} from '../types.js'
import {fdConnectOf} from './util.js'

interface Pending {
  call: Ev
  ret: Ev
  /** First FD_CONNECT signal of the event after the connect returned. */
  signal?: Ev
  /** WSPEnumNetworkEvents returns that did not report FD_CONNECT. */
  enums: number
  lastEnum?: Ev
  /** The resolution deadline, cancelled when the connect resolves. */
  deadline?: TimerHandle
}

/** SAN014: a connect that returned WSAEWOULDBLOCK is resolved (FD_CONNECT enumerated, or the socket closed) in time. */
export const SAN014: RuleModule = {
  meta: {
    id: 'SAN014',
    title: 'Pending connect never resolved',
    severity: 'warning',
    fault: 'provider',
    section: 'C. Connecting',
    refs: [C('initiating-a-connection'), R('ff566284')],
    docs: {
      checks:
        'A WSPConnect that returns WSAEWOULDBLOCK puts the socket in CONNECTING. It leaves that state when a WSPEnumNetworkEvents return reports FD_CONNECT (with its iErrorCode[FD_CONNECT_BIT] result) or when the switch calls WSPCloseSocket (a cancellation, judged by SAN031). A socket still CONNECTING after the threshold is a finding. A connect still pending when the trace ends before the threshold is not judged.',
      why: "The switch holds the application's connect until the provider reports the outcome. A connect the provider never resolves hangs the application's blocking connect (or its nonblocking connect never becomes writable), and the switch never falls back to TCP/IP.",
      fix: 'In the provider, when the connection attempt finishes (accepted, rejected or timed out) record FD_CONNECT with its error code, signal the event registered by WSPEventSelect, and report it from WSPEnumNetworkEvents. Give the connection attempt its own timeout (WSAETIMEDOUT) so it cannot stay pending forever.',
      example: [
        '+0.000 s  SpiCall WSPEventSelect Socket=0x2a0 EventHandle=0x1f0 NetworkEvents=0x10',
        '+0.001 s  SpiCall WSPConnect Socket=0x2a0 Addr=10.0.0.2:445',
        '+0.002 s  SpiReturn WSPConnect Rc=-1 Errno=WSAEWOULDBLOCK',
        '(no FD_CONNECT signalled or enumerated by +60.002 s)   <- connect never resolved',
      ],
    },
    thresholds: {
      connectResolveMax: {
        flag: 'connect-resolve-max',
        default: '60000ms',
        description: 'longest time a nonblocking connect may stay pending (WSAEWOULDBLOCK until FD_CONNECT is enumerated or the socket is closed)',
      },
    },
    needs: [{keys: ['ret:WSPConnect'], why: 'WSPConnect returns'}],
    instance: 'nonblocking connect (WSPConnect returning WSAEWOULDBLOCK)',
  },
  create(ctx) {
    const max = ctx.t.connectResolveMax
    /** Sockets whose nonblocking connect is pending. */
    const pending = new Map<Sock, Pending>()

    const resolved = (k: Sock): void => {
      const rec = pending.get(k)
      if (!rec) return
      pending.delete(k)
      ctx.cancel(rec.deadline)
      ctx.checked()
    }

    return {
      'ret:WSPConnect': (step) => {
        const k = step.sock
        const call = step.call?.ev
        if (!k || !call || num(step.ev.f.Errno) !== E.WSAEWOULDBLOCK || num(step.ev.f.Rc) === 0) return
        if (k.state !== 'CONNECTING') return // closed meanwhile: nothing is pending
        if (pending.has(k)) return // a second connect on a pending socket (SAN016): the first one's clock runs
        const rec: Pending = {call, ret: step.ev, enums: 0}
        pending.set(k, rec)
        const since = step.ev.ts
        const deadline = since + max
        rec.deadline = ctx.at(
          deadline,
          () => {
            if (pending.get(k) !== rec) return
            pending.delete(k)
            ctx.checked()
            const how = rec.signal
              ? `the event was signalled for FD_CONNECT at ${formatOffset(rec.signal.ts)}${num(rec.signal.f.Error) ? ` (${errorName(num(rec.signal.f.Error))})` : ''} but no WSPEnumNetworkEvents reported it`
              : rec.enums
                ? `no FD_CONNECT signalled, and ${rec.enums} WSPEnumNetworkEvents call${rec.enums > 1 ? 's' : ''} did not report FD_CONNECT`
                : 'no FD_CONNECT signalled or enumerated'
            ctx.report({
              message: `WSPConnect on ${k.s} to ${call.f.Addr ?? '(address not traced)'} returned WSAEWOULDBLOCK (10035) and was still unresolved ${fd(max)} later: ${how}, and the socket was not closed`,
              sock: k,
              ts: deadline,
              evidence: [['connect', call], ['would block', rec.ret], ['signalled', rec.signal], ['last enumeration', rec.lastEnum]],
              measured: {pendingNs: deadline - since, thresholdNs: max},
            })
          },
          () => {
            if (pending.get(k) !== rec) return
            pending.delete(k)
            ctx.inconclusive(`the trace ended less than ${fd(max)} after a connect returned WSAEWOULDBLOCK, with the connect still pending`)
          },
        )
      },
      'sig:NetEvent': (step) => {
        const rec = step.sock && pending.get(step.sock)
        if (rec && num(step.ev.f.FdBit) === FD_CONNECT_BIT) rec.signal ??= step.ev
      },
      'ret:WSPEnumNetworkEvents': (step) => {
        const k = step.sock
        const rec = k && pending.get(k)
        if (!k || !rec) return
        if (num(step.ev.f.Rc) === 0 && fdConnectOf(step.ev)) return resolved(k)
        rec.enums++
        rec.lastEnum = step.ev
      },
      'call:WSPCloseSocket': (step) => {
        if (step.sock) resolved(step.sock)
      },
    }
  },
}
