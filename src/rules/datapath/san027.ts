import {type Ev, str} from '../../model/event.js'
import type {Completion, Op, Sock} from '../../model/state.js'
import {formatDuration as fd} from '../../util/duration.js'
import {C} from '../refs.js'
import type {RuleModule, TimerHandle} from '../types.js'
import {Completions, TRANSFER_CALL_KEYS, TRANSFER_LIST, gorResult, opName, resultText, retClass, when} from './common.js'

/** SAN027: hEvent bit 0 set = the switch polls, no upcall; clear = WPUCompleteOverlappedRequest is required. */
export const SAN027: RuleModule = {
  meta: {
    id: 'SAN027',
    title: 'Notification mode (hEvent low bit)',
    severity: 'error',
    fault: 'provider',
    section: 'F. Data path and completion',
    refs: [C('completing-data-transfer-requests')],
    docs: {
      checks:
        'For each overlapped operation, the low bit of the OVERLAPPED hEvent gives the mode. Poll mode (bit 0 = 1): any WPUCompleteOverlappedRequest for it is a violation. Notify mode (bit 0 = 0) and the call returned WSA_IO_PENDING: once the completion is evident (OpDone, or a WSPGetOverlappedResult returning a final status), WPUCompleteOverlappedRequest must follow within the notify grace period; an operation pending when WSPCloseSocket began whose socket is then released (WPUCloseSocketHandle) without a completion upcall was aborted silently (SAN030 fires too). Any WPUQueueApc naming the OVERLAPPED of a switch-issued operation is a warning: the switch never passes a completion routine.',
      why: 'In notify mode the switch waits for the upcall to complete the application request: a provider that only updates the OVERLAPPED leaves the application blocked forever. In poll mode the switch reads the OVERLAPPED itself and has already recycled it: an unexpected upcall completes the request twice or completes a different request that reuses the OVERLAPPED.',
      fix: 'In the provider, test hEvent & 1 when the operation is posted. Clear: call WPUCompleteOverlappedRequest with the switch socket handle when the work request completes (including flushes on close). Set: only update the OVERLAPPED (Offset, OffsetHigh, InternalHigh, then Internal) and never call back. Never queue APCs for switch operations.',
      example: [
        '+0.000 s  SpiCall WSPRecv Socket=0x2a0 Overlapped=0x7040 HEvent=0x1f1   (bit 0 set: poll mode)',
        '+0.000 s  SpiReturn WSPRecv Rc=-1 Errno=WSA_IO_PENDING',
        '+0.004 s  Upcall WPUCompleteOverlappedRequest SwitchSocket=0x3c4 Overlapped=0x7040   <- notification in poll mode',
      ],
    },
    thresholds: {
      notifyGrace: {
        flag: 'notify-grace',
        default: '1000ms',
        description: 'time after a notify-mode operation completed in the provider (OpDone or final WSPGetOverlappedResult) within which WPUCompleteOverlappedRequest must be made',
      },
    },
    needs: [
      {keys: TRANSFER_CALL_KEYS, why: `data-transfer calls (${TRANSFER_LIST})`},
      {
        keys: ['up:WPUCompleteOverlappedRequest', 'prov:OpDone', 'ret:WSPGetOverlappedResult', 'up:WPUQueueApc', 'up:WPUCloseSocketHandle'],
        why: 'completion evidence (WPUCompleteOverlappedRequest, OpDone, WSPGetOverlappedResult, WPUQueueApc or WPUCloseSocketHandle)',
      },
    ],
    instance: 'overlapped operation with a known notification mode and completion evidence',
  },
  create(ctx) {
    const grace = ctx.t.notifyGrace
    const tr = new Completions()
    const reported = new WeakSet<Op>()
    const timed = new WeakSet<Op>()
    /** Notify-grace timers still pending, by operation: once the upcall settles the verdict, replaced by a bare check count (the operation is let go). */
    const timers = new Map<Op, TimerHandle>()
    /** Notify-mode operations pending when the socket's close began, kept until its switch handle is released. */
    const atClose = new Map<Sock, {close: Ev; ops: Op[]}>()

    const hEvent = (op: Op): string => str(op.call.f.HEvent) ?? '?'

    const judge = (op: Op, evidence: Completion, deadline: number): void => {
      if (reported.has(op)) return
      const cls = retClass(op)
      if (cls === 'immediate' || cls === 'failed') return
      if (!op.upcall && cls === undefined) return ctx.inconclusive('the operation\'s call had not returned when its notification was due')
      ctx.checked()
      if (op.upcall) return
      reported.add(op)
      ctx.report({
        message: `${opName(op)} on ${op.sock?.s ?? '?'} (hEvent ${hEvent(op)}, bit 0 clear: notify mode) was completed by the provider (${evidence.ev.fn} at ${when(evidence.ev)}: ${resultText(evidence)}) but no WPUCompleteOverlappedRequest followed within ${fd(grace)}`,
        sock: op.sock,
        ts: deadline,
        evidence: [
          ['operation', op.call],
          ['pending since', op.ret],
          ['completion evident', evidence.ev],
        ],
        measured: {graceNs: grace},
      })
    }

    /** The provider finished the operation: a notify-mode one now owes its upcall. */
    const evident = (op: Op, c: Completion): void => {
      if (op.pollMode === undefined) return ctx.inconclusive('operation without an HEvent field (notification mode unknown)')
      if (op.pollMode || op.upcall || timed.has(op)) return
      const cls = retClass(op)
      if (cls === 'immediate' || cls === 'failed') return
      timed.add(op)
      const deadline = c.ev.ts + grace
      const t = ctx.at(
        deadline,
        () => {
          timers.delete(op)
          judge(op, c, deadline)
        },
        () => {
          timers.delete(op)
          if (!op.upcall && !reported.has(op)) ctx.inconclusive('the trace ended within the notify grace period after the provider completed the operation')
        },
      )
      timers.set(op, t)
    }

    /** What a settled timer still does: count the check when its deadline is reached. */
    const countCheck = (): void => ctx.checked()

    /**
     * The upcall arrived while the grace timer runs: once the call's return is known the verdict
     * cannot change any more (an upcall is never unset, and an operation with one is never
     * reported). The timer then only counts the check at its deadline (or nothing), and what it
     * held is forgotten.
     */
    const notified = (op: Op): void => {
      const t = timers.get(op)
      if (!t || !op.upcall) return
      const cls = retClass(op)
      if (cls === undefined) return // the return may still make it an inline completion: judged at the deadline
      timers.delete(op)
      if (cls === 'pending' && !reported.has(op)) ctx.replace(t, countCheck)
      else ctx.cancel(t)
    }

    return {
      'up:WPUCompleteOverlappedRequest': (step) => {
        const op = step.op
        if (!op) return // unknown OVERLAPPED: SAN026
        notified(op)
        if (op.pollMode === undefined) return ctx.inconclusive('operation without an HEvent field (notification mode unknown)')
        ctx.checked()
        if (!op.pollMode) return
        ctx.report({
          message: `WPUCompleteOverlappedRequest for ${opName(op)} on ${op.sock?.s ?? '?'} whose hEvent ${hEvent(op)} has bit 0 set: the switch polls this operation with WSPGetOverlappedResult and the provider must not notify`,
          sock: op.sock,
          evidence: [
            ['poll-mode operation', op.call],
            ['notification', step.ev],
          ],
        })
      },
      'prov:OpDone': (step) => {
        const op = step.op
        if (op && op.opDone?.ev === step.ev) evident(op, op.opDone)
      },
      'ret:WSPGetOverlappedResult': (step) => {
        const g = gorResult(step)
        if (!g?.op || !g.final) return
        const c: Completion = {ev: step.ev, status: g.status, bytes: g.bytes}
        if (tr.onGor(g.op, c)) evident(g.op, c)
      },
      'call:WSPCloseSocket': (step) => {
        const k = step.sock
        if (!k || step.before === 'CLOSED' || step.before === 'RELEASED' || step.before === 'CLOSING') return
        const ops = [...k.pending].filter((op) => op.pollMode === false && retClass(op) === 'pending' && !op.upcall && tr.outstanding(op))
        if (ops.length) atClose.set(k, {close: step.ev, ops})
      },
      'up:WPUCloseSocketHandle': (step) => {
        const k = step.sock
        const snap = k && atClose.get(k)
        if (!k || !snap) return
        atClose.delete(k)
        for (const op of snap.ops) {
          ctx.checked()
          if (op.upcall || reported.has(op)) continue
          reported.add(op)
          ctx.report({
            message: `${opName(op)} on ${k.s} (notify mode) was pending when WSPCloseSocket began, and the socket was released by WPUCloseSocketHandle without a WPUCompleteOverlappedRequest for it: the aborted operation was never notified`,
            sock: k,
            evidence: [
              ['operation', op.call],
              ['close', snap.close],
              ['release', step.ev],
            ],
          })
        }
      },
      'ret:*': (step) => {
        // A descriptor issued again: its previous instance will never be released any more.
        const k = step.created
        if (!k) return
        for (const [old, snap] of atClose) {
          if (old.pid !== k.pid || old.s !== k.s || old === k) continue
          atClose.delete(old)
          for (const op of snap.ops) if (!op.upcall && !reported.has(op)) ctx.inconclusive('socket closed but not released in the trace: abort notification not judged')
        }
      },
      'up:WPUQueueApc': (step) => {
        const names = [str(step.ev.f.Overlapped), str(step.ev.f.Context)].filter((x): x is string => x !== undefined && x !== '0x0')
        const op = names.map((n) => step.proc.ops.get(n)).find((o) => o !== undefined)
        if (!op) return ctx.inconclusive('WPUQueueApc that names no OVERLAPPED of a switch-issued operation')
        ctx.checked()
        ctx.report({
          message: `WPUQueueApc for ${opName(op)} on ${op.sock?.s ?? '?'}: the switch never passes a completion routine, so no APC is needed (complete through ${op.pollMode ? 'the OVERLAPPED' : 'WPUCompleteOverlappedRequest'})`,
          severity: 'warning',
          sock: op.sock,
          evidence: [
            ['operation', op.call],
            ['APC', step.ev],
          ],
        })
      },
      end: () => {
        for (const snap of atClose.values()) {
          for (const op of snap.ops) if (!op.upcall && !reported.has(op)) ctx.inconclusive('socket closed but not released in the trace: abort notification not judged')
        }
        atClose.clear()
      },
    }
  },
}
