import {num} from '../model/event.js'
import {errorName} from '../model/constants.js'
import type {AppReq} from '../model/state.js'
import {formatDuration as fd} from '../util/duration.js'
import {C} from './refs.js'
import {SWITCH_NEEDS, outstandingOps} from './switch-events.js'
import type {RuleModule, TimerHandle} from './types.js'

/** SAN034: a cancelled request whose buffer the switch controls is completed with a failure, promptly. */
export const SAN034: RuleModule = {
  meta: {
    id: 'SAN034',
    title: 'Cancel of a switch-buffered request',
    severity: 'warning',
    fault: 'switch',
    section: 'G. Close and cancel',
    refs: [C('blocking-calls-for-a-san')],
    docs: {
      checks:
        'For each AppCancel of a request with no outstanding SAN operation covering its buffer (the switch controls the buffer): AppComplete with a failure status must follow within the threshold (warning otherwise); a completion with success after the cancel is reported as info (a legal race when the data had already moved). Needs the switch-side events.',
      why: 'When the switch owns the buffer there is nothing to wait for; an application blocked in a cancelled call stays blocked until the switch completes it.',
      fix: 'In the switch, complete a cancelled request that has no SAN operation outstanding at once, with a failure status (e.g. WSA_OPERATION_ABORTED).',
      example: ['+0.000 s  AppRequest AppReqId=7 Kind=recv Blocking=true', '+1.000 s  AppCancel AppReqId=7', '(no AppComplete by +2.000 s)   <- cancel not completed'],
    },
    thresholds: {
      appCancelCompleteMax: {flag: 'app-cancel-complete-max', default: '1000ms', description: 'time from AppCancel to AppComplete for a request whose buffer the switch controls'},
    },
    needs: [SWITCH_NEEDS, {keys: ['app:Cancel'], why: 'application cancels (AppCancel events)'}],
    instance: 'cancel of a switch-buffered request',
  },
  create(ctx) {
    const max = ctx.t.appCancelCompleteMax
    /** Cancelled requests awaiting their completion, with the deadline timer. */
    const watched = new Map<AppReq, TimerHandle>()
    const countCheck = (): void => ctx.checked()
    return {
      'app:Cancel': (step) => {
        const r = step.app
        if (!r || r.cancel !== step.ev) return
        if (!r.req) return ctx.inconclusive('cancel of a request issued before the trace began')
        if (r.complete) return // completed before the cancel: nothing to cancel
        if (outstandingOps(step.proc, r, false).length > 0) return // SAN operations involved: not switch-buffered
        const cancel = step.ev
        const t = ctx.at(
          cancel.ts + max,
          () => {
            ctx.checked()
            if (!r.complete) {
              watched.delete(r)
              ctx.report({
                message: `application request ${r.id} (${r.kind ?? 'request'}) was not completed within ${fd(max)} of its cancel although the switch controls its buffer`,
                pid: cancel.pid,
                sock: step.sock,
                ts: cancel.ts + max,
                evidence: [['request', r.req], ['cancel', cancel]],
                measured: {thresholdNs: max},
              })
            }
          },
          () => {
            if (!r.complete) ctx.inconclusive('the trace ended before the cancel deadline')
            else ctx.checked()
          },
        )
        watched.set(r, t)
      },
      'app:Complete': (step) => {
        const r = step.app
        const t = r && watched.get(r)
        if (!r || !t) return
        watched.delete(r)
        // Completed: the deadline, reached or not, only counts the check (the request is forgotten).
        ctx.replace(t, countCheck, countCheck)
        const status = num(step.ev.f.Status)
        if (status === undefined) return ctx.inconclusive('AppComplete without Status')
        if (status === 0) {
          ctx.report({
            message: `application request ${r.id} completed with success after it was cancelled (legal only if the data had already been transferred)`,
            severity: 'info',
            pid: step.ev.pid,
            sock: step.sock,
            evidence: [['request', r.req], ['cancel', r.cancel], ['complete', step.ev]],
            measured: {status: errorName(status)},
          })
        }
      },
    }
  },
}
