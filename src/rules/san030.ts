import {E, errorName} from '../model/constants.js'
import type {Ev} from '../model/event.js'
import type {Completion, Op, Sock, Step} from '../model/state.js'
import {formatDuration as fd} from '../util/duration.js'
import {C, R} from './refs.js'
import type {RuleModule, TimerHandle} from './types.js'

const ABORT_STATUSES = new Set([E.WSA_OPERATION_ABORTED, E.WSAECONNRESET, E.WSAECONNABORTED, E.WSAENETRESET, 0])

/** SAN030: on close the provider completes every pending operation, aborted. */
export const SAN030: RuleModule = {
  meta: {
    id: 'SAN030',
    title: 'Close aborts all pending operations',
    severity: 'error',
    fault: 'provider',
    section: 'G. Close and cancel',
    refs: [R('ff566273'), C('closing-a-san-socket')],
    docs: {
      checks:
        'At each WSPCloseSocket, the operations still outstanding on the socket are noted. Each must reach a completion signal within the grace period after the close returns: WPUCompleteOverlappedRequest for notify-mode operations (hEvent bit 0 clear), OpDone or a final WSPGetOverlappedResult for poll-mode ones. A success status produced after the close began, or a status other than WSA_OPERATION_ABORTED, WSAECONNRESET, WSAECONNABORTED or WSAENETRESET, is a warning. Poll-mode operations in a trace without OpDone events are not judged.',
      why: 'The switch frees the application buffers and completes the application requests only when the provider completes the operations. An operation left pending after close hangs the application request forever, and its buffer may still be written by the adapter after it was returned.',
      fix: 'In the provider, on WSPCloseSocket flush the connection (queue pair), release each pending operation\'s memory and complete it with WSA_OPERATION_ABORTED through WPUCompleteOverlappedRequest (or the OVERLAPPED for polled operations) before or promptly after returning.',
      example: [
        '+0.000 s  SpiCall WSPRecv Socket=0x2a0 Overlapped=0x7ffd1200 HEvent=0x1f0',
        '+0.000 s  SpiReturn WSPRecv Rc=-1 Errno=WSA_IO_PENDING',
        '+1.000 s  SpiCall WSPCloseSocket Socket=0x2a0',
        '+1.001 s  SpiReturn WSPCloseSocket Rc=0',
        '(no WPUCompleteOverlappedRequest for 0x7ffd1200 by +3.001 s)   <- violation',
      ],
    },
    thresholds: {
      closeGrace: {flag: 'close-grace', default: '2000ms', description: 'time after WSPCloseSocket returns within which every pending operation must be completed'},
    },
    needs: [{keys: ['call:WSPCloseSocket'], why: 'WSPCloseSocket calls'}],
    instance: 'WSPCloseSocket with operations pending',
  },
  create(ctx) {
    const grace = ctx.t.closeGrace
    const snapshots = new Map<Ev, {sock: Sock; ops: Op[]}>()
    /** A close's grace period still running: the operations it judges, and the timer. */
    interface Watch {
      ops: Op[]
      close: Ev
      timer?: TimerHandle
    }
    /** Running watches by operation (an operation may be pending at several closes). */
    const watching = new Map<Op, Watch[]>()

    const signal = (op: Op): Completion | undefined => (op.pollMode ? (op.opDone ?? op.gor) : op.upcall)

    /**
     * An operation's verdict can no longer change: it failed synchronously or completed inline
     * (final states), or its deciding completion signal arrived (the first of a kind is never
     * replaced; for poll mode only OpDone decides, since a later OpDone outranks a GOR).
     */
    const fixed = (op: Op): boolean =>
      op.state === 'FAILED_SYNC' || op.state === 'DONE_IMMEDIATE' || (op.pollMode ? op.opDone !== undefined : op.upcall !== undefined)

    /** A fixed operation that will be judged without a finding (what judge() does for it). */
    const clean = (op: Op, close: Ev): boolean => {
      if (op.state === 'FAILED_SYNC' || op.state === 'DONE_IMMEDIATE') return true
      const c = signal(op)!
      return !(c.status === 0 && c.ev.ts >= close.ts) && (c.status === undefined || ABORT_STATUSES.has(c.status))
    }

    /** What the timer of fixed, clean operations does, reached or not: count the checks. */
    const counter = (ops: Op[]): (() => void) => {
      let n = 0
      for (const op of ops) if (op.state !== 'FAILED_SYNC') n++
      return () => ctx.checked(n)
    }

    const unwatch = (w: Watch): void => {
      for (const op of w.ops) {
        const ws = watching.get(op)
        if (!ws) continue
        const j = ws.indexOf(w)
        if (j >= 0) ws.splice(j, 1)
        if (ws.length === 0) watching.delete(op)
      }
    }

    /**
     * Once every operation of a close is fixed and clean the timer can only count checks (at
     * its deadline, or at the end of a trace that stops before it): it keeps just that count,
     * and the operations it held are forgotten. A close with a finding to make keeps its
     * timer as it is.
     */
    const settle = (w: Watch): void => {
      for (const op of w.ops) if (!fixed(op) || !clean(op, w.close)) return
      unwatch(w)
      const count = counter(w.ops)
      ctx.replace(w.timer, count, count)
    }

    /** The step's operation may have become fixed: settle the watches it is in. */
    const resettle = (step: Step): void => {
      const ws = step.op && watching.get(step.op)
      if (ws) for (const w of [...ws]) settle(w)
    }

    const judge = (sock: Sock, close: Ev, closeRet: Ev | undefined, ops: Op[], deadlineNote: string): void => {
      for (const op of ops) {
        // An operation that failed synchronously or completed inline owes no completion signal.
        if (op.state === 'FAILED_SYNC') continue
        if (op.state === 'DONE_IMMEDIATE') {
          ctx.checked()
          continue
        }
        const c = signal(op)
        if (!c) {
          if (op.pollMode && !ctx.model.seen.has('prov:OpDone') && !op.gor) {
            ctx.inconclusive('poll-mode operation and the trace has no OpDone events')
            continue
          }
          ctx.checked()
          ctx.report({
            message: `${op.fn} (OVERLAPPED ${op.ov}, ${op.pollMode ? 'poll' : 'notify'} mode) was not completed ${deadlineNote} after WSPCloseSocket${op.pollMode ? '' : ': no WPUCompleteOverlappedRequest'}`,
            sock,
            evidence: [['operation', op.call], ['pending since', op.ret], ['close', close], ['close returned', closeRet]],
            measured: {graceNs: grace},
          })
          continue
        }
        ctx.checked()
        if (c.status === 0 && c.ev.ts >= close.ts) {
          ctx.report({
            message: `${op.fn} (OVERLAPPED ${op.ov}) completed with success after WSPCloseSocket began; pending operations should be aborted with WSA_OPERATION_ABORTED`,
            severity: 'warning',
            sock,
            evidence: [['operation', op.call], ['close', close], ['completion', c.ev]],
          })
        } else if (c.status !== undefined && !ABORT_STATUSES.has(c.status)) {
          ctx.report({
            message: `${op.fn} (OVERLAPPED ${op.ov}) was completed at close with ${errorName(c.status)}; expected WSA_OPERATION_ABORTED or a connection error`,
            severity: 'warning',
            sock,
            evidence: [['operation', op.call], ['close', close], ['completion', c.ev]],
          })
        }
      }
    }

    return {
      'call:WSPCloseSocket': (step) => {
        const k = step.sock
        if (!k || k.pending.size === 0 || step.call?.before === 'CLOSED' || step.call?.before === 'RELEASED') return
        snapshots.set(step.ev, {sock: k, ops: [...k.pending]})
      },
      'ret:WSPCloseSocket': (step) => {
        const close = step.call?.ev
        const snap = close && snapshots.get(close)
        if (!close || !snap) return
        snapshots.delete(close)
        const deadline = step.ev.ts + grace
        const closeRet = step.ev
        const w: Watch = {ops: snap.ops, close}
        w.timer = ctx.at(
          deadline,
          () => {
            unwatch(w)
            judge(snap.sock, close, closeRet, snap.ops, `within ${fd(grace)}`)
          },
          () => {
            unwatch(w)
            // The trace ended inside the grace period: operations already completed can still be judged.
            const done = snap.ops.filter((op) => signal(op) || op.state === 'FAILED_SYNC' || op.state === 'DONE_IMMEDIATE')
            judge(snap.sock, close, closeRet, done, `within ${fd(grace)}`)
            for (let j = done.length; j < snap.ops.length; j++) ctx.inconclusive('the trace ended within the grace period after close')
          },
        )
        for (const op of snap.ops) {
          const ws = watching.get(op)
          if (ws) ws.push(w)
          else watching.set(op, [w])
        }
        settle(w)
      },
      // What can fix an operation: its return, a completion upcall, OpDone.
      'ret:*': resettle,
      'up:WPUCompleteOverlappedRequest': resettle,
      'prov:OpDone': resettle,
      end: () => {
        // Closes that never returned: judge against the call time.
        const last = ctx.model.lastTs
        for (const [close, snap] of snapshots) {
          if (last - close.ts > grace) judge(snap.sock, close, undefined, snap.ops, `${fd(last - close.ts)} (close never returned)`)
          else for (const _ of snap.ops) ctx.inconclusive('the trace ended within the grace period after close')
        }
      },
    }
  },
}
