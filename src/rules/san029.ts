import {E, errorName} from '../model/constants.js'
import type {Ev} from '../model/event.js'
import {num} from '../model/event.js'
import {formatDuration as fd} from '../util/duration.js'
import {C, R} from './refs.js'
import type {RuleModule} from './types.js'

/** SAN029: WSPCloseSocket succeeds and returns promptly. */
export const SAN029: RuleModule = {
  meta: {
    id: 'SAN029',
    title: 'WSPCloseSocket must succeed and return promptly',
    severity: 'error',
    fault: 'provider',
    section: 'G. Close and cancel',
    refs: [R('ff566273'), C('blocking-calls-for-a-san'), C('windows-sockets-spi-functions-not-required-for-sans')],
    docs: {
      checks:
        'Each WSPCloseSocket on a live descriptor must return 0; a failure other than WSAENETDOWN is an error, and WSAEWOULDBLOCK or WSAEINPROGRESS are never acceptable. A close that takes longer than the threshold is a warning (a close of a connecting socket is judged by SAN031 instead).',
      why: 'After an application cancels a blocking call, WSPCloseSocket is the only call guaranteed to succeed; the switch relies on it to abort connects and to force completion of stuck RDMA. A failing or slow close leaves the application hung or leaks the connection.',
      fix: 'In the provider, make WSPCloseSocket abortive and synchronous in effect: flush the connection, complete pending operations with WSA_OPERATION_ABORTED, and return 0 without waiting for the remote peer.',
      example: ['+0.000 s  SpiCall WSPCloseSocket Socket=0x2a0', '+0.000 s  SpiReturn WSPCloseSocket Rc=-1 Errno=WSAEWOULDBLOCK   <- close must not report WSAEWOULDBLOCK'],
    },
    thresholds: {
      closeCallMax: {flag: 'close-call-max', default: '1000ms', description: 'longest acceptable WSPCloseSocket call (flushing a queue pair takes milliseconds)'},
    },
    needs: [{keys: ['call:WSPCloseSocket'], why: 'WSPCloseSocket calls'}],
    instance: 'WSPCloseSocket call with its return',
  },
  create(ctx) {
    const open = new Set<Ev>()
    const max = ctx.t.closeCallMax
    return {
      'call:WSPCloseSocket': (step) => {
        open.add(step.ev)
      },
      'ret:WSPCloseSocket': (step) => {
        const call = step.call
        if (!call) return ctx.inconclusive('WSPCloseSocket return without its call (call before the trace began)')
        open.delete(call.ev)
        const rc = num(step.ev.f.Rc)
        if (rc === undefined) return ctx.inconclusive('WSPCloseSocket return without Rc')
        ctx.checked()
        const k = step.sock
        const live = call.before !== 'CLOSED' && call.before !== 'RELEASED'
        const err = num(step.ev.f.Errno)
        if (rc !== 0 && live) {
          if (err === E.WSAEWOULDBLOCK || err === E.WSAEINPROGRESS) {
            ctx.report({
              message: `WSPCloseSocket returned ${errorName(err)}; close must not report ${err === E.WSAEWOULDBLOCK ? 'WSAEWOULDBLOCK' : 'WSAEINPROGRESS'} (the switch handles graceful close itself)`,
              sock: k,
              evidence: [['call', call.ev], ['return', step.ev]],
            })
          } else if (err !== E.WSAENETDOWN) {
            ctx.report({
              message: `WSPCloseSocket failed with ${errorName(err)} on a live descriptor; only WSPCloseSocket is guaranteed to succeed`,
              sock: k,
              evidence: [['call', call.ev], ['return', step.ev]],
            })
          }
        }
        const d = step.ev.ts - call.ev.ts
        if (d > max && call.before !== 'CONNECTING') {
          ctx.report({
            message: `WSPCloseSocket took ${fd(d)} > ${fd(max)}`,
            severity: 'warning',
            sock: k,
            evidence: [['call', call.ev], ['return', step.ev]],
            measured: {durationNs: d, thresholdNs: max},
          })
        }
      },
      end: () => {
        const last = ctx.model.lastTs
        for (const call of open) {
          const d = last - call.ts
          const k = ctx.model.procs.get(call.pid)?.sockets.get(call.f.Socket as string)
          if (d > max && k?.stateAtClose !== 'CONNECTING') {
            ctx.checked()
            ctx.report({
              message: `WSPCloseSocket took ${fd(d)} > ${fd(max)} and had not returned when the trace ended`,
              severity: 'warning',
              sock: k,
              ts: last,
              evidence: [['call', call]],
              measured: {durationNs: d, thresholdNs: max},
            })
          } else ctx.inconclusive('the trace ended while WSPCloseSocket was in progress')
        }
      },
    }
  },
}
