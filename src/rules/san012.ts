import {FD_CONNECT} from '../model/constants.js'
import {C} from './refs.js'
import type {RuleModule} from './types.js'

/** SAN012: a connect is forwarded nonblocking: WSPEventSelect(FD_CONNECT, hEvent) comes first. */
export const SAN012: RuleModule = {
  meta: {
    id: 'SAN012',
    title: 'WSPConnect without prior WSPEventSelect(FD_CONNECT)',
    severity: 'error',
    fault: 'switch',
    section: 'C. Connecting',
    refs: [C('initiating-a-connection'), C('blocking-calls-for-a-san')],
    docs: {
      checks:
        'At each WSPConnect, the socket (this generation of the descriptor) must have a successful WSPEventSelect whose mask includes FD_CONNECT (0x10) with a non-NULL event handle, not superseded by a later successful WSPEventSelect without FD_CONNECT.',
      why: 'WSPEventSelect is what puts the SAN socket in nonblocking mode and gives the provider an event to signal. Without it a blocking application connect reaches the provider as a blocking call, and the switch has no way to learn when an asynchronous connect finishes.',
      fix: 'In the switch, call WSPEventSelect(s, hEvent, FD_CONNECT) on the SAN socket before WSPConnect, and keep FD_CONNECT selected until the connect is resolved.',
      example: [
        '+0.000 s  SpiCall WSPSocket -> 0x2a0',
        '+0.001 s  SpiCall WSPBind Socket=0x2a0',
        '+0.002 s  SpiCall WSPConnect Socket=0x2a0 Addr=10.0.0.2:445   <- no WSPEventSelect(FD_CONNECT) first',
      ],
    },
    thresholds: {},
    needs: [{keys: ['call:WSPConnect'], why: 'WSPConnect calls'}],
    instance: 'WSPConnect call',
  },
  create(ctx) {
    return {
      'call:WSPConnect': (step) => {
        const k = step.sock
        if (!k) return ctx.inconclusive('WSPConnect without a Socket field')
        const sel = k.evSelect
        if (!sel) {
          if (k.state === 'UNKNOWN') return ctx.inconclusive('socket created before the trace began')
          ctx.checked()
          return ctx.report({
            message: `WSPConnect on ${k.s} with no prior successful WSPEventSelect: the connect reached the provider without FD_CONNECT armed (blocking connect forwarded as blocking)`,
            sock: k,
            ts: step.ev.ts,
            evidence: [['socket created', k.created], ['connect', step.ev]],
          })
        }
        if (sel.mask === undefined) return ctx.inconclusive('WSPEventSelect without a NetworkEvents field')
        ctx.checked()
        if ((sel.mask & FD_CONNECT) === 0) {
          return ctx.report({
            message: `WSPConnect on ${k.s} while the last WSPEventSelect mask 0x${sel.mask.toString(16)} does not include FD_CONNECT (0x10)`,
            sock: k,
            evidence: [['connect', step.ev], ['last event select', sel.call]],
            measured: {mask: `0x${sel.mask.toString(16)}`},
          })
        }
        if (sel.hEvent === '0x0' || sel.hEvent === null) {
          ctx.report({
            message: `WSPConnect on ${k.s} after WSPEventSelect(FD_CONNECT) with a NULL event handle: nothing can be signalled when the connect completes`,
            sock: k,
            evidence: [['connect', step.ev], ['event select', sel.call]],
          })
        }
      },
    }
  },
}
