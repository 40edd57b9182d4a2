import {isNonNull} from '../../model/event.js'
import type {Op, Step} from '../../model/state.js'
import {formatDuration as fd} from '../../util/duration.js'
import {C, S} from '../refs.js'
import type {RuleListener, RuleModule} from '../types.js'
import {Completions, TRANSFER_CALL_KEYS, TRANSFER_LIST, TRANSFER_RET_KEYS, gorResult, opName, when} from './common.js'

/** SAN025: every outstanding overlapped operation has its own OVERLAPPED. */
export const SAN025: RuleModule = {
  meta: {
    id: 'SAN025',
    title: 'OVERLAPPED reused while outstanding',
    severity: 'error',
    fault: 'switch',
    section: 'F. Data path and completion',
    refs: [S('nc-ws2spi-lpwspsend'), C('completing-data-transfer-requests')],
    docs: {
      checks:
        `At each ${TRANSFER_LIST} call (and each overlapped WSPIoctl), the OVERLAPPED pointer must not be the one of another operation of the same process, on any socket, that is still outstanding: issued and not yet returned, or returned WSA_IO_PENDING and not yet completed (by WPUCompleteOverlappedRequest, OpDone or a final WSPGetOverlappedResult). Operations that completed inline (Rc=0) or failed synchronously free their OVERLAPPED at once.`,
      why: 'The provider writes the result (Internal, InternalHigh, Offset, OffsetHigh) into the OVERLAPPED when the operation completes, and the switch finds its request from that pointer. Two outstanding operations on one OVERLAPPED overwrite each other\'s status and byte count: one application request completes twice with the other\'s data length, the other never completes.',
      fix: 'In the switch, allocate one OVERLAPPED per outstanding SAN operation and return it to the pool only after the operation\'s completion was consumed (upcall received or final WSPGetOverlappedResult read).',
      example: [
        '+0.000 s  SpiCall WSPRecv Socket=0x2a0 Overlapped=0x7040 HEvent=0x1f0',
        '+0.000 s  SpiReturn WSPRecv Rc=-1 Errno=WSA_IO_PENDING',
        '+0.010 s  SpiCall WSPSend Socket=0x2a0 Overlapped=0x7040   <- 0x7040 still belongs to the pending WSPRecv',
      ],
    },
    thresholds: {},
    needs: [
      {keys: TRANSFER_CALL_KEYS, why: `data-transfer calls (${TRANSFER_LIST})`},
      {keys: TRANSFER_RET_KEYS, why: 'returns of data-transfer calls (operation states)'},
    ],
    instance: 'overlapped data-transfer call',
  },
  create(ctx) {
    const tr = new Completions()
    /** pid → OVERLAPPED → the latest operation issued on it, while outstanding. */
    const live = new Map<number, Map<string, Op>>()

    const forget = (op: Op): void => {
      const m = live.get(op.pid)
      if (m?.get(op.ov) === op) {
        m.delete(op.ov)
        if (m.size === 0) live.delete(op.pid)
      }
    }

    const issue = (step: Step): void => {
      const op = step.call?.op
      const ev = step.ev
      if (!op) {
        if (ev.fn !== 'WSPIoctl' && ev.f.Overlapped === undefined) ctx.inconclusive(`${ev.fn} without an Overlapped field`)
        return
      }
      ctx.checked()
      let m = live.get(op.pid)
      if (!m) live.set(op.pid, (m = new Map()))
      const prev = m.get(op.ov)
      if (prev && prev !== op && tr.outstanding(prev)) {
        const where = prev.sock && prev.sock !== op.sock ? ` on ${prev.sock.s}` : ''
        const state = prev.ret ? `pending since ${when(prev.ret)}` : `issued at ${when(prev.call)} and not yet returned`
        ctx.report({
          message: `${ev.fn} on ${op.sock?.s ?? '?'} reuses OVERLAPPED ${op.ov} while ${opName(prev)}${where} is still outstanding (${state}, ${fd(ev.ts - prev.call.ts)} ago)`,
          sock: op.sock,
          evidence: [
            ['outstanding operation', prev.call],
            ['its return', prev.ret],
            ['reusing call', ev],
          ],
          measured: {overlapped: op.ov, outstandingNs: ev.ts - prev.call.ts},
        })
      }
      m.set(op.ov, op)
    }

    const settle = (step: Step): void => {
      const op = step.op
      if (op && !tr.outstanding(op)) forget(op)
    }

    const handlers: RuleListener = {
      'call:WSPIoctl': (step) => {
        if (isNonNull(step.ev.f.Overlapped)) issue(step)
      },
      'ret:WSPGetOverlappedResult': (step) => {
        const g = gorResult(step)
        if (g?.op && g.final) tr.onGor(g.op, {ev: step.ev, status: g.status, bytes: g.bytes})
        if (g?.op && !tr.outstanding(g.op)) forget(g.op)
      },
      'up:WPUCloseSocketHandle': (step) => {
        // The socket is gone: operations it never completed cannot be completed any more (SAN030/SAN032 report them).
        if (step.sock) for (const op of step.sock.pending) forget(op)
      },
      'ret:*': settle,
      'up:WPUCompleteOverlappedRequest': settle,
      'prov:OpDone': settle,
    }
    for (const k of TRANSFER_CALL_KEYS) handlers[k] = issue
    return handlers
  },
}
