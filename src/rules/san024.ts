import {MSG_OOB} from '../model/constants.js'
import {isNonNull, num} from '../model/event.js'
import type {Step} from '../model/state.js'
import {C, R} from './refs.js'
import type {RuleModule} from './types.js'

/** SAN024: data transfers reach the provider overlapped, with no completion routine. */
export const SAN024: RuleModule = {
  meta: {
    id: 'SAN024',
    title: 'Data transfers must be overlapped, without completion routines',
    severity: 'error',
    fault: 'switch',
    section: 'F. Data path and completion',
    refs: [C('blocking-calls-for-a-san'), C('completing-data-transfer-requests'), R('ff566316'), R('ff566309')],
    docs: {
      checks:
        'Every WSPSend, WSPRecv, WSPRdmaWrite and WSPRdmaRead call: lpOverlapped must be non-NULL and lpCompletionRoutine NULL (errors); WSPSend dwFlags must be 0 (error; MSG_OOB in particular); WSPRecv lpThreadId should be NULL (warning).',
      why: 'Even for a blocking application call the switch forwards transfers overlapped; a NULL OVERLAPPED means a blocking transfer reached the SAN provider, which may block the thread indefinitely and defeats cancellation. Completion routines and urgent data are not part of the SAN path (urgent data travels in the switch session message).',
      fix: 'In the switch, always pass an OVERLAPPED (with hEvent bit 0 set to poll), a NULL completion routine, zero send flags, and a NULL thread id.',
      example: ['+0.000 s  SpiCall WSPSend Socket=0x2a0 Overlapped=0x0 TotalLen=4096   <- blocking transfer reached the SAN provider'],
    },
    thresholds: {},
    needs: [{keys: ['call:WSPSend', 'call:WSPRecv', 'call:WSPRdmaWrite', 'call:WSPRdmaRead'], why: 'data-transfer calls (WSPSend, WSPRecv, WSPRdmaWrite, WSPRdmaRead)'}],
    instance: 'data-transfer call',
  },
  create(ctx) {
    const check = (step: Step): void => {
      const ev = step.ev
      const f = ev.f
      if (f.Overlapped === undefined) return ctx.inconclusive(`${ev.fn} without an Overlapped field`)
      ctx.checked()
      const bad = (message: string, severity?: 'warning'): void =>
        ctx.report({message, severity, sock: step.sock, pid: ev.pid, evidence: [['call', ev]]})
      if (!isNonNull(f.Overlapped)) bad(`${ev.fn} with lpOverlapped = NULL: a blocking transfer reached the SAN provider`)
      if (isNonNull(f.CompletionRoutine)) bad(`${ev.fn} with a completion routine (${f.CompletionRoutine}); the switch always passes NULL`)
      if (ev.fn === 'WSPSend') {
        const flags = num(f.Flags)
        if (flags !== undefined && flags !== 0) {
          bad(`WSPSend with dwFlags = 0x${flags.toString(16)}${flags & MSG_OOB ? ' (MSG_OOB)' : ''}; the switch sends urgent data in its session messages and passes 0`)
        }
      }
      if (ev.fn === 'WSPRecv' && isNonNull(f.ThreadIdPtr)) bad(`WSPRecv with lpThreadId = ${f.ThreadIdPtr}; the switch passes NULL`, 'warning')
    }
    return {'call:WSPSend': check, 'call:WSPRecv': check, 'call:WSPRdmaWrite': check, 'call:WSPRdmaRead': check}
  },
}
