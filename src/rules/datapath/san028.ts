import {E, errorName} from '../../model/constants.js'
import {type Ev, num, str} from '../../model/event.js'
import type {Completion, Op, Sock} from '../../model/state.js'
import {C, R, S} from '../refs.js'
import type {RuleModule} from '../types.js'
import {Completions, gorResult, isTransfer, opName, requested, resultText, retClass, when} from './common.js'

/** SAN028: WSPGetOverlappedResult agrees with the provider's completion; sizes and zero-byte receives make sense. */
export const SAN028: RuleModule = {
  meta: {
    id: 'SAN028',
    title: 'Completion result consistency',
    severity: 'warning',
    fault: 'provider',
    section: 'F. Data path and completion',
    refs: [R('ff566288'), R('ff565952'), S('nf-ws2spi-wpucompleteoverlappedrequest'), C('duplicating-socket-handles-for-a-san')],
    docs: {
      checks:
        'Compares the results the provider gives for one operation. WSPGetOverlappedResult reporting a final status before the provider logged OpDone for the operation, in a process where OpDone is traced (info); WSPGetOverlappedResult returning WSA_IO_INCOMPLETE after the operation\'s WPUCompleteOverlappedRequest already returned (warning); a final WSPGetOverlappedResult whose status or byte count differs from the WPUCompleteOverlappedRequest (or, without an upcall, the OpDone) of the same operation (warning); any completion reporting more bytes than the transfer requested (error); a WSPRecv completing with success and 0 bytes outside a WSPDuplicateSocket (warning); WSPGetOverlappedResult called with fWait=TRUE (info, switch).',
      why: 'The switch completes the application request with the status and byte count it reads. If polling and notification disagree, or the byte count exceeds the buffer, the application gets a wrong length or reads past its data; a zero-byte successful receive looks like an end of stream to the switch, which has no such thing at the SAN layer (graceful close is a session message), so the connection is torn down.',
      fix: 'In the provider, write the OVERLAPPED (OffsetHigh = error, InternalHigh = bytes, then Internal) from the same completion entry that feeds WPUCompleteOverlappedRequest, before the upcall; never report more than the posted buffer length; complete receives with 0 bytes only when flushing them for WSPDuplicateSocket.',
      example: [
        '+0.000 s  SpiCall WSPRecv Socket=0x2a0 Overlapped=0x7040 TotalLen=4096',
        '+0.003 s  Upcall WPUCompleteOverlappedRequest Overlapped=0x7040 DwError=0 CbTransferred=512',
        '+0.004 s  SpiReturn WSPGetOverlappedResult Rc=1 BytesOut=4096   <- 4096 bytes polled, 512 notified',
      ],
    },
    thresholds: {},
    needs: [
      {
        keys: ['up:WPUCompleteOverlappedRequest', 'ret:WSPGetOverlappedResult', 'prov:OpDone', 'call:WSPGetOverlappedResult'],
        why: 'completion signals (WPUCompleteOverlappedRequest, WSPGetOverlappedResult, OpDone)',
      },
    ],
    instance: 'completion signal or WSPGetOverlappedResult call',
  },
  create(ctx) {
    const tr = new Completions()
    const opDonePids = new Set<number>()
    const once = {early: new WeakSet<Op>(), incomplete: new WeakSet<Op>(), mismatch: new WeakSet<Op>(), over: new WeakSet<Op>(), zero: new WeakSet<Op>()}
    /** Sockets inside a WSPDuplicateSocket call. */
    const duplicating = new Map<Sock, Ev>()

    const inDuplication = (k: Sock | undefined): boolean => !!k && (duplicating.has(k) || k.state === 'DUPLICATED_OUT')

    const judge = (op: Op, c: Completion, what: string): void => {
      ctx.checked()
      const req = requested(op)
      if (isTransfer(op) && c.bytes !== undefined && req !== undefined && c.bytes > req && !once.over.has(op)) {
        once.over.add(op)
        ctx.report({
          message: `${opName(op)} on ${op.sock?.s ?? '?'} completed with ${c.bytes} bytes (${what}), more than the ${req} bytes requested`,
          severity: 'error',
          sock: op.sock,
          evidence: [
            ['operation', op.call],
            ['completion', c.ev],
          ],
          measured: {bytes: c.bytes, requested: req},
        })
      }
      if (op.fn === 'WSPRecv' && c.status === 0 && c.bytes === 0 && req !== 0 && !inDuplication(op.sock) && !once.zero.has(op)) {
        once.zero.add(op)
        ctx.report({
          message: `${opName(op)} on ${op.sock?.s ?? '?'} completed with success and 0 bytes (${what}) outside a WSPDuplicateSocket: a SAN receive has no zero-byte end of stream (graceful close is a switch session message)`,
          sock: op.sock,
          evidence: [
            ['operation', op.call],
            ['zero-byte completion', c.ev],
          ],
        })
      }
    }

    const compare = (op: Op, g: Completion, ref: Completion, refName: string): void => {
      if (once.mismatch.has(op)) return
      const statusDiffers = g.status !== undefined && ref.status !== undefined && g.status !== ref.status
      const bytesDiffer = g.bytes !== undefined && ref.bytes !== undefined && g.bytes !== ref.bytes
      if (!statusDiffers && !bytesDiffer) return
      once.mismatch.add(op)
      ctx.report({
        message: `WSPGetOverlappedResult for ${opName(op)} on ${op.sock?.s ?? '?'} reported ${resultText(g)} but ${refName} reported ${resultText(ref)}`,
        sock: op.sock,
        evidence: [
          ['operation', op.call],
          [refName, ref.ev],
          ['polled result', g.ev],
        ],
        measured: {polledBytes: g.bytes ?? '', notifiedBytes: ref.bytes ?? '', polledStatus: g.status ?? '', notifiedStatus: ref.status ?? ''},
      })
    }

    return {
      'call:WSPDuplicateSocket': (step) => {
        if (step.sock) duplicating.set(step.sock, step.ev)
      },
      'ret:WSPDuplicateSocket': (step) => {
        if (step.sock) duplicating.delete(step.sock)
      },
      'call:WSPGetOverlappedResult': (step) => {
        ctx.checked()
        if (step.ev.f.FWait !== true) return
        ctx.report({
          message: `WSPGetOverlappedResult on ${step.sock?.s ?? '?'} (OVERLAPPED ${str(step.ev.f.Overlapped) ?? '?'}) with fWait=TRUE: the switch polls with fWait=FALSE, and providers may reject a waiting call`,
          severity: 'info',
          fault: 'switch',
          sock: step.sock,
          evidence: [['call', step.ev]],
        })
      },
      'ret:*': (step) => {
        const op = step.call?.op
        if (!op || op.ret !== step.ev || retClass(op) !== 'immediate') return
        judge(op, {ev: step.ev, status: 0, bytes: num(step.ev.f.BytesOut)}, 'inline completion, Rc=0')
      },
      'up:WPUCompleteOverlappedRequest': (step) => {
        const op = step.op
        if (!op) return
        const c: Completion = {ev: step.ev, status: num(step.ev.f.DwError), bytes: num(step.ev.f.CbTransferred)}
        judge(op, c, 'WPUCompleteOverlappedRequest')
        const g = tr.gor(op)
        if (g && op.upcall?.ev === step.ev) compare(op, g, c, 'WPUCompleteOverlappedRequest')
      },
      'prov:OpDone': (step) => {
        opDonePids.add(step.ev.pid)
        const op = step.op
        if (!op) return
        const c: Completion = {ev: step.ev, status: num(step.ev.f.Error), bytes: num(step.ev.f.Bytes)}
        judge(op, c, 'OpDone')
        const g = tr.gor(op)
        if (g && !op.upcall && op.opDone?.ev === step.ev) compare(op, g, c, 'OpDone')
      },
      'ret:WSPGetOverlappedResult': (step) => {
        const g = gorResult(step)
        const op = g?.op
        if (!g || !op) return
        if (g.incomplete) {
          const r = op.upcallRet
          if (r && g.call && r.ts < g.call.ts && !once.incomplete.has(op)) {
            once.incomplete.add(op)
            ctx.report({
              message: `WSPGetOverlappedResult returned ${errorName(E.WSA_IO_INCOMPLETE)} for ${opName(op)} on ${op.sock?.s ?? '?'} after its WPUCompleteOverlappedRequest had already returned at ${when(r)}`,
              sock: op.sock,
              evidence: [
                ['operation', op.call],
                ['completion upcall', op.upcall?.ev],
                ['upcall returned', r],
                ['poll', step.ev],
              ],
            })
          }
          return
        }
        if (!g.final) return
        const c: Completion = {ev: step.ev, status: g.status, bytes: g.bytes}
        const first = tr.onGor(op, c)
        judge(op, c, 'WSPGetOverlappedResult')
        const cls = retClass(op)
        if (first && !op.opDone && opDonePids.has(step.ev.pid) && cls !== 'immediate' && cls !== 'failed' && !once.early.has(op)) {
          once.early.add(op)
          ctx.report({
            message: `WSPGetOverlappedResult reported ${opName(op)} on ${op.sock?.s ?? '?'} complete (${resultText(c)}) before the provider logged OpDone for it (OpDone is traced in process ${step.ev.pid})`,
            severity: 'info',
            sock: op.sock,
            evidence: [
              ['operation', op.call],
              ['polled result', step.ev],
            ],
          })
        }
        if (op.upcall) compare(op, c, op.upcall, 'WPUCompleteOverlappedRequest')
        else if (op.opDone) compare(op, c, op.opDone, 'OpDone')
      },
    }
  },
}
