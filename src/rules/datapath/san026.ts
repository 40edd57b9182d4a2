import {E, errorName} from '../../model/constants.js'
import {type Ev, num, str} from '../../model/event.js'
import type {Op, Sock, Step} from '../../model/state.js'
import {formatDuration as fd} from '../../util/duration.js'
import {C, S} from '../refs.js'
import type {RuleModule} from '../types.js'
import {Completions, TRANSFER_CALL_KEYS, TRANSFER_LIST, gorResult, opName, resultText, retClass, when} from './common.js'

/** Errors of WSPGetOverlappedResult that say "no such operation" rather than report a completion. */
const NOT_AN_OPERATION = new Set([6 /* WSA_INVALID_HANDLE */, 10022 /* WSAEINVAL */, E.WSAENOTSOCK])
const COMPLETION_KEYS = ['up:WPUCompleteOverlappedRequest', 'ret:WSPGetOverlappedResult', 'prov:OpDone']
const CLOSED_STATES = new Set(['CLOSING', 'CLOSED', 'RELEASED'])

/** SAN026: an operation that returned WSA_IO_PENDING completes exactly once; a failed one never. */
export const SAN026: RuleModule = {
  meta: {
    id: 'SAN026',
    title: 'Exactly-once completion',
    severity: 'error',
    fault: 'provider',
    section: 'F. Data path and completion',
    refs: [S('nc-ws2spi-lpwspsend'), C('completing-data-transfer-requests'), C('closing-a-san-socket')],
    docs: {
      checks:
        `Follows each overlapped operation (${TRANSFER_LIST}, overlapped WSPIoctl) through the §3.2 state machine: WSA_IO_PENDING = started, Rc=0 = completed inline, any other error = failed synchronously. A completion signal is WPUCompleteOverlappedRequest, OpDone, or the first WSPGetOverlappedResult that returns a final status (later identical reads are idempotent). Violations: any completion signal for an operation that failed synchronously (before or after its return), a completion for an OVERLAPPED no operation of the process was issued with, and a second WPUCompleteOverlappedRequest for the same operation. An inline completion may still get one late notification. An operation still pending when the trace ends on a socket that is still open is reported as info (closed sockets are SAN030's).`,
      why: 'The switch completes one application request per completion it receives. A second completion completes a request twice or completes whichever request reused the OVERLAPPED; a completion for an operation that failed synchronously makes the switch report both a failure and a success; a completion for an unknown OVERLAPPED writes into memory the switch may have reused.',
      fix: 'In the provider, complete each posted work request exactly once: call WPUCompleteOverlappedRequest (or update the OVERLAPPED for polled operations) only for requests that returned WSA_IO_PENDING, and never post or complete a request whose WSPSend/WSPRecv returned an error.',
      example: [
        '+0.000 s  SpiCall WSPSend Socket=0x2a0 Overlapped=0x7000',
        '+0.000 s  SpiReturn WSPSend Rc=-1 Errno=WSAENOTCONN',
        '+0.002 s  Upcall WPUCompleteOverlappedRequest SwitchSocket=0x3c4 Overlapped=0x7000 DwError=0   <- completion for a failed operation',
      ],
    },
    thresholds: {},
    needs: [
      {keys: TRANSFER_CALL_KEYS, why: `data-transfer calls (${TRANSFER_LIST})`},
      {keys: COMPLETION_KEYS, why: 'completion signals (WPUCompleteOverlappedRequest, WSPGetOverlappedResult, OpDone)'},
    ],
    instance: 'overlapped operation or completion signal',
  },
  create(ctx) {
    const tr = new Completions()
    /** Processes whose WSPStartupEx is in the trace: every operation of theirs was seen. */
    const started = new Set<number>()

    const syncError = (op: Op): number | undefined => num(op.ret?.f.Errno)

    const failedOp = (op: Op, signal: Ev, what: string): void => {
      ctx.report({
        message: `${what} for ${opName(op)} on ${op.sock?.s ?? '?'}, which failed synchronously with ${errorName(syncError(op))}: an operation that did not return WSA_IO_PENDING must never complete`,
        sock: op.sock,
        evidence: [
          ['operation', op.call],
          ['synchronous failure', op.ret],
          ['completion', signal],
        ],
      })
    }

    const unknown = (step: Step, ov: string, sock: Sock | undefined, what: string): void => {
      if (sock?.created === undefined && !started.has(step.ev.pid)) {
        ctx.inconclusive('completion for an OVERLAPPED not issued in the trace, on a socket that may predate it')
        return
      }
      ctx.checked()
      const on = sock ? ` (socket ${sock.s}${sock.release ? ', already released' : ''})` : ''
      ctx.report({
        message: `${what} for unknown OVERLAPPED ${ov}${on}: no operation of process ${step.ev.pid} is outstanding or known under this OVERLAPPED (spurious completion)`,
        sock,
        pid: step.ev.pid,
        evidence: [
          ['socket created', sock?.created],
          ['spurious completion', step.ev],
        ],
        measured: {overlapped: ov},
      })
    }

    return {
      'call:WSPStartupEx': (step) => {
        started.add(step.ev.pid)
      },
      'ret:*': (step) => {
        const op = step.call?.op
        if (!op || op.ret !== step.ev) return
        const cls = retClass(op)
        if (!cls) return ctx.inconclusive(`${op.fn} return without Rc`)
        ctx.checked()
        if (cls !== 'failed') return
        // A completion signal that came before the call returned a synchronous failure.
        const early = op.upcall ?? op.opDone ?? tr.gor(op)
        if (early) failedOp(op, early.ev, early.ev.fn)
      },
      'up:WPUCompleteOverlappedRequest': (step) => {
        const ov = str(step.ev.f.Overlapped)
        if (ov === undefined) return ctx.inconclusive('WPUCompleteOverlappedRequest without an Overlapped field')
        const op = step.op
        if (!op) return unknown(step, ov, step.sock, 'WPUCompleteOverlappedRequest')
        ctx.checked()
        const cls = retClass(op)
        if (cls === 'failed') return failedOp(op, step.ev, 'WPUCompleteOverlappedRequest')
        if (op.upcalls >= 2 && op.upcall) {
          const inline = cls === 'immediate' ? ' (it completed inline with Rc=0: one late notification is tolerated, not two)' : ''
          ctx.report({
            message: `second WPUCompleteOverlappedRequest for ${opName(op)} on ${op.sock?.s ?? '?'}${inline}; the first at ${when(op.upcall.ev)} reported ${resultText(op.upcall)}, this one ${resultText({status: num(step.ev.f.DwError), bytes: num(step.ev.f.CbTransferred)})}`,
            sock: op.sock,
            evidence: [
              ['operation', op.call],
              ['return', op.ret],
              ['first completion', op.upcall.ev],
              ['second completion', step.ev],
            ],
            measured: {upcalls: op.upcalls},
          })
        }
      },
      'prov:OpDone': (step) => {
        const ov = str(step.ev.f.Overlapped)
        if (ov === undefined) return
        const op = step.op
        if (!op) return unknown(step, ov, step.sock, 'OpDone')
        ctx.checked()
        if (retClass(op) === 'failed') failedOp(op, step.ev, 'OpDone')
      },
      'ret:WSPGetOverlappedResult': (step) => {
        const g = gorResult(step)
        if (!g || !g.final || g.ov === undefined) return
        if (!g.op) {
          if (g.status !== 0 && g.status !== undefined && NOT_AN_OPERATION.has(g.status)) return
          return unknown(step, g.ov, step.sock, `WSPGetOverlappedResult returning ${statusOf(g.status)}`)
        }
        const op = g.op
        if (!tr.onGor(op, {ev: step.ev, status: g.status, bytes: g.bytes})) return
        ctx.checked()
        if (retClass(op) !== 'failed') return
        // Reporting the operation's own synchronous error (or "no such operation") is consistent, not a completion.
        if (g.status !== 0 && g.status !== undefined && (g.status === syncError(op) || NOT_AN_OPERATION.has(g.status))) return
        failedOp(op, step.ev, `WSPGetOverlappedResult returning ${statusOf(g.status)}`)
      },
      end: () => {
        // Without any completion signal in the trace, a missing completion proves nothing.
        if (!COMPLETION_KEYS.some((k) => ctx.model.seen.has(k))) return
        const last = ctx.model.lastTs
        for (const p of ctx.model.procs.values()) {
          for (const k of p.sockets.values()) {
            if (CLOSED_STATES.has(k.state)) continue
            for (const op of k.pending) {
              if (retClass(op) !== 'pending' || tr.first(op) || !op.ret) continue
              ctx.report({
                message: `${opName(op)} on ${k.s} returned WSA_IO_PENDING at ${when(op.ret)} and was never completed: still pending ${fd(last - op.ret.ts)} later when the trace ended (socket still open)`,
                severity: 'info',
                sock: k,
                ts: last,
                evidence: [
                  ['operation', op.call],
                  ['pending since', op.ret],
                ],
                measured: {pendingNs: last - op.ret.ts},
              })
            }
          }
        }
      },
    }
  },
}

function statusOf(status: number | undefined): string {
  return status === 0 ? 'TRUE' : `FALSE/${errorName(status)}`
}
