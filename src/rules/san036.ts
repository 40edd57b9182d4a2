import {TRANSFER_FNS} from '../model/constants.js'
import {C} from './refs.js'
import {SWITCH_NEEDS} from './switch-events.js'
import type {RuleModule} from './types.js'

/** SAN036: after a cancel forced an abort, only WSPCloseSocket is guaranteed; no new transfers. */
export const SAN036: RuleModule = {
  meta: {
    id: 'SAN036',
    title: 'Post-cancel regime: only close is guaranteed',
    severity: 'warning',
    fault: 'switch',
    section: 'G. Close and cancel',
    refs: [C('blocking-calls-for-a-san'), C('windows-sockets-spi-functions-not-required-for-sans')],
    docs: {
      checks:
        'A socket enters the abort regime at SwitchAbort, at a WSPCloseSocket that forces completion of a cancelled request, or (with --cancel-implies-abort) at the application cancel itself. A new WSPSend, WSPRecv, WSPRdmaWrite or WSPRdmaRead issued on the socket after that is a warning. In the abort regime, provider failures of calls other than close are expected and are not reported as contract violations by other rules; WSPCloseSocket must still succeed (SAN029). Needs the switch-side events.',
      why: 'After an application cancels a blocking call the connection need not be preserved; a switch that keeps posting transfers on a connection it is tearing down races with the provider\'s flush and can lose data or hang.',
      fix: 'In the switch, once a connection is being aborted, stop issuing data transfers on it and only close it.',
      example: ['+0.000 s  SwitchAbort SanSocket=0x2a0 Reason=rdma-timeout', '+0.010 s  SpiCall WSPSend Socket=0x2a0   <- transfer after the abort began'],
    },
    thresholds: {},
    needs: [SWITCH_NEEDS, {keys: ['sw:Abort', 'app:Cancel'], why: 'aborts or cancels (SwitchAbort / AppCancel events)'}],
    instance: 'call on a socket in the abort regime',
  },
  create(ctx) {
    return {
      'call:*': (step) => {
        const k = step.sock
        if (!k?.abort || k.abort.ev === step.ev || step.ev.fn === 'WSPCloseSocket') return
        ctx.checked()
        if (TRANSFER_FNS.has(step.ev.fn)) {
          ctx.report({
            message: `${step.ev.fn} issued on ${k.s} after the switch began aborting the connection (${k.abort.reason})`,
            sock: k,
            evidence: [['abort', k.abort.ev], ['transfer', step.ev]],
          })
        }
      },
    }
  },
}
