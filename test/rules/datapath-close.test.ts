import {ruleTester} from '../helpers/rule-tester.js'
import {FD_CONNECT, WSAEWOULDBLOCK, WSA_IO_PENDING, WSA_OPERATION_ABORTED} from '../../src/synth/builder.js'
import type {TraceBuilder} from '../../src/synth/builder.js'

const P = 200
const T = 9
const CB = 40 // completion thread

/** A connected socket 0x2a0 (switch handle 0x3c4) with registered memory. */
function connected(b: TraceBuilder, s = '0x2a0', h = '0x3c4'): void {
  b.connect(P, T, s, h, '10.0.0.2:80')
  b.register(P, T, s, '0x5000000', 65536, '0x9001')
}

ruleTester('SAN024', {
  valid: [
    {
      name: 'overlapped sends, receives and RDMA without completion routines',
      build: (b) => {
        connected(b)
        b.post(P, T, 'WSPSend', '0x2a0', '0x7000', 100)
        b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
        b.post(P, T, 'WSPRdmaWrite', '0x2a0', '0x7080', 100, {memHandle: '0x9001'})
      },
    },
  ],
  invalid: [
    {
      name: 'NULL OVERLAPPED: blocking transfer reached the provider',
      build: (b) => {
        connected(b)
        b.callRet(P, T, 'WSPSend', {Socket: '0x2a0', Overlapped: '0x0', CompletionRoutine: '0x0', Flags: 0, BufferCount: 1, TotalLen: 10}, 0)
      },
      findings: [{message: /lpOverlapped = NULL: a blocking transfer reached the SAN provider/, fault: 'switch'}],
    },
    {
      name: 'completion routine on an RDMA write',
      build: (b) => {
        connected(b)
        b.post(P, T, 'WSPRdmaWrite', '0x2a0', '0x7080', 100, {extra: {CompletionRoutine: '0x7ff61000'}})
      },
      findings: [{message: /WSPRdmaWrite with a completion routine \(0x7ff61000\)/}],
    },
    {
      name: 'MSG_OOB on WSPSend',
      build: (b) => {
        connected(b)
        b.post(P, T, 'WSPSend', '0x2a0', '0x7000', 100, {extra: {Flags: 1}})
      },
      findings: [{message: /dwFlags = 0x1 \(MSG_OOB\)/}],
    },
    {
      name: 'lpThreadId on WSPRecv is a warning',
      build: (b) => {
        connected(b)
        b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100, {extra: {ThreadIdPtr: '0xd000'}})
      },
      findings: [{message: /WSPRecv with lpThreadId = 0xd000/, severity: 'warning'}],
    },
  ],
  notEvaluated: [
    {name: 'no transfers', build: (b) => connected(b), reason: /no data-transfer calls/},
    {
      name: 'transfers without the Overlapped field',
      build: (b) => {
        connected(b)
        b.callRet(P, T, 'WSPSend', {Socket: '0x2a0', Flags: 0, TotalLen: 10}, 0)
      },
      reason: /without an Overlapped field/,
    },
  ],
})

ruleTester('SAN029', {
  valid: [
    {name: 'close returns 0 at once', build: (b) => (connected(b), b.close(P, T, '0x2a0', '0x3c4'))},
    {name: 'WSAENETDOWN is an allowed failure', build: (b) => (connected(b), b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'}, -1, 10050))},
  ],
  invalid: [
    {
      name: 'close reports WSAEWOULDBLOCK',
      build: (b) => (connected(b), b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'}, -1, WSAEWOULDBLOCK)),
      findings: [{message: /must not report WSAEWOULDBLOCK/, fault: 'provider'}],
    },
    {
      name: 'WSAENOTSOCK on a live descriptor',
      build: (b) => (connected(b), b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'}, -1, 10038)),
      findings: [{message: /failed with WSAENOTSOCK \(10038\) on a live descriptor/}],
    },
    {
      name: 'slow close is a warning',
      build: (b) => (connected(b), b.close(P, T, '0x2a0', '0x3c4', {closeMs: 1500})),
      findings: [{message: /WSPCloseSocket took 1\.5 s > 1 s/, severity: 'warning'}],
    },
    {
      name: 'close never returns before the trace ends',
      build: (b) => {
        connected(b)
        b.call(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
        b.wait(3000)
        b.callRet(P, T + 1, 'WSPCleanup', {})
      },
      findings: [{message: /had not returned when the trace ended/, severity: 'warning'}],
    },
  ],
  notEvaluated: [{name: 'no close', build: (b) => connected(b), reason: /no WSPCloseSocket calls/}],
})

ruleTester('SAN030', {
  valid: [
    {
      name: 'pending receive aborted during close (notify mode)',
      build: (b) => {
        connected(b)
        b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
        const seq = b.call(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
        b.complete(P, CB, '0x3c4', '0x7040', 0, WSA_OPERATION_ABORTED)
        b.ret(P, T, 'WSPCloseSocket', seq, 0)
        b.wait(3000)
        b.upcall(P, CB, 'WPUCloseSocketHandle', {SwitchSocket: '0x3c4'})
      },
    },
    {
      name: 'poll-mode send flushed with OpDone after close returns',
      build: (b) => {
        connected(b)
        b.post(P, T, 'WSPSend', '0x2a0', '0x7000', 100, {hEvent: '0x1f1'})
        b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
        b.wait(500)
        b.emit(P, undefined, 'OpDone', {Socket: '0x2a0', Overlapped: '0x7000', Error: WSA_OPERATION_ABORTED, Bytes: 0, Notified: false, Reason: 'flush-on-close'})
        b.wait(3000)
        b.callRet(P, T, 'WSPCleanup', {})
      },
    },
    {
      name: 'an operation that failed synchronously owes no completion',
      build: (b) => {
        connected(b)
        b.callRet(P, T, 'WSPSend', {Socket: '0x2a0', Overlapped: '0x7000', HEvent: '0x1f0', CompletionRoutine: '0x0', Flags: 0}, -1, 10057)
        b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
        b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
        b.complete(P, CB, '0x3c4', '0x7040', 0, 10054)
        b.wait(3000)
        b.callRet(P, T, 'WSPCleanup', {})
      },
    },
  ],
  invalid: [
    {
      name: 'pending receive never completed',
      build: (b) => {
        connected(b)
        b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
        b.close(P, T, '0x2a0', '0x3c4')
        b.wait(3000)
        b.callRet(P, T, 'WSPCleanup', {})
      },
      findings: [{message: /WSPRecv \(OVERLAPPED 0x7040, notify mode\) was not completed within 2 s after WSPCloseSocket/, socket: '0x2a0'}],
    },
    {
      name: 'completed too late (after the grace period)',
      build: (b) => {
        connected(b)
        b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
        b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
        b.wait(2500)
        b.complete(P, CB, '0x3c4', '0x7040', 0, WSA_OPERATION_ABORTED)
      },
      findings: [{message: /not completed within 2 s/}],
    },
    {
      name: 'success status produced after the close began',
      build: (b) => {
        connected(b)
        b.post(P, T, 'WSPSend', '0x2a0', '0x7000', 100)
        b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
        b.complete(P, CB, '0x3c4', '0x7000', 100, 0)
        b.wait(3000)
        b.callRet(P, T, 'WSPCleanup', {})
      },
      findings: [{message: /completed with success after WSPCloseSocket began/, severity: 'warning'}],
    },
    {
      name: 'unexpected completion status',
      build: (b) => {
        connected(b)
        b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
        b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
        b.complete(P, CB, '0x3c4', '0x7040', 0, 10022)
        b.wait(3000)
        b.callRet(P, T, 'WSPCleanup', {})
      },
      findings: [{message: /completed at close with WSAEINVAL \(10022\)/, severity: 'warning'}],
    },
    {
      name: 'poll-mode operation with no OpDone while the trace does log OpDone',
      build: (b) => {
        connected(b)
        b.post(P, T, 'WSPSend', '0x2a0', '0x7000', 100, {hEvent: '0x1f1'})
        b.post(P, T, 'WSPSend', '0x2a0', '0x7100', 100, {hEvent: '0x1f1'})
        b.emit(P, undefined, 'OpDone', {Socket: '0x2a0', Overlapped: '0x7100', Error: 0, Bytes: 100})
        b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
        b.wait(3000)
        b.callRet(P, T, 'WSPCleanup', {})
      },
      findings: [{message: /WSPSend \(OVERLAPPED 0x7000, poll mode\) was not completed/}],
    },
  ],
  notEvaluated: [
    {name: 'close with nothing pending', build: (b) => (connected(b), b.close(P, T, '0x2a0', '0x3c4')), reason: /no WSPCloseSocket with operations pending/},
    {
      name: 'poll-mode operation in a trace without OpDone events',
      build: (b) => {
        connected(b)
        b.post(P, T, 'WSPSend', '0x2a0', '0x7000', 100, {hEvent: '0x1f1'})
        b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
        b.wait(3000)
        b.callRet(P, T, 'WSPCleanup', {})
      },
      reason: /no OpDone events/,
    },
    {
      name: 'the trace ends within the grace period',
      build: (b) => {
        connected(b)
        b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
        b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
        b.wait(500)
      },
      reason: /trace ended within the grace period/,
    },
  ],
})

ruleTester('SAN031', {
  valid: [
    {
      name: 'connect cancelled by a prompt close, then only the final upcall',
      build: (b) => {
        b.socket(P, T, '0x2a0', '0x3c4')
        b.callRet(P, T, 'WSPEventSelect', {Socket: '0x2a0', EventHandle: '0x10', NetworkEvents: FD_CONNECT})
        b.callRet(P, T, 'WSPConnect', {Socket: '0x2a0', Addr: '10.0.0.2:80'}, -1, WSAEWOULDBLOCK)
        b.wait(300)
        b.close(P, T, '0x2a0', '0x3c4')
      },
    },
  ],
  invalid: [
    {
      name: 'FD_CONNECT signalled after the cancelling close',
      build: (b) => {
        b.socket(P, T, '0x2a0', '0x3c4')
        b.callRet(P, T, 'WSPEventSelect', {Socket: '0x2a0', EventHandle: '0x10', NetworkEvents: FD_CONNECT})
        b.callRet(P, T, 'WSPConnect', {Socket: '0x2a0', Addr: '10.0.0.2:80'}, -1, WSAEWOULDBLOCK)
        b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
        b.wait(200)
        b.emit(P, undefined, 'NetEventSignal', {Socket: '0x2a0', EventHandle: '0x10', FdBit: 4, Error: 10060})
        b.upcall(P, CB, 'WPUCloseSocketHandle', {SwitchSocket: '0x3c4'})
      },
      findings: [{message: /FD_CONNECT signalled for 0x2a0 after its pending connect was cancelled/}],
    },
    {
      name: 'an upcall other than the final one after the close',
      build: (b) => {
        b.socket(P, T, '0x2a0', '0x3c4')
        b.callRet(P, T, 'WSPEventSelect', {Socket: '0x2a0', EventHandle: '0x10', NetworkEvents: FD_CONNECT})
        b.callRet(P, T, 'WSPConnect', {Socket: '0x2a0', Addr: '10.0.0.2:80'}, -1, WSAEWOULDBLOCK)
        b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
        b.upcall(P, CB, 'WPUQuerySocketHandleContext', {SwitchSocket: '0x3c4'})
        b.upcall(P, CB, 'WPUCloseSocketHandle', {SwitchSocket: '0x3c4'})
      },
      findings: [{message: /upcall WPUQuerySocketHandleContext for 0x2a0 after its pending connect was cancelled/}],
    },
    {
      name: 'the cancelling close is slow (an error, not a warning)',
      build: (b) => {
        b.socket(P, T, '0x2a0', '0x3c4')
        b.callRet(P, T, 'WSPEventSelect', {Socket: '0x2a0', EventHandle: '0x10', NetworkEvents: FD_CONNECT})
        b.callRet(P, T, 'WSPConnect', {Socket: '0x2a0', Addr: '10.0.0.2:80'}, -1, WSAEWOULDBLOCK)
        b.close(P, T, '0x2a0', '0x3c4', {closeMs: 1800})
      },
      findings: [{message: /cancelling a pending connect took 1\.8 s > 1 s/, severity: 'error'}],
    },
  ],
  notEvaluated: [
    {name: 'no close of a connecting socket', build: (b) => (connected(b), b.close(P, T, '0x2a0', '0x3c4')), reason: /no WSPCloseSocket of a connecting socket/},
  ],
})

export {WSA_IO_PENDING}
