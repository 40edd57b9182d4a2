import {ruleTester} from '../../helpers/rule-tester.js'
import {WSA_IO_PENDING, WSA_OPERATION_ABORTED} from '../../../src/synth/builder.js'
import type {TraceBuilder} from '../../../src/synth/builder.js'
import {DATAPATH_RULES} from '../../../src/rules/datapath/index.js'

const P = 500
const T = 9
const CB = 40 // provider completion thread
const WSAENOTCONN = 10057
const WSA_IO_INCOMPLETE = 996

/** A connected socket (switch handle `h`) with registered memory. */
function connected(b: TraceBuilder, s = '0x2a0', h = '0x3c4', pid = P): void {
  b.connect(pid, T, s, h, '10.0.0.2:80')
  b.register(pid, T, s, '0x5000000', 65536, '0x9001')
}

/** WSPGetOverlappedResult whose return, like real traces, does not repeat the OVERLAPPED. */
function gor(b: TraceBuilder, ov: string, rc: number, err = 0, bytes?: number, s = '0x2a0', fWait = false): void {
  b.callRet(P, T, 'WSPGetOverlappedResult', {Socket: s, Overlapped: ov, FWait: fWait}, rc, err, 0.005, bytes === undefined ? {} : {BytesOut: bytes})
}

function opDone(b: TraceBuilder, ov: string, error: number, bytes: number, s = '0x2a0', reason = 'normal'): void {
  b.emit(P, undefined, 'OpDone', {Socket: s, Overlapped: ov, Error: error, Bytes: bytes, Notified: false, Reason: reason})
}

/** Moves past every grace period and ends the trace with an unrelated call. */
function end(b: TraceBuilder): void {
  b.wait(3000)
  b.callRet(P, T, 'WSPCleanup', {})
}

const sendFields = (ov: string, extra: Record<string, unknown> = {}) => ({
  Socket: '0x2a0',
  Overlapped: ov,
  HEvent: '0x1f0',
  CompletionRoutine: '0x0',
  Flags: 0,
  BufferCount: 1,
  TotalLen: 100,
  Buffers: [{Addr: '0x5000000', Len: 100}],
  ...extra,
})

ruleTester(
  'SAN025',
  {
    valid: [
      {
        name: 'concurrent operations on distinct OVERLAPPEDs',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          b.post(P, T, 'WSPSend', '0x2a0', '0x7000', 100)
          b.complete(P, CB, '0x3c4', '0x7000', 100)
          b.complete(P, CB, '0x3c4', '0x7040', 64)
        },
      },
      {
        name: 'OVERLAPPED reused after its completion upcall',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          b.complete(P, CB, '0x3c4', '0x7040', 64)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
        },
      },
      {
        name: 'OVERLAPPED reused after an inline completion and after a synchronous failure',
        build: (b) => {
          connected(b)
          b.callRet(P, T, 'WSPSend', sendFields('0x7000'), 0, 0, 0.02, {BytesOut: 100})
          b.callRet(P, T, 'WSPSend', sendFields('0x7000'), -1, WSAENOTCONN)
          b.post(P, T, 'WSPSend', '0x2a0', '0x7000', 100)
        },
      },
      {
        name: 'poll mode: OVERLAPPED reused after a final WSPGetOverlappedResult (return without Overlapped field)',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPSend', '0x2a0', '0x7001', 100, {hEvent: '0x1f1'})
          gor(b, '0x7001', 0, WSA_IO_INCOMPLETE)
          gor(b, '0x7001', 1, 0, 100)
          b.post(P, T, 'WSPSend', '0x2a0', '0x7001', 100, {hEvent: '0x1f1'})
        },
      },
      {
        name: 'the same OVERLAPPED value in two processes',
        build: (b) => {
          connected(b)
          connected(b, '0x2a0', '0x3c4', P + 1)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          b.post(P + 1, T, 'WSPRecv', '0x2a0', '0x7040', 100)
        },
      },
    ],
    invalid: [
      {
        name: 'a receive posted twice on one OVERLAPPED',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          b.wait(5)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
        },
        findings: [{message: /^WSPRecv on 0x2a0 reuses OVERLAPPED 0x7040 while WSPRecv \(OVERLAPPED 0x7040\) is still outstanding \(pending since \+\d\.\d+ s, 5\.\d+ ms ago\)$/, fault: 'switch', socket: '0x2a0'}],
      },
      {
        name: 'a send on another socket reuses a pending receive\'s OVERLAPPED',
        build: (b) => {
          connected(b)
          connected(b, '0x2b0', '0x3c8')
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          b.post(P, T, 'WSPSend', '0x2b0', '0x7040', 100)
        },
        findings: [{message: /WSPSend on 0x2b0 reuses OVERLAPPED 0x7040 while WSPRecv \(OVERLAPPED 0x7040\) on 0x2a0 is still outstanding/, socket: '0x2b0'}],
      },
      {
        name: 'reuse while the first call has not returned yet (another thread)',
        build: (b) => {
          connected(b)
          b.call(P, T, 'WSPRecv', sendFields('0x7040'))
          b.post(P, T + 1, 'WSPSend', '0x2a0', '0x7040', 100)
        },
        findings: [{message: /while WSPRecv \(OVERLAPPED 0x7040\) is still outstanding \(issued at \+[\d.]+ s and not yet returned/}],
      },
      {
        name: 'an overlapped WSPIoctl reuses a pending send\'s OVERLAPPED',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPSend', '0x2a0', '0x7000', 100)
          b.callRet(P, T, 'WSPIoctl', {Socket: '0x2a0', IoctlCode: 0x48000016, Overlapped: '0x7000', HEvent: '0x1f0'}, -1, WSA_IO_PENDING)
        },
        findings: [{message: /WSPIoctl on 0x2a0 reuses OVERLAPPED 0x7000 while WSPSend \(OVERLAPPED 0x7000\)/}],
      },
    ],
    notEvaluated: [
      {name: 'no data transfers', build: (b) => connected(b), reason: /no data-transfer calls/},
      {
        name: 'transfer calls without their returns',
        build: (b) => {
          connected(b)
          b.call(P, T, 'WSPSend', sendFields('0x7000'))
        },
        reason: /no returns of data-transfer calls/,
      },
      {
        name: 'transfers without the Overlapped field',
        build: (b) => {
          connected(b)
          b.callRet(P, T, 'WSPSend', {Socket: '0x2a0', Flags: 0, TotalLen: 10}, 0)
        },
        reason: /WSPSend without an Overlapped field/,
      },
    ],
  },
  DATAPATH_RULES,
)

ruleTester(
  'SAN026',
  {
    valid: [
      {
        name: 'a pending receive completed once by its upcall',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          b.complete(P, CB, '0x3c4', '0x7040', 64)
        },
      },
      {
        name: 'an inline completion with one late notification',
        build: (b) => {
          connected(b)
          b.callRet(P, T, 'WSPSend', sendFields('0x7000'), 0, 0, 0.02, {BytesOut: 100})
          b.complete(P, CB, '0x3c4', '0x7000', 100)
        },
      },
      {
        name: 'poll mode: repeated final WSPGetOverlappedResult reads are idempotent',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7041', 100, {hEvent: '0x1f1'})
          gor(b, '0x7041', 0, WSA_IO_INCOMPLETE)
          gor(b, '0x7041', 1, 0, 64)
          gor(b, '0x7041', 1, 0, 64)
        },
      },
      {
        name: 'WSPGetOverlappedResult on a failed operation reports the operation\'s own error',
        build: (b) => {
          connected(b)
          b.callRet(P, T, 'WSPSend', sendFields('0x7000'), -1, WSAENOTCONN)
          gor(b, '0x7000', 0, WSAENOTCONN)
        },
      },
      {
        name: 'OpDone then the upcall for the same notify-mode operation',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPSend', '0x2a0', '0x7000', 100)
          opDone(b, '0x7000', 0, 100)
          b.complete(P, CB, '0x3c4', '0x7000', 100)
        },
      },
      {
        name: 'a receive still pending at the end on a closed socket is left to SAN030',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPSend', '0x2a0', '0x7000', 100)
          b.complete(P, CB, '0x3c4', '0x7000', 100)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          b.close(P, T, '0x2a0', '0x3c4', {release: false})
        },
      },
    ],
    invalid: [
      {
        name: 'a completion upcall for an operation that failed synchronously',
        build: (b) => {
          connected(b)
          b.callRet(P, T, 'WSPSend', sendFields('0x7000'), -1, WSAENOTCONN)
          b.complete(P, CB, '0x3c4', '0x7000', 0, WSAENOTCONN)
        },
        findings: [{message: /^WPUCompleteOverlappedRequest for WSPSend \(OVERLAPPED 0x7000\) on 0x2a0, which failed synchronously with WSAENOTCONN \(10057\): an operation that did not return WSA_IO_PENDING must never complete$/, fault: 'provider'}],
      },
      {
        name: 'a completion upcall before the call returned a synchronous failure',
        build: (b) => {
          connected(b)
          const seq = b.call(P, T, 'WSPSend', sendFields('0x7000'))
          b.complete(P, CB, '0x3c4', '0x7000', 100)
          b.ret(P, T, 'WSPSend', seq, -1, 10055)
        },
        findings: [{message: /WPUCompleteOverlappedRequest for WSPSend \(OVERLAPPED 0x7000\) on 0x2a0, which failed synchronously with WSAENOBUFS \(10055\)/}],
      },
      {
        name: 'OpDone and a successful poll for a failed operation',
        build: (b) => {
          connected(b)
          b.callRet(P, T, 'WSPRecv', sendFields('0x7041', {HEvent: '0x1f1'}), -1, WSAENOTCONN)
          opDone(b, '0x7041', 0, 10)
          gor(b, '0x7041', 1, 0, 10)
        },
        findings: [
          {message: /^OpDone for WSPRecv \(OVERLAPPED 0x7041\) on 0x2a0, which failed synchronously/},
          {message: /^WSPGetOverlappedResult returning TRUE for WSPRecv \(OVERLAPPED 0x7041\) on 0x2a0, which failed synchronously/},
        ],
      },
      {
        name: 'a second WPUCompleteOverlappedRequest for a pending receive',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          b.complete(P, CB, '0x3c4', '0x7040', 64)
          b.complete(P, CB, '0x3c4', '0x7040', 0, WSA_OPERATION_ABORTED)
        },
        findings: [{message: /^second WPUCompleteOverlappedRequest for WSPRecv \(OVERLAPPED 0x7040\) on 0x2a0; the first at \+[\d.]+ s reported success, 64 bytes, this one WSA_OPERATION_ABORTED \(995\), 0 bytes$/}],
      },
      {
        name: 'an inline completion notified twice',
        build: (b) => {
          connected(b)
          b.callRet(P, T, 'WSPSend', sendFields('0x7000'), 0, 0, 0.02, {BytesOut: 100})
          b.complete(P, CB, '0x3c4', '0x7000', 100)
          b.complete(P, CB, '0x3c4', '0x7000', 100)
        },
        findings: [{message: /completed inline with Rc=0: one late notification is tolerated, not two/}],
      },
      {
        name: 'a completion for an unknown OVERLAPPED',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          b.complete(P, CB, '0x3c4', '0x7777', 10)
          b.complete(P, CB, '0x3c4', '0x7040', 10)
        },
        findings: [{message: /^WPUCompleteOverlappedRequest for unknown OVERLAPPED 0x7777 \(socket 0x2a0\): no operation of process 500 is outstanding or known under this OVERLAPPED \(spurious completion\)$/, socket: '0x2a0'}],
      },
      {
        name: 'WSPGetOverlappedResult returns TRUE for an OVERLAPPED never issued',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          gor(b, '0x7041', 1, 0, 10)
          gor(b, '0x7042', 0, 6) // WSA_INVALID_HANDLE: the right answer, not a completion
          b.complete(P, CB, '0x3c4', '0x7040', 10)
        },
        findings: [{message: /^WSPGetOverlappedResult returning TRUE for unknown OVERLAPPED 0x7041/}],
      },
      {
        name: 'a receive never completed on a socket still open is info',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPSend', '0x2a0', '0x7000', 100)
          b.complete(P, CB, '0x3c4', '0x7000', 100)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          end(b)
        },
        findings: [{message: /^WSPRecv \(OVERLAPPED 0x7040\) on 0x2a0 returned WSA_IO_PENDING at \+[\d.]+ s and was never completed: still pending 3 s later when the trace ended \(socket still open\)$/, severity: 'info'}],
      },
    ],
    notEvaluated: [
      {
        name: 'no completion signals',
        build: (b) => (connected(b), b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)),
        reason: /no completion signals/,
      },
      {
        name: 'a completion on a socket that predates the trace',
        build: (b) => {
          b.call(P, T, 'WSPRecv', sendFields('0x7040', {Socket: '0x2d0'}))
          b.complete(P, CB, '0x3d4', '0x7777', 10)
        },
        reason: /not issued in the trace, on a socket that may predate it/,
      },
    ],
  },
  DATAPATH_RULES,
)

ruleTester(
  'SAN027',
  {
    valid: [
      {
        name: 'notify mode: OpDone then the upcall; poll mode: OpDone and a poll, no upcall',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          b.post(P, T, 'WSPSend', '0x2a0', '0x7001', 100, {hEvent: '0x1f1'})
          opDone(b, '0x7040', 0, 64)
          b.wait(200)
          b.complete(P, CB, '0x3c4', '0x7040', 64)
          opDone(b, '0x7001', 0, 100)
          gor(b, '0x7001', 1, 0, 100)
          end(b)
        },
      },
      {
        name: 'a notify-mode receive aborted by an upcall during close, then released',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          const seq = b.call(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
          b.complete(P, CB, '0x3c4', '0x7040', 0, WSA_OPERATION_ABORTED)
          b.ret(P, T, 'WSPCloseSocket', seq, 0)
          b.upcall(P, CB, 'WPUCloseSocketHandle', {SwitchSocket: '0x3c4'})
          end(b)
        },
      },
      {
        name: 'an inline completion owes no upcall',
        build: (b) => {
          connected(b)
          b.callRet(P, T, 'WSPSend', sendFields('0x7000'), 0, 0, 0.02, {BytesOut: 100})
          opDone(b, '0x7000', 0, 100)
          b.post(P, T, 'WSPSend', '0x2a0', '0x7002', 100)
          b.complete(P, CB, '0x3c4', '0x7002', 100)
          end(b)
        },
      },
    ],
    invalid: [
      {
        name: 'a notification for a poll-mode operation',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7041', 100, {hEvent: '0x1f1'})
          b.complete(P, CB, '0x3c4', '0x7041', 64)
        },
        findings: [{message: /^WPUCompleteOverlappedRequest for WSPRecv \(OVERLAPPED 0x7041\) on 0x2a0 whose hEvent 0x1f1 has bit 0 set: the switch polls this operation/, fault: 'provider'}],
      },
      {
        name: 'notify mode: OpDone but no upcall within the grace period',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          opDone(b, '0x7040', 0, 64)
          end(b)
        },
        findings: [{message: /^WSPRecv \(OVERLAPPED 0x7040\) on 0x2a0 \(hEvent 0x1f0, bit 0 clear: notify mode\) was completed by the provider \(OpDone at \+[\d.]+ s: success, 64 bytes\) but no WPUCompleteOverlappedRequest followed within 1 s$/}],
      },
      {
        name: 'notify mode: the upcall comes later than the grace period',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPSend', '0x2a0', '0x7000', 100)
          opDone(b, '0x7000', 0, 100)
          b.wait(1500)
          b.complete(P, CB, '0x3c4', '0x7000', 100)
        },
        findings: [{message: /no WPUCompleteOverlappedRequest followed within 1 s/}],
      },
      {
        name: 'notify mode: the switch polls a final status but no upcall follows',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPSend', '0x2a0', '0x7000', 100)
          gor(b, '0x7000', 1, 0, 100)
          end(b)
        },
        findings: [{message: /\(WSPGetOverlappedResult at \+[\d.]+ s: success, 100 bytes\) but no WPUCompleteOverlappedRequest/}],
      },
      {
        name: 'a pending receive aborted at close without a notification, then released',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          b.close(P, T, '0x2a0', '0x3c4')
          end(b)
        },
        findings: [{message: /^WSPRecv \(OVERLAPPED 0x7040\) on 0x2a0 \(notify mode\) was pending when WSPCloseSocket began, and the socket was released by WPUCloseSocketHandle without a WPUCompleteOverlappedRequest for it/}],
      },
      {
        name: 'an APC queued for a switch operation',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          b.upcall(P, CB, 'WPUQueueApc', {Overlapped: '0x7040', Context: '0x7040'})
          b.complete(P, CB, '0x3c4', '0x7040', 64)
        },
        findings: [{message: /^WPUQueueApc for WSPRecv \(OVERLAPPED 0x7040\) on 0x2a0: the switch never passes a completion routine/, severity: 'warning'}],
      },
    ],
    notEvaluated: [
      {name: 'no completion evidence', build: (b) => (connected(b), b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)), reason: /no completion evidence/},
      {
        name: 'operations without HEvent: notification mode unknown',
        build: (b) => {
          connected(b)
          b.callRet(P, T, 'WSPRecv', {Socket: '0x2a0', Overlapped: '0x7040', TotalLen: 100}, -1, WSA_IO_PENDING)
          b.complete(P, CB, '0x3c4', '0x7040', 64)
        },
        reason: /notification mode unknown/,
      },
      {
        name: 'the trace ends within the grace period',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          opDone(b, '0x7040', 0, 64)
        },
        reason: /trace ended within the notify grace period/,
      },
    ],
  },
  DATAPATH_RULES,
)

ruleTester(
  'SAN028',
  {
    valid: [
      {
        name: 'polling agrees with the upcall; OpDone before the poll',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 4096)
          gor(b, '0x7040', 0, WSA_IO_INCOMPLETE)
          opDone(b, '0x7040', 0, 512)
          b.complete(P, CB, '0x3c4', '0x7040', 512)
          gor(b, '0x7040', 1, 0, 512)
        },
      },
      {
        name: 'a final poll in a trace without OpDone events',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7041', 4096, {hEvent: '0x1f1'})
          gor(b, '0x7041', 1, 0, 512)
        },
      },
      {
        name: 'receives flushed with success and 0 bytes inside WSPDuplicateSocket',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 4096)
          const seq = b.call(P, T, 'WSPDuplicateSocket', {Socket: '0x2a0', TargetPid: 600})
          b.complete(P, T, '0x3c4', '0x7040', 0)
          b.ret(P, T, 'WSPDuplicateSocket', seq, 0, 0, {ProviderReservedOut: '0xabc1'})
        },
      },
      {
        name: 'a poll-mode receive flushed by the duplication is read after it',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7041', 4096, {hEvent: '0x1f1'})
          b.callRet(P, T, 'WSPDuplicateSocket', {Socket: '0x2a0', TargetPid: 600}, 0, 0, 0.1, {ProviderReservedOut: '0xabc1'})
          gor(b, '0x7041', 1, 0, 0)
        },
      },
    ],
    invalid: [
      {
        name: 'a final poll before OpDone while OpDone is traced (info)',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPSend', '0x2a0', '0x7001', 100, {hEvent: '0x1f1'})
          opDone(b, '0x7001', 0, 100)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7041', 100, {hEvent: '0x1f1'})
          gor(b, '0x7041', 1, 0, 64)
          opDone(b, '0x7041', 0, 64)
        },
        findings: [{message: /^WSPGetOverlappedResult reported WSPRecv \(OVERLAPPED 0x7041\) on 0x2a0 complete \(success, 64 bytes\) before the provider logged OpDone for it/, severity: 'info'}],
      },
      {
        name: 'WSA_IO_INCOMPLETE after the completion upcall returned',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          b.complete(P, CB, '0x3c4', '0x7040', 64)
          gor(b, '0x7040', 0, WSA_IO_INCOMPLETE)
          gor(b, '0x7040', 0, WSA_IO_INCOMPLETE)
        },
        findings: [{message: /^WSPGetOverlappedResult returned WSA_IO_INCOMPLETE \(996\) for WSPRecv \(OVERLAPPED 0x7040\) on 0x2a0 after its WPUCompleteOverlappedRequest had already returned/, severity: 'warning'}],
      },
      {
        name: 'polled byte count differs from the upcall',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 4096)
          b.complete(P, CB, '0x3c4', '0x7040', 512)
          gor(b, '0x7040', 1, 0, 4096)
        },
        findings: [{message: /^WSPGetOverlappedResult for WSPRecv \(OVERLAPPED 0x7040\) on 0x2a0 reported success, 4096 bytes but WPUCompleteOverlappedRequest reported success, 512 bytes$/}],
      },
      {
        name: 'poll mode: polled status differs from OpDone (poll first)',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPSend', '0x2a0', '0x7001', 100, {hEvent: '0x1f1'})
          gor(b, '0x7001', 1, 0, 100)
          opDone(b, '0x7001', 10054, 0)
        },
        findings: [{message: /reported success, 100 bytes but OpDone reported WSAECONNRESET \(10054\), 0 bytes/}],
      },
      {
        name: 'more bytes than requested (error)',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 4096)
          b.complete(P, CB, '0x3c4', '0x7040', 8192)
        },
        findings: [{message: /^WSPRecv \(OVERLAPPED 0x7040\) on 0x2a0 completed with 8192 bytes \(WPUCompleteOverlappedRequest\), more than the 4096 bytes requested$/, severity: 'error'}],
      },
      {
        name: 'a zero-byte successful receive outside duplication',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 4096)
          b.complete(P, CB, '0x3c4', '0x7040', 0)
          b.callRet(P, T, 'WSPRecv', sendFields('0x7044'), 0, 0, 0.02, {BytesOut: 0})
        },
        findings: [
          {message: /^WSPRecv \(OVERLAPPED 0x7040\) on 0x2a0 completed with success and 0 bytes \(WPUCompleteOverlappedRequest\) outside a WSPDuplicateSocket/, severity: 'warning'},
          {message: /^WSPRecv \(OVERLAPPED 0x7044\) on 0x2a0 completed with success and 0 bytes \(inline completion, Rc=0\)/, severity: 'warning'},
        ],
      },
      {
        name: 'WSPGetOverlappedResult with fWait=TRUE',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPSend', '0x2a0', '0x7001', 100, {hEvent: '0x1f1'})
          gor(b, '0x7001', 1, 0, 100, '0x2a0', true)
        },
        findings: [{message: /^WSPGetOverlappedResult on 0x2a0 \(OVERLAPPED 0x7001\) with fWait=TRUE/, severity: 'info', fault: 'switch'}],
      },
    ],
    notEvaluated: [{name: 'no completion signals', build: (b) => (connected(b), b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)), reason: /no completion signals/}],
  },
  DATAPATH_RULES,
)
