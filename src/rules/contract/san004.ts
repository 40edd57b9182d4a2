import {errorName} from '../../model/constants.js'
import {num} from '../../model/event.js'
import type {Sock} from '../../model/state.js'
import {C, R} from '../refs.js'
import type {RuleModule, Severity} from '../types.js'
import {type Forbidden, failureOf, forbidden, forbiddenStatus} from './codes.js'

const sourceText = (f: Forbidden): string => (f.conf === 'V' ? 'the SAN reference page lists it as not supported' : 'inferred, the page does not say so')

/** SAN004: error codes the reference pages say a SAN provider never returns. */
export const SAN004: RuleModule = {
  meta: {
    id: 'SAN004',
    title: 'Error code explicitly unsupported for SAN',
    severity: 'error',
    fault: 'provider',
    section: 'A. Contract-wide',
    refs: [R('ff566273'), R('ff566297'), R('ff566270'), R('ff566287'), R('ff566284'), R('ff566282'), C('blocking-calls-for-a-san')],
    docs: {
      checks:
        'Every failed SPI return is compared with the codes its SAN reference page marks as not supported: WSPCloseSocket WSAEINPROGRESS/WSAEWOULDBLOCK; WSPListen WSAEADDRINUSE/WSAEINPROGRESS/WSAEOPNOTSUPP; WSPCleanup WSAEINVAL; WSPEventSelect, WSPEnumNetworkEvents and WSPDuplicateSocket WSAEINPROGRESS (errors). For every function WSAEINPROGRESS and WSAEINTR are never legitimate because the switch never issues cancel-blocking calls; where the page does not say so this is inferred and reported as a warning. The dwError of WPUCompleteOverlappedRequest is checked the same way (warning). On a socket in the abort regime (SAN036) failures of calls other than WSPCloseSocket are expected and reported as info.',
      why: 'The switch decides what to do next from the error code: a close that reports WSAEWOULDBLOCK makes the switch believe the socket is still open, WSAEINPROGRESS or WSAEINTR make it wait for a blocking call that does not exist, and an address-in-use on listen defeats the switch\'s own address handling. The application then hangs or sees a misleading error.',
      fix: 'In the provider, map internal failures to the codes the SAN reference page documents for the function (for example WSAENETDOWN for adapter failures, WSAENOBUFS for resource exhaustion), never to codes the page marks as not supported.',
      example: ['+0.000 s  SpiCall WSPCloseSocket Socket=0x2a0', '+0.001 s  SpiReturn WSPCloseSocket Rc=-1 Errno=WSAEWOULDBLOCK   <- not supported for SAN'],
    },
    thresholds: {},
    needs: [{keys: ['ret:*', 'up:WPUCompleteOverlappedRequest'], why: 'SPI returns (SpiReturn events) or completion upcalls'}],
    instance: 'SPI return or completion status',
  },
  create(ctx) {
    /** In the abort regime, provider failures of calls other than close are expected (SAN036). */
    const inAbort = (k: Sock | undefined, fn: string): boolean => !!k?.abort && fn !== 'WSPCloseSocket'
    const severity = (f: Forbidden, abort: boolean): Severity => (abort ? 'info' : f.conf === 'V' ? 'error' : 'warning')

    return {
      'ret:*': (step) => {
        const ev = step.ev
        const {failed, err} = failureOf(ev)
        if (failed === undefined) return ctx.inconclusive('return without Rc')
        ctx.checked()
        if (!failed || err === undefined) return
        const f = forbidden(ev.fn, err)
        if (!f) return
        const k = step.sock
        const abort = inAbort(k, ev.fn)
        const on = k ? ` on ${k.s}` : ''
        ctx.report({
          message: `${ev.fn}${on} failed with ${errorName(err)}, a code a SAN provider never returns for it: ${f.why} (${sourceText(f)})${abort ? `; the socket is in the abort regime (${k!.abort!.reason})` : ''}`,
          severity: severity(f, abort),
          sock: k,
          pid: ev.pid,
          evidence: [['call', step.call?.ev], ['return', ev], ...(abort ? [['abort', k!.abort!.ev] as ['abort', typeof ev]] : [])],
        })
      },
      'up:WPUCompleteOverlappedRequest': (step) => {
        const ev = step.ev
        const status = num(ev.f.DwError)
        if (status === undefined) return ctx.inconclusive('WPUCompleteOverlappedRequest without DwError')
        ctx.checked()
        const f = forbiddenStatus(status)
        if (!f) return
        const op = step.op
        const k = step.sock ?? op?.sock
        const abort = inAbort(k, op?.fn ?? '')
        const what = op ? `${op.fn} (OVERLAPPED ${op.ov})` : `OVERLAPPED ${String(ev.f.Overlapped)}`
        ctx.report({
          message: `WPUCompleteOverlappedRequest completed ${what} with ${errorName(status)}, never a valid completion status on a SAN: ${f.why} (${sourceText(f)})${abort ? `; the socket is in the abort regime (${k!.abort!.reason})` : ''}`,
          severity: severity(f, abort),
          sock: k,
          pid: ev.pid,
          evidence: [['operation', op?.call], ['completion', ev]],
        })
      },
    }
  },
}
