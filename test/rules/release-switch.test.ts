import {ruleTester} from '../helpers/rule-tester.js'
import {WSA_OPERATION_ABORTED} from '../../src/synth/builder.js'
import type {TraceBuilder} from '../../src/synth/builder.js'

const P = 300
const T = 11
const CB = 41

function connected(b: TraceBuilder, s = '0x2a0', h = '0x3c4'): void {
  b.connect(P, T, s, h, '10.0.0.2:80')
  b.register(P, T, s, '0x5000000', 1 << 20, '0x9001')
}

const end = (b: TraceBuilder): void => {
  b.wait(3000)
  b.callRet(P, T, 'WSPCleanup', {})
}

ruleTester('SAN032', {
  valid: [
    {name: 'close, then the final upcall', build: (b) => (connected(b), b.close(P, T, '0x2a0', '0x3c4'), end(b))},
    {
      name: 'a handle created by a failed WSPSocket may be closed at once',
      build: (b) => {
        const seq = b.call(P, T, 'WSPSocket', {Af: 2, Type: 1, Protocol: 6, Flags: 1})
        b.upcall(P, T, 'WPUCreateSocketHandle', {CatalogEntryId: 1}, 0, {NewSwitchSocket: '0x3d0'})
        b.upcall(P, T, 'WPUCloseSocketHandle', {SwitchSocket: '0x3d0'})
        b.ret(P, T, 'WSPSocket', seq, -1, 10055)
        connected(b)
        b.close(P, T, '0x2a0', '0x3c4')
        end(b)
      },
    },
    {
      name: 'descriptor and handle values reused by a new socket',
      build: (b) => {
        connected(b)
        b.close(P, T, '0x2a0', '0x3c4')
        connected(b)
        b.complete(P, CB, '0x3c4', '0x7000', 0)
        b.close(P, T, '0x2a0', '0x3c4')
        end(b)
      },
    },
  ],
  invalid: [
    {
      name: 'resources still held after close: no WPUCloseSocketHandle',
      build: (b) => (connected(b), b.close(P, T, '0x2a0', '0x3c4', {release: false}), end(b)),
      findings: [{message: /resources still held after close: no WPUCloseSocketHandle for 0x2a0 \(switch handle 0x3c4\) within 2 s/, socket: '0x2a0'}],
    },
    {
      name: 'premature release before the switch closes',
      build: (b) => {
        connected(b)
        b.upcall(P, CB, 'WPUCloseSocketHandle', {SwitchSocket: '0x3c4'})
        b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
        end(b)
      },
      findings: [{message: /premature release/}],
    },
    {
      name: 'an upcall after the final one',
      build: (b) => {
        connected(b)
        b.close(P, T, '0x2a0', '0x3c4')
        b.complete(P, CB, '0x3c4', '0x7000', 0, WSA_OPERATION_ABORTED)
        end(b)
      },
      findings: [{message: /upcall WPUCompleteOverlappedRequest with switch handle 0x3c4 after its WPUCloseSocketHandle/}],
    },
    {
      name: 'release while an operation is pending',
      build: (b) => {
        connected(b)
        b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
        b.close(P, T, '0x2a0', '0x3c4')
        end(b)
      },
      findings: [{message: /while 1 operation is still pending \(WSPRecv 0x7040\)/}],
    },
    {
      name: 'released twice',
      build: (b) => {
        connected(b)
        b.close(P, T, '0x2a0', '0x3c4')
        b.upcall(P, CB, 'WPUCloseSocketHandle', {SwitchSocket: '0x3c4'})
        end(b)
      },
      findings: [{message: /second WPUCloseSocketHandle for switch handle 0x3c4/}],
    },
  ],
  notEvaluated: [
    {
      name: 'the trace ends inside the grace period',
      build: (b) => (connected(b), b.close(P, T, '0x2a0', '0x3c4', {release: false}), b.wait(500), b.callRet(P, T, 'WSPCleanup', {})),
      reason: /trace ended within the grace period/,
    },
    {
      name: 'no handle upcalls are traced',
      build: (b) => {
        b.callRet(P, T, 'WSPSocket', {Af: 2, Type: 1, Protocol: 6}, '0x2a0')
        b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
      },
      reason: /socket-handle upcalls/,
    },
    {
      name: 'a socket created before the trace began',
      build: (b) => {
        // Only a handle that never reached the switch is released; the closed socket predates the trace.
        const seq = b.call(P, T, 'WSPSocket', {Af: 2, Type: 1, Protocol: 6, Flags: 1})
        b.upcall(P, T, 'WPUCreateSocketHandle', {CatalogEntryId: 1}, 0, {NewSwitchSocket: '0x3d0'})
        b.upcall(P, T, 'WPUCloseSocketHandle', {SwitchSocket: '0x3d0'})
        b.ret(P, T, 'WSPSocket', seq, -1, 10055)
        b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
        end(b)
      },
      reason: /switch handle unknown/,
    },
  ],
})

ruleTester('SAN033', {
  valid: [
    {
      name: 'a reissued descriptor is a new socket',
      build: (b) => {
        connected(b)
        b.close(P, T, '0x2a0', '0x3c4')
        connected(b, '0x2a0', '0x3c8')
        b.post(P, T, 'WSPSend', '0x2a0', '0x7000', 10)
      },
    },
  ],
  invalid: [
    {
      name: 'the switch polls a closed socket; the provider answers WSAENOTSOCK',
      build: (b) => {
        connected(b)
        b.close(P, T, '0x2a0', '0x3c4')
        b.callRet(P, T, 'WSPGetOverlappedResult', {Socket: '0x2a0', Overlapped: '0x7000', FWait: false}, 0, 10038)
      },
      findings: [{message: /WSPGetOverlappedResult on 0x2a0 after WSPCloseSocket returned/, severity: 'warning', fault: 'switch'}],
    },
    {
      name: 'the provider accepts a call on a closed descriptor',
      build: (b) => {
        connected(b)
        b.close(P, T, '0x2a0', '0x3c4')
        b.callRet(P, T, 'WSPDeregisterRdmaMemory', {Socket: '0x2a0', TargetDescriptor: '0011', TargetDescriptorLen: 2}, 0)
      },
      findings: [
        {message: /WSPDeregisterRdmaMemory on 0x2a0 after WSPCloseSocket/, severity: 'warning', fault: 'switch'},
        {message: /the provider accepted WSPDeregisterRdmaMemory on closed descriptor 0x2a0; expected WSAENOTSOCK/, severity: 'error', fault: 'provider'},
      ],
    },
    {
      name: 'a second close of the same descriptor',
      build: (b) => {
        connected(b)
        b.close(P, T, '0x2a0', '0x3c4')
        b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'}, -1, 10022)
      },
      findings: [{message: /WSPCloseSocket on 0x2a0 after/}, {message: /failed with WSAEINVAL \(10022\)/, severity: 'error'}],
    },
  ],
  notEvaluated: [{name: 'no close at all', build: (b) => connected(b), reason: /no WSPCloseSocket calls/}],
})

const shim = (b: TraceBuilder, event: string, fields: Record<string, unknown>): void => {
  b.emit(P, 12, event, {provider: 'WSD.SwitchShim', ...fields})
}

/** A blocking receive served by an RDMA read into the application buffer at 0x7000000. */
function rdmaRequest(b: TraceBuilder, id = 5): void {
  connected(b)
  shim(b, 'AppRequest', {AppReqId: id, AppSocket: '0x120', Kind: 'recv', Blocking: true, BufAddr: '0x7000000', BufLen: 4096})
  b.post(P, T, 'WSPRdmaRead', '0x2a0', '0x7ffd3000', 4096, {buf: '0x7000000', memHandle: '0x9001', extra: {TargetDescriptor: '0011', TargetDescriptorLen: 2, TargetOffset: 0}})
  shim(b, 'SwitchMap', {AppReqId: id, SanSocket: '0x2a0', Overlapped: ['0x7ffd3000']})
}

ruleTester('SAN034', {
  valid: [
    {
      name: 'a cancelled switch-buffered request completes at once with a failure',
      build: (b) => {
        connected(b)
        shim(b, 'AppRequest', {AppReqId: 1, AppSocket: '0x120', Kind: 'send', Blocking: true, BufAddr: '0x10000', BufLen: 100})
        shim(b, 'AppCancel', {AppReqId: 1})
        shim(b, 'AppComplete', {AppReqId: 1, Status: WSA_OPERATION_ABORTED, Bytes: 0})
        end(b)
      },
    },
  ],
  invalid: [
    {
      name: 'not completed within the limit',
      build: (b) => {
        connected(b)
        shim(b, 'AppRequest', {AppReqId: 1, AppSocket: '0x120', Kind: 'send', Blocking: true, BufAddr: '0x10000', BufLen: 100})
        shim(b, 'AppCancel', {AppReqId: 1})
        b.wait(1500)
        shim(b, 'AppComplete', {AppReqId: 1, Status: WSA_OPERATION_ABORTED, Bytes: 0})
      },
      findings: [{message: /request 1 \(send\) was not completed within 1 s of its cancel/, severity: 'warning'}],
    },
    {
      name: 'completed with success after the cancel is reported as info',
      build: (b) => {
        connected(b)
        shim(b, 'AppRequest', {AppReqId: 1, AppSocket: '0x120', Kind: 'send', Blocking: true, BufAddr: '0x10000', BufLen: 100})
        shim(b, 'AppCancel', {AppReqId: 1})
        shim(b, 'AppComplete', {AppReqId: 1, Status: 0, Bytes: 100})
        end(b)
      },
      findings: [{message: /completed with success after it was cancelled/, severity: 'info'}],
    },
  ],
  notEvaluated: [
    {name: 'no switch-side events', build: (b) => (connected(b), b.close(P, T, '0x2a0', '0x3c4')), reason: /switch-side events/},
    {name: 'only cancels of requests with SAN operations', build: (b) => (rdmaRequest(b), shim(b, 'AppCancel', {AppReqId: 5})), reason: /no cancel of a switch-buffered request/},
  ],
})

ruleTester('SAN035', {
  valid: [
    {
      name: 'the switch waits for the RDMA, then completes the request',
      build: (b) => {
        rdmaRequest(b)
        shim(b, 'AppCancel', {AppReqId: 5})
        b.wait(800)
        b.complete(P, CB, '0x3c4', '0x7ffd3000', 4096)
        shim(b, 'AppComplete', {AppReqId: 5, Status: WSA_OPERATION_ABORTED, Bytes: 0})
        end(b)
      },
    },
    {
      name: 'a stuck RDMA is forced to complete by an abortive close within the limit',
      build: (b) => {
        rdmaRequest(b)
        shim(b, 'AppCancel', {AppReqId: 5})
        b.wait(4000)
        const seq = b.call(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
        b.complete(P, CB, '0x3c4', '0x7ffd3000', 0, WSA_OPERATION_ABORTED)
        b.ret(P, T, 'WSPCloseSocket', seq, 0)
        b.upcall(P, CB, 'WPUCloseSocketHandle', {SwitchSocket: '0x3c4'})
        shim(b, 'AppComplete', {AppReqId: 5, Status: WSA_OPERATION_ABORTED, Bytes: 0})
        end(b)
      },
    },
  ],
  invalid: [
    {
      name: 'RDMA wait past the threshold without a forcing close',
      build: (b) => {
        rdmaRequest(b)
        shim(b, 'AppCancel', {AppReqId: 5})
        b.wait(6000)
        b.complete(P, CB, '0x3c4', '0x7ffd3000', 4096)
        shim(b, 'AppComplete', {AppReqId: 5, Status: WSA_OPERATION_ABORTED, Bytes: 0})
      },
      findings: [{message: /RDMA still outstanding 5 s after application request 5 was cancelled/, severity: 'warning', socket: '0x2a0'}],
    },
    {
      name: 'buffer returned to the application during RDMA',
      build: (b) => {
        rdmaRequest(b)
        shim(b, 'AppCancel', {AppReqId: 5})
        b.wait(10)
        shim(b, 'AppComplete', {AppReqId: 5, Status: WSA_OPERATION_ABORTED, Bytes: 0})
        b.complete(P, CB, '0x3c4', '0x7ffd3000', 4096)
        end(b)
      },
      findings: [{message: /buffer returned to the application during RDMA: request 5 .*WSPRdmaRead 0x7ffd3000 still outstanding/, severity: 'error'}],
    },
    {
      name: 'application buffer still exposed by a live RDMA registration',
      build: (b) => {
        connected(b)
        b.callRet(P, T, 'WSPRegisterRdmaMemory', {Socket: '0x2a0', RegAddr: '0x7000000', RegLen: 8192, MemFlags: 2, DescriptorLenIn: 16}, 0, 0, 0.02, {DescriptorOut: 'aabb', DescriptorLenOut: 2})
        shim(b, 'AppRequest', {AppReqId: 6, AppSocket: '0x120', Kind: 'recv', Blocking: true, BufAddr: '0x7001000', BufLen: 1024})
        shim(b, 'AppCancel', {AppReqId: 6})
        shim(b, 'AppComplete', {AppReqId: 6, Status: WSA_OPERATION_ABORTED, Bytes: 0})
        end(b)
      },
      findings: [{message: /RDMA registration at 0x7000000 still exposed to the peer/}],
    },
  ],
  notEvaluated: [
    {name: 'no switch-side events', build: (b) => rdmaRequest(b), reason: /no application cancels|switch-side events/},
    {
      name: 'cancels without RDMA involvement',
      build: (b) => {
        connected(b)
        shim(b, 'AppRequest', {AppReqId: 1, Kind: 'send', BufAddr: '0x10000', BufLen: 10})
        shim(b, 'AppCancel', {AppReqId: 1})
        shim(b, 'AppComplete', {AppReqId: 1, Status: WSA_OPERATION_ABORTED})
      },
      reason: /no cancel of a request with outstanding RDMA/,
    },
  ],
})

ruleTester('SAN036', {
  valid: [
    {
      name: 'after a switch abort only close follows',
      build: (b) => {
        connected(b)
        shim(b, 'SwitchAbort', {SanSocket: '0x2a0', Reason: 'rdma-timeout'})
        b.callRet(P, T, 'WSPGetSockOpt', {Socket: '0x2a0', OptLevel: 0xffff, OptName: 0x2003, OptLen: 4})
        b.close(P, T, '0x2a0', '0x3c4')
      },
    },
  ],
  invalid: [
    {
      name: 'a transfer after the switch began aborting',
      build: (b) => {
        connected(b)
        shim(b, 'SwitchAbort', {SanSocket: '0x2a0', Reason: 'rdma-timeout'})
        b.post(P, T, 'WSPSend', '0x2a0', '0x7000', 10)
      },
      findings: [{message: /WSPSend issued on 0x2a0 after the switch began aborting the connection \(rdma-timeout\)/, severity: 'warning'}],
    },
    {
      name: 'with --cancel-implies-abort, a receive after the cancel',
      options: {cancelImpliesAbort: true},
      build: (b) => {
        rdmaRequest(b)
        shim(b, 'AppCancel', {AppReqId: 5})
        b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 10)
      },
      findings: [{message: /WSPRecv issued on 0x2a0 after the switch began aborting/}],
    },
  ],
  notEvaluated: [
    {name: 'no switch-side events', build: (b) => (connected(b), b.post(P, T, 'WSPSend', '0x2a0', '0x7000', 10)), reason: /switch-side events/},
    {
      name: 'a cancel does not start the abort regime by default',
      build: (b) => {
        rdmaRequest(b)
        shim(b, 'AppCancel', {AppReqId: 5})
        b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 10)
      },
      reason: /no call on a socket in the abort regime/,
    },
  ],
})
