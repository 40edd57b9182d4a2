import {ERROR_CODES as E, errorName} from '../../model/constants.js'
import {isNonNull, num} from '../../model/event.js'
import {C, R} from '../refs.js'
import type {RuleModule} from '../types.js'
import {ALLOWED, allowedText, confText, failureOf, forbidden, severityFor} from './codes.js'

const CLOSED = new Set(['CLOSED', 'RELEASED'])

/** SAN005: failure codes outside the function's documented list. */
export const SAN005: RuleModule = {
  meta: {
    id: 'SAN005',
    title: 'Error code outside the documented set',
    severity: 'warning',
    fault: 'provider',
    section: 'A. Contract-wide',
    refs: [
      R('ff566321'), R('ff566270'), R('ff566319'), R('ff566268'), R('ff566297'), R('ff566287'), R('ff566284'), R('ff566275'), R('ff566266'),
      R('ff566316'), R('ff566309'), R('ff566288'), R('ff566296'), R('ff566273'), R('ff566282'), R('ff566311'), R('ff566279'), R('ff566313'),
      R('ff566281'), R('ff566306'), R('ff566304'), R('ff566299'), C('windows-sockets-spi-functions-required-for-sans'),
    ],
    docs: {
      checks:
        'Every failed SPI return whose code SAN004 does not already report is compared with the codes documented for the function (wsd-rules §1.2). A code outside the list is a warning when the list was read in full, and info when only part of the page was readable or the list is inferred. Also accepted: WSAEWOULDBLOCK from WSPConnect, WSA_IO_PENDING from data transfers and overlapped WSPIoctl, WSA_IO_INCOMPLETE and the operation\'s own error from WSPGetOverlappedResult, WSAEFAULT from a WSPRegisterRdmaMemory size probe, and WSAENOTSOCK for any call on a closed descriptor. A failure that sets no error code at all is a warning. Failures of calls other than close on a socket in the abort regime (SAN036) are expected and not judged.',
      why: 'The switch keys its fallback logic on specific codes (for example, a failed WSPConnect falls back to TCP/IP unless the code is WSAECONNREFUSED, WSAECONNRESET or WSAEHOSTUNREACH). An undocumented code takes a path the switch was not written for: the application may get a meaningless error, or lose a TCP/IP fallback it should have had.',
      fix: 'In the provider, return only the codes documented for the function on its SAN reference page, and always set *lpErrno when failing.',
      example: ['+0.000 s  SpiCall WSPListen Socket=0x1a0 Backlog=16', '+0.001 s  SpiReturn WSPListen Rc=-1 Errno=WSAETIMEDOUT   <- not a WSPListen code'],
    },
    thresholds: {},
    needs: [{keys: ['ret:*'], why: 'SPI returns (SpiReturn events)'}],
    instance: 'SPI return',
  },
  create(ctx) {
    return {
      'ret:*': (step) => {
        const ev = step.ev
        const fn = ev.fn
        const {failed, err} = failureOf(ev)
        if (failed === undefined) return ctx.inconclusive('return without Rc')
        const list = ALLOWED[fn]
        if (!list) {
          if (failed) ctx.inconclusive(`no documented error list for ${fn}`)
          return
        }
        ctx.checked()
        if (!failed) return
        const k = step.sock
        const call = step.call?.ev
        if (k?.abort && fn !== 'WSPCloseSocket') return
        if (err === undefined || err === 0) {
          ctx.report({
            message: `${fn}${k ? ` on ${k.s}` : ''} failed (Rc=${String(ev.f.Rc)}) without setting an error code (Errno ${err === undefined ? 'absent' : '0'})`,
            sock: k,
            pid: ev.pid,
            evidence: [['call', call], ['return', ev]],
          })
          return
        }
        if (forbidden(fn, err)) return // SAN004
        if (list.codes.has(err)) return
        // Whitelist (§2 SAN005).
        if (fn === 'WSPConnect' && err === E.WSAEWOULDBLOCK) return
        if (err === E.WSA_IO_PENDING && (fn === 'WSPSend' || fn === 'WSPRecv' || fn === 'WSPRdmaWrite' || fn === 'WSPRdmaRead')) return
        if (err === E.WSA_IO_PENDING && fn === 'WSPIoctl' && isNonNull(call?.f.Overlapped)) return
        if (err === E.WSAENOTSOCK && step.call?.before && CLOSED.has(step.call.before)) return
        if (fn === 'WSPRegisterRdmaMemory' && err === E.WSAEFAULT) {
          const want = num(ev.f.DescriptorLenOut)
          const have = num(call?.f.DescriptorLenIn)
          if (want !== undefined && have !== undefined && have < want) return
        }
        if (fn === 'WSPGetOverlappedResult' && step.op) {
          // The operation's own error is reported through WSPGetOverlappedResult.
          const opList = ALLOWED[step.op.fn]
          if (opList?.codes.has(err) || err === E.WSA_OPERATION_ABORTED || (step.op.done?.ev !== ev && step.op.done?.status === err)) return
        }
        const severity = severityFor(list.conf)
        ctx.report({
          message: `${fn}${k ? ` on ${k.s}` : ''} failed with ${errorName(err)}, which is not among its documented codes (${allowedText(list)}; ${confText[list.conf]} list)`,
          severity,
          sock: k,
          pid: ev.pid,
          evidence: [['call', call], ['return', ev]],
        })
      },
    }
  },
}
