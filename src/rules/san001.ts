import {C} from './refs.js'
import type {RuleModule} from './types.js'

/** SAN001: the switch never calls WSPCancelBlockingCall on a SAN provider. */
export const SAN001: RuleModule = {
  meta: {
    id: 'SAN001',
    title: 'WSPCancelBlockingCall issued to a SAN provider',
    severity: 'error',
    fault: 'switch',
    section: 'A. Contract-wide',
    refs: [C('blocking-calls-for-a-san'), C('windows-sockets-spi-functions-not-required-for-sans')],
    docs: {
      checks:
        'Every SPI call in the trace: a call of WSPCancelBlockingCall on the SAN provider is a violation. The switch cancels blocking requests itself (completing switch-buffered requests, or closing the SAN socket) and never forwards this call.',
      why: 'SAN providers are not required to implement WSPCancelBlockingCall; their procedure-table entry may be NULL, so the call can crash the application or be silently ignored while the blocked request stays stuck.',
      fix: 'In the switch, cancel a blocking request by completing the application request (when the switch owns the buffer), waiting for outstanding RDMA, or calling WSPCloseSocket to abort the connection.',
      example: ['+0.000 s  SpiCall WSPRecv Socket=0x2a0 Overlapped=0x7ffd1200', '+0.500 s  SpiCall WSPCancelBlockingCall   <- violation'],
    },
    thresholds: {},
    needs: [{keys: ['call:*'], why: 'SPI calls (SpiCall events)'}],
    instance: 'SPI call',
  },
  create(ctx) {
    return {
      'call:*': () => ctx.checked(),
      'call:WSPCancelBlockingCall': (step) => {
        ctx.report({
          message: 'the switch called WSPCancelBlockingCall on the SAN provider; blocking calls must be cancelled inside the switch',
          pid: step.ev.pid,
          evidence: [['call', step.ev]],
        })
      },
    }
  },
}
