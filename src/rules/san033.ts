import {E, SOCKETLESS_FNS, errorName} from '../model/constants.js'
import type {Ev} from '../model/event.js'
import {num} from '../model/event.js'
import {succeeded} from '../model/result.js'
import {R} from './refs.js'
import type {RuleModule} from './types.js'

/** SAN033: no calls on a closed descriptor; the provider answers WSAENOTSOCK. */
export const SAN033: RuleModule = {
  meta: {
    id: 'SAN033',
    title: 'Calls on a closed descriptor',
    severity: 'warning',
    fault: 'switch/provider',
    section: 'G. Close and cancel',
    refs: [R('ff566273')],
    docs: {
      checks:
        'Every call on a descriptor after its WSPCloseSocket returned (and before the descriptor is issued again) is a warning against the switch; the provider must fail such a call with WSAENOTSOCK, and a success or any other error is an error against the provider.',
      why: 'After close the descriptor may be reissued for a new socket; a stale call then acts on the wrong connection. A provider that still honours calls on a closed socket touches freed state.',
      fix: 'Switch: stop using the SAN descriptor once WSPCloseSocket returns (the WinOF sources record that the real switch called WSPGetOverlappedResult and WSPDeregisterRdmaMemory after close). Provider: validate the descriptor and fail with WSAENOTSOCK.',
      example: ['+0.000 s  SpiReturn WSPCloseSocket Socket=0x2a0 Rc=0', '+0.100 s  SpiCall WSPGetOverlappedResult Socket=0x2a0   <- call on a closed descriptor'],
    },
    thresholds: {},
    needs: [{keys: ['call:WSPCloseSocket'], why: 'WSPCloseSocket calls'}],
    instance: 'call on a socket',
  },
  create(ctx) {
    const stale = new Set<Ev>()
    return {
      'call:*': (step) => {
        const ev = step.ev
        if (SOCKETLESS_FNS.has(ev.fn) || !step.sock) return
        ctx.checked()
        if (step.before !== 'CLOSED' && step.before !== 'RELEASED') return
        stale.add(ev)
        ctx.report({
          message: `${ev.fn} on ${step.sock.s} after WSPCloseSocket returned for it`,
          fault: 'switch',
          sock: step.sock,
          evidence: [['close returned', step.sock.closeRet], ['call', ev]],
        })
      },
      'ret:*': (step) => {
        const call = step.call?.ev
        if (!call || !stale.delete(call)) return
        const ok = succeeded(step.ev)
        const err = num(step.ev.f.Errno)
        if (ok === undefined) return ctx.inconclusive('return without Rc')
        if (ok || err !== E.WSAENOTSOCK) {
          ctx.report({
            message: `the provider ${ok ? 'accepted' : `failed with ${errorName(err)}`} ${step.ev.fn} on closed descriptor ${call.f.Socket}; expected WSAENOTSOCK`,
            severity: 'error',
            fault: 'provider',
            sock: step.sock,
            evidence: [['call', call], ['return', step.ev]],
          })
        }
      },
    }
  },
}
