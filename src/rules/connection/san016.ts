import {E, errorName} from '../../model/constants.js'
import type {Ev} from '../../model/event.js'
import {num} from '../../model/event.js'
import type {Sock, SockState} from '../../model/state.js'
import {formatDuration as fd, formatOffset} from '../../util/duration.js'
import {C} from '../refs.js'
import type {RuleModule, TimerHandle} from '../types.js'
import {fdConnectOf} from './util.js'

/** States in which a first WSPConnect is legitimate (UNKNOWN: the socket predates the trace). */
const CONNECTABLE = new Set<SockState>(['CREATED', 'BOUND', 'UNKNOWN'])
/** States in which WSPConnect is never legitimate. */
const NO_CONNECT = new Set<SockState>(['CONNECTING', 'CONNECTED', 'CONNECT_FAILED', 'LISTENING'])

interface Failure {
  connect?: Ev
  /** The failing WSPConnect return or the WSPEnumNetworkEvents return that reported the FD_CONNECT error. */
  result: Ev
  code: number
  how: string
  /** The close deadline, cancelled when the socket is closed. */
  deadline?: TimerHandle
}

/** SAN016: no WSPConnect once connecting/connected/failed/listening; a failed connect is followed by WSPCloseSocket only. */
export const SAN016: RuleModule = {
  meta: {
    id: 'SAN016',
    title: 'Connect after failure / on connected socket; missing close',
    severity: 'error',
    fault: 'switch',
    section: 'C. Connecting',
    refs: [C('initiating-a-connection')],
    docs: {
      checks:
        'A WSPConnect on a socket that is CONNECTING, CONNECTED, CONNECT_FAILED or LISTENING is a violation. Once a connect has failed (a WSPConnect return other than 0 and WSAEWOULDBLOCK, or an FD_CONNECT reported with a non-zero iErrorCode), any call on the socket other than WSPCloseSocket is a violation, and a socket not closed within the threshold is a warning.',
      why: 'After a failed SAN connect the switch is expected to destroy the SAN socket and retry over TCP/IP; a switch that keeps using the failed socket leaves the application on a dead connection, and one that never closes it leaks the provider\'s socket and its switch handle. A second WSPConnect on a connected or connecting socket has no defined meaning for a SAN provider.',
      fix: 'In the switch, call WSPCloseSocket on the SAN socket as soon as its connect fails (then fall back to TCP/IP unless the result was WSAECONNREFUSED, WSAECONNRESET or WSAEHOSTUNREACH), and never call WSPConnect again on a socket whose connect is pending or done.',
      example: [
        '+0.000 s  SpiReturn WSPConnect Socket=0x2a0 Rc=-1 Errno=WSAEWOULDBLOCK',
        '+0.050 s  SpiReturn WSPEnumNetworkEvents Socket=0x2a0 NetworkEventsOut=0x10 ErrorCodes[4]=WSAETIMEDOUT',
        '+0.060 s  SpiCall WSPConnect Socket=0x2a0 Addr=10.0.0.2:445   <- connect after failure',
      ],
    },
    thresholds: {
      setupCloseMax: {
        flag: 'setup-close-max',
        default: '5000ms',
        description: 'time within which the switch must close a SAN socket whose setup (bind, option, connect) failed',
      },
    },
    needs: [{keys: ['call:WSPConnect'], why: 'WSPConnect calls'}],
    instance: 'WSPConnect call or failed connect',
  },
  create(ctx) {
    const max = ctx.t.setupCloseMax
    /** Sockets whose first connect returned WSAEWOULDBLOCK and awaits its outcome. */
    const connecting = new Set<Sock>()
    /** Sockets whose connect failed and that are not closed yet. */
    const failed = new Map<Sock, Failure>()
    /** The previous WSPConnect per socket (the model already points at the current one). */
    const lastConnect = new WeakMap<Sock, Ev>()

    const fail = (k: Sock, f: Failure): void => {
      if (failed.has(k)) return
      failed.set(k, f)
      const deadline = f.result.ts + max
      f.deadline = ctx.at(
        deadline,
        () => {
          if (failed.get(k) !== f) return
          ctx.checked()
          ctx.report({
            message: `${k.s} was not closed within ${fd(max)} after its connect failed with ${errorName(f.code)} (${f.how}); the switch must destroy a failed SAN socket with WSPCloseSocket`,
            severity: 'warning',
            sock: k,
            ts: deadline,
            evidence: [['connect', f.connect], ['failure', f.result]],
            measured: {thresholdNs: max},
          })
        },
        () => {
          if (failed.get(k) === f) ctx.inconclusive(`the trace ended less than ${fd(max)} after a connect failed, before the socket was closed`)
        },
      )
    }

    const failureText = (f: Failure): string => `its connect failed with ${errorName(f.code)} (${f.how} at ${formatOffset(f.result.ts)})`

    return {
      'call:*': (step) => {
        const k = step.sock
        const fn = step.ev.fn
        if (!k) return
        if (fn === 'WSPCloseSocket') {
          const f = failed.get(k)
          if (f) {
            failed.delete(k)
            ctx.cancel(f.deadline)
            ctx.checked()
          }
          connecting.delete(k)
          return
        }
        const f = failed.get(k)
        const before = step.call?.before ?? step.before ?? 'UNKNOWN'
        if (fn === 'WSPConnect') {
          const prev = lastConnect.get(k)
          lastConnect.set(k, step.ev)
          if (before === 'UNKNOWN' && !f) return ctx.inconclusive('WSPConnect on a socket created before the trace began')
          ctx.checked()
          if (!f && !NO_CONNECT.has(before)) return
          const state = f ? 'CONNECT_FAILED' : before
          const why =
            f ? failureText(f)
            : before === 'CONNECTED' ? `it is already connected${prev ? ` (WSPConnect at ${formatOffset(prev.ts)})` : k.role === 'ACCEPTED' ? ' (accepted socket)' : ''}`
            : before === 'CONNECTING' ? 'its previous connect is still pending (WSAEWOULDBLOCK)'
            : before === 'LISTENING' ? 'it is a listening socket'
            : 'its connect failed'
          return ctx.report({
            message: `WSPConnect on ${k.s} in state ${state}: ${why}; the switch never connects a SAN socket twice`,
            sock: k,
            evidence: [['earlier connect', prev], ['earlier result', f?.result], ['connect', step.ev]],
          })
        }
        if (f) {
          ctx.report({
            message: `${fn} on ${k.s} after ${failureText(f)}; only WSPCloseSocket is allowed on a socket whose connect failed`,
            sock: k,
            evidence: [['connect', f.connect], ['failure', f.result], ['call', step.ev]],
          })
        }
      },
      'ret:WSPConnect': (step) => {
        const k = step.sock
        const call = step.call
        if (!k || !call) return
        const before = call.before ?? 'UNKNOWN'
        if (!CONNECTABLE.has(before)) return
        const rc = num(step.ev.f.Rc)
        const err = num(step.ev.f.Errno)
        if (rc === undefined || rc === 0) return
        if (err === E.WSAEWOULDBLOCK) {
          if (k.state === 'CONNECTING') connecting.add(k)
          return
        }
        if (k.closeCall) return
        if (err === undefined) return ctx.inconclusive('failed WSPConnect without Errno')
        fail(k, {connect: call.ev, result: step.ev, code: err, how: 'WSPConnect return'})
      },
      'ret:WSPEnumNetworkEvents': (step) => {
        const k = step.sock
        if (!k || !connecting.has(k) || num(step.ev.f.Rc) !== 0) return
        const r = fdConnectOf(step.ev)
        if (!r) return
        connecting.delete(k)
        if (r.code === undefined || r.code === 0) return
        fail(k, {connect: k.connectCall, result: step.ev, code: r.code, how: 'FD_CONNECT'})
      },
    }
  },
}
