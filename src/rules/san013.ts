import type {Ev} from '../model/event.js'
import {formatDuration as fd} from '../util/duration.js'
import {C} from './refs.js'
import type {RuleModule} from './types.js'

/** SAN013: WSPConnect returns promptly (WSAEWOULDBLOCK when it cannot finish at once). */
export const SAN013: RuleModule = {
  meta: {
    id: 'SAN013',
    title: 'WSPConnect did not return promptly',
    severity: 'error',
    fault: 'provider',
    section: 'C. Connecting',
    refs: [C('initiating-a-connection'), C('blocking-calls-for-a-san')],
    docs: {
      checks:
        'The time from each WSPConnect call to its return. Longer than the threshold is a violation; a WSPConnect still not returned when the trace ends is one too once the threshold has passed.',
      why: "The switch issues WSPConnect in nonblocking mode because the application's blocking connect is being handled by the switch. A provider that waits for the connection inside WSPConnect blocks the application thread and the switch's cancellation logic (it can only cancel by WSPCloseSocket).",
      fix: 'In the provider, start the connection and return SOCKET_ERROR with WSAEWOULDBLOCK; finish asynchronously, then signal the event registered by WSPEventSelect and report FD_CONNECT through WSPEnumNetworkEvents.',
      example: ['+0.000 s  SpiCall WSPConnect Socket=0x2a0', '+2.400 s  SpiReturn WSPConnect Rc=0   <- blocked 2.4 s > 1 s'],
    },
    thresholds: {
      connectCallMax: {
        flag: 'connect-call-max',
        default: '1000ms',
        description: 'longest acceptable WSPConnect call (synchronous address resolution may take tens to hundreds of ms)',
      },
    },
    needs: [{keys: ['call:WSPConnect'], why: 'WSPConnect calls'}],
    instance: 'WSPConnect call with its return',
  },
  create(ctx) {
    const open = new Set<Ev>()
    const max = ctx.t.connectCallMax
    return {
      'call:WSPConnect': (step) => {
        open.add(step.ev)
      },
      'ret:WSPConnect': (step) => {
        const call = step.call?.ev
        if (!call) return ctx.inconclusive('WSPConnect return without its call (call before the trace began)')
        open.delete(call)
        ctx.checked()
        const d = step.ev.ts - call.ts
        if (d > max) {
          ctx.report({
            message: `WSPConnect blocked ${fd(d)} > ${fd(max)}`,
            sock: step.sock,
            evidence: [['call', call], ['return', step.ev]],
            measured: {durationNs: d, thresholdNs: max},
          })
        }
      },
      end: () => {
        const last = ctx.model.lastTs
        for (const call of open) {
          const d = last - call.ts
          if (d > max) {
            ctx.checked()
            const k = ctx.model.procs.get(call.pid)?.sockets.get(call.f.Socket as string)
            ctx.report({
              message: `WSPConnect blocked ${fd(d)} > ${fd(max)} and had not returned when the trace ended`,
              sock: k,
              ts: last,
              evidence: [['call', call]],
              measured: {durationNs: d, thresholdNs: max},
            })
          } else ctx.inconclusive('the trace ended while WSPConnect was in progress')
        }
      },
    }
  },
}
