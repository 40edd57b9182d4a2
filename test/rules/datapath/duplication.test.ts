import {ruleTester} from '../../helpers/rule-tester.js'
import {WSA_IO_PENDING, WSA_OPERATION_ABORTED} from '../../../src/synth/builder.js'
import type {TraceBuilder} from '../../../src/synth/builder.js'
import {DATAPATH_RULES} from '../../../src/rules/datapath/index.js'

const A = 700 // the process that duplicates
const B = 701 // the target process
const T = 9
const CB = 40
const WSAENOTCONN = 10057

function connected(b: TraceBuilder, pid = A, s = '0x2a0', h = '0x3c4'): void {
  b.connect(pid, T, s, h, '10.0.0.2:80')
  b.register(pid, T, s, '0x5000000', 65536, '0x9001')
}

/** A successful WSPDuplicateSocket returning `token`. */
function dup(b: TraceBuilder, s: string, token: string, pid = A, target = B): void {
  b.callRet(pid, T, 'WSPDuplicateSocket', {Socket: s, TargetPid: target}, 0, 0, 0.1, {ProviderReservedOut: token})
}

/** WSPDuplicateSocket that flushes the listed receives (success, 0 bytes) before returning. */
function dupFlushing(b: TraceBuilder, s: string, h: string, token: string, ovs: string[], pid = A, target = B): void {
  const seq = b.call(pid, T, 'WSPDuplicateSocket', {Socket: s, TargetPid: target})
  for (const ov of ovs) b.complete(pid, T, h, ov, 0)
  b.ret(pid, T, 'WSPDuplicateSocket', seq, 0, 0, {Socket: s, ProviderReservedOut: token})
}

/** WSPSocket in the target process carrying the duplication token, without a nested WPUCreateSocketHandle. */
function recreateNoHandle(b: TraceBuilder, pid: number, token: string, s: string, rc: number | string = s, errno = 0): void {
  const seq = b.call(pid, T, 'WSPSocket', {Af: 2, Type: 1, Protocol: 6, Flags: 1, ProviderReserved: token})
  b.ret(pid, T, 'WSPSocket', seq, rc, errno)
}

ruleTester(
  'SAN037',
  {
    valid: [
      {
        name: 'only receives pending: flushed, duplicated, closed, re-created in the target',
        build: (b) => {
          connected(b)
          b.post(A, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          dupFlushing(b, '0x2a0', '0x3c4', '0xabc1', ['0x7040'])
          b.close(A, T, '0x2a0', '0x3c4')
          b.socket(B, T, '0x4a0', '0x5c4', {ProviderReserved: '0xabc1'})
        },
      },
      {
        name: 'a listening socket duplicated after its accepts finished',
        build: (b) => {
          b.listen(A, T, '0x2b0', '0x3c8', '10.0.0.2:445')
          b.accept(A, T, '0x2b0', '0x2c0', '0x3cc')
          dup(b, '0x2b0', '0xabc2')
          b.close(A, T, '0x2b0', '0x3c8')
          b.socket(B, T, '0x4b0', '0x5c8', {ProviderReserved: '0xabc2'})
        },
      },
      {
        name: 'send buffers deregistered before duplication; receive buffers may stay',
        build: (b) => {
          connected(b)
          b.register(A, T, '0x2a0', '0x6000000', 4096, '0x9002')
          b.post(A, T, 'WSPSend', '0x2a0', '0x7000', 100, {buf: '0x6000000'})
          b.complete(A, CB, '0x3c4', '0x7000', 100)
          b.post(A, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          b.complete(A, CB, '0x3c4', '0x7040', 100)
          b.callRet(A, T, 'WSPDeregisterMemory', {Socket: '0x2a0', MemHandle: '0x9002'})
          dup(b, '0x2a0', '0xabc1')
          b.close(A, T, '0x2a0', '0x3c4')
          b.socket(B, T, '0x4a0', '0x5c4', {ProviderReserved: '0xabc1'})
        },
      },
    ],
    invalid: [
      {
        name: 'duplicating a socket that is only bound',
        build: (b) => {
          b.socket(A, T, '0x2a0', '0x3c4')
          b.callRet(A, T, 'WSPBind', {Socket: '0x2a0', Addr: '10.0.0.1:0'})
          dup(b, '0x2a0', '0xabc1')
          b.socket(B, T, '0x4a0', '0x5c4', {ProviderReserved: '0xabc1'})
        },
        findings: [{message: /^WSPDuplicateSocket on 0x2a0 in state BOUND: the switch duplicates a SAN socket only once it is connected or listening$/, fault: 'switch', socket: '0x2a0'}],
      },
      {
        name: 'a send still outstanding at duplication',
        build: (b) => {
          connected(b)
          b.post(A, T, 'WSPRecv', '0x2a0', '0x7040', 100, {buf: '0x5001000'})
          b.post(A, T, 'WSPSend', '0x2a0', '0x7000', 100)
          dupFlushing(b, '0x2a0', '0x3c4', '0xabc1', ['0x7040'])
          b.socket(B, T, '0x4a0', '0x5c4', {ProviderReserved: '0xabc1'})
        },
        findings: [{message: /^WSPDuplicateSocket on 0x2a0 while 1 send\/RDMA operation is outstanding \(WSPSend 0x7000\)/}],
      },
      {
        name: 'RDMA memory still registered at duplication',
        build: (b) => {
          connected(b)
          b.callRet(A, T, 'WSPRegisterRdmaMemory', {Socket: '0x2a0', RegAddr: '0x5100000', RegLen: 4096, MemFlags: 3, DescriptorLenIn: 16}, 0, 0, 0.02, {DescriptorOut: '00112233', DescriptorLenOut: 4})
          dup(b, '0x2a0', '0xabc1')
          b.socket(B, T, '0x4a0', '0x5c4', {ProviderReserved: '0xabc1'})
        },
        findings: [{message: /while 1 RDMA registration is live \(0x5100000\+4096 descriptor 00112233\): all RDMA memory must be deregistered \(WSPDeregisterRdmaMemory\)/}],
      },
      {
        name: 'a send-only registration still live (warning)',
        build: (b) => {
          connected(b)
          b.register(A, T, '0x2a0', '0x6000000', 4096, '0x9002')
          b.post(A, T, 'WSPSend', '0x2a0', '0x7000', 100, {buf: '0x6000000'})
          b.complete(A, CB, '0x3c4', '0x7000', 100)
          dup(b, '0x2a0', '0xabc1')
          b.socket(B, T, '0x4a0', '0x5c4', {ProviderReserved: '0xabc1'})
        },
        findings: [{message: /with 1 send-only registration still live \(handle 0x9002 at 0x6000000, 4096 bytes\): send buffers should be deregistered \(WSPDeregisterMemory\)/, severity: 'warning'}],
      },
      {
        name: 'a listening socket duplicated while WSPAccept is in progress',
        build: (b) => {
          b.listen(A, T, '0x2b0', '0x3c8', '10.0.0.2:445')
          b.call(A, T + 1, 'WSPAccept', {Socket: '0x2b0'})
          dup(b, '0x2b0', '0xabc2')
          b.socket(B, T, '0x4b0', '0x5c8', {ProviderReserved: '0xabc2'})
        },
        findings: [{message: /^WSPDuplicateSocket on listening socket 0x2b0 while 1 WSPAccept call is in progress \(thread 10, since \+[\d.]+ s\)/}],
      },
      {
        name: 'calls other than WSPCloseSocket after duplication',
        build: (b) => {
          connected(b)
          dup(b, '0x2a0', '0xabc1')
          b.socket(B, T, '0x4a0', '0x5c4', {ProviderReserved: '0xabc1'})
          b.post(A, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          dup(b, '0x2a0', '0xabc3')
          b.close(A, T, '0x2a0', '0x3c4')
        },
        findings: [
          {message: /^WSPRecv on 0x2a0 after WSPDuplicateSocket returned for it at \+[\d.]+ s: in the old process only WSPCloseSocket is allowed/},
          {message: /^WSPDuplicateSocket on 0x2a0 after WSPDuplicateSocket returned for it/},
        ],
      },
      {
        name: 'the target process never re-creates the socket (info)',
        build: (b) => {
          connected(b)
          dup(b, '0x2a0', '0xabc1')
          b.close(A, T, '0x2a0', '0x3c4')
          b.socket(A + 5, T, '0x4a0', '0x5c4', {ProviderReserved: '0xabc1'}) // wrong process: not the link
          b.wait(11000)
          b.callRet(A, T, 'WSPCleanup', {})
        },
        findings: [{message: /^no WSPSocket in process 701 carried dwProviderReserved 0xabc1 within 10 s of WSPDuplicateSocket on 0x2a0: the duplicated socket was not re-created \(the trace may not include that process\)$/, severity: 'info'}],
      },
    ],
    notEvaluated: [{name: 'no duplication', build: (b) => connected(b), reason: /no WSPDuplicateSocket calls/}],
  },
  DATAPATH_RULES,
)

ruleTester(
  'SAN038',
  {
    valid: [
      {
        name: 'receive flushed with success and 0 bytes inside the call; re-created with a new handle; data flows',
        build: (b) => {
          connected(b)
          b.post(A, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          dupFlushing(b, '0x2a0', '0x3c4', '0xabc1', ['0x7040'])
          b.close(A, T, '0x2a0', '0x3c4')
          b.socket(B, T, '0x4a0', '0x5c4', {ProviderReserved: '0xabc1'})
          b.register(B, T, '0x4a0', '0x5000000', 65536, '0x9001')
          b.post(B, T, 'WSPRecv', '0x4a0', '0x7040', 100)
        },
      },
      {
        name: 'poll-mode receive flushed (OpDone inside the call)',
        build: (b) => {
          connected(b)
          b.post(A, T, 'WSPRecv', '0x2a0', '0x7041', 100, {hEvent: '0x1f1'})
          const seq = b.call(A, T, 'WSPDuplicateSocket', {Socket: '0x2a0', TargetPid: B})
          b.emit(A, undefined, 'OpDone', {Socket: '0x2a0', Overlapped: '0x7041', Error: 0, Bytes: 0, Notified: false, Reason: 'flush-on-duplicate'})
          b.ret(A, T, 'WSPDuplicateSocket', seq, 0, 0, {Socket: '0x2a0', ProviderReservedOut: '0xabc1'})
          b.socket(B, T, '0x4a0', '0x5c4', {ProviderReserved: '0xabc1'})
        },
      },
      {
        name: 're-activation: the socket returns to its first process under its old descriptor, without a new handle',
        build: (b) => {
          connected(b)
          dup(b, '0x2a0', '0xabc1')
          b.socket(B, T, '0x4a0', '0x5c4', {ProviderReserved: '0xabc1'})
          dup(b, '0x4a0', '0xabc2', B, A)
          recreateNoHandle(b, A, '0xabc2', '0x2a0')
          b.post(A, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          b.close(B, T, '0x4a0', '0x5c4')
        },
      },
      {
        name: 'a poll-mode receive in a trace without OpDone is not judged; the rest is',
        build: (b) => {
          connected(b)
          b.post(A, T, 'WSPRecv', '0x2a0', '0x7041', 100, {hEvent: '0x1f1'})
          dup(b, '0x2a0', '0xabc1')
          b.socket(B, T, '0x4a0', '0x5c4', {ProviderReserved: '0xabc1'})
        },
      },
      {
        name: 'a failed duplication owes nothing',
        build: (b) => {
          connected(b)
          b.post(A, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          b.callRet(A, T, 'WSPDuplicateSocket', {Socket: '0x2a0', TargetPid: B}, -1, 10055)
          dup(b, '0x2b0', '0xabc9') // socket unknown to the trace, nothing pending
        },
      },
    ],
    invalid: [
      {
        name: 'a receive still pending when WSPDuplicateSocket returned',
        build: (b) => {
          connected(b)
          b.post(A, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          dup(b, '0x2a0', '0xabc1')
          b.socket(B, T, '0x4a0', '0x5c4', {ProviderReserved: '0xabc1'})
        },
        findings: [{message: /^WSPDuplicateSocket on 0x2a0 returned while WSPRecv \(OVERLAPPED 0x7040\) was still pending: outstanding receives must be completed with success and 0 bytes before it returns$/, fault: 'provider'}],
      },
      {
        name: 'receives flushed with an error or with data',
        build: (b) => {
          connected(b)
          b.post(A, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          b.post(A, T, 'WSPRecv', '0x2a0', '0x7044', 100)
          const seq = b.call(A, T, 'WSPDuplicateSocket', {Socket: '0x2a0', TargetPid: B})
          b.complete(A, T, '0x3c4', '0x7040', 0, WSA_OPERATION_ABORTED)
          b.complete(A, T, '0x3c4', '0x7044', 12)
          b.ret(A, T, 'WSPDuplicateSocket', seq, 0, 0, {ProviderReservedOut: '0xabc1'})
          b.socket(B, T, '0x4a0', '0x5c4', {ProviderReserved: '0xabc1'})
        },
        findings: [
          {message: /^WSPRecv \(OVERLAPPED 0x7040\) on 0x2a0 was completed with WSA_OPERATION_ABORTED \(995\), 0 bytes during WSPDuplicateSocket/},
          {message: /^WSPRecv \(OVERLAPPED 0x7044\) on 0x2a0 was completed with success, 12 bytes during WSPDuplicateSocket/},
        ],
      },
      {
        name: 'success with dwProviderReserved = 0',
        build: (b) => (connected(b), dup(b, '0x2a0', '0x0')),
        findings: [{message: /^WSPDuplicateSocket on 0x2a0 succeeded with dwProviderReserved = 0/}],
      },
      {
        name: 'the same dwProviderReserved for two live sockets',
        build: (b) => {
          connected(b)
          connected(b, A, '0x2b0', '0x3c8')
          dup(b, '0x2a0', '0xabc1')
          dup(b, '0x2b0', '0xabc1')
        },
        findings: [{message: /^WSPDuplicateSocket on 0x2b0 \(process 700\) returned dwProviderReserved 0xabc1, already returned at \+[\d.]+ s for 0x2a0 \(process 700\), which is still open/}],
      },
      {
        name: 'the re-creating WSPSocket fails (warning)',
        build: (b) => {
          connected(b)
          dup(b, '0x2a0', '0xabc1')
          recreateNoHandle(b, B, '0xabc1', '0x4a0', -1, 10055)
        },
        findings: [{message: /^the WSPSocket re-creating the duplicated socket in process 701 \(dwProviderReserved 0xabc1, from 0x2a0 in process 700\) failed with WSAENOBUFS \(10055\): the connected state was not reproduced$/, severity: 'warning'}],
      },
      {
        name: 'the re-creating WSPSocket returns a new descriptor without WPUCreateSocketHandle',
        build: (b) => {
          connected(b)
          dup(b, '0x2a0', '0xabc1')
          recreateNoHandle(b, B, '0xabc1', '0x4a0')
        },
        findings: [{message: /returned 0x4a0 without WPUCreateSocketHandle, and 0x4a0 was not a live descriptor in that process/, severity: 'error'}],
      },
      {
        name: 'the re-created socket fails data-path calls with WSAENOTCONN (warning)',
        build: (b) => {
          connected(b)
          dup(b, '0x2a0', '0xabc1')
          b.socket(B, T, '0x4a0', '0x5c4', {ProviderReserved: '0xabc1'})
          b.callRet(B, T, 'WSPRegisterMemory', {Socket: '0x4a0', RegAddr: '0x5000000', RegLen: 4096, MemFlags: 3}, 0, WSAENOTCONN)
          b.callRet(B, T, 'WSPRecv', {Socket: '0x4a0', Overlapped: '0x7040', HEvent: '0x1f0', TotalLen: 10}, -1, WSAENOTCONN)
        },
        findings: [{message: /^WSPRegisterMemory on re-created duplicated socket 0x4a0 failed with WSAENOTCONN \(10057\) before any close: the connected state of the socket duplicated from process 700 \(0x2a0, dwProviderReserved 0xabc1\) was not reproduced$/, severity: 'warning'}],
      },
      {
        name: 'the re-created socket\'s first receive completes with WSAENOTCONN (warning)',
        build: (b) => {
          connected(b)
          dup(b, '0x2a0', '0xabc1')
          b.socket(B, T, '0x4a0', '0x5c4', {ProviderReserved: '0xabc1'})
          b.callRet(B, T, 'WSPRecv', {Socket: '0x4a0', Overlapped: '0x7040', HEvent: '0x1f0', TotalLen: 10}, -1, WSA_IO_PENDING)
          b.complete(B, CB, '0x5c4', '0x7040', 0, WSAENOTCONN)
        },
        findings: [{message: /^WSPRecv \(OVERLAPPED 0x7040\) on re-created duplicated socket 0x4a0 failed with WSAENOTCONN/, severity: 'warning'}],
      },
    ],
    notEvaluated: [{name: 'no duplication', build: (b) => connected(b), reason: /no WSPDuplicateSocket calls/}],
  },
  DATAPATH_RULES,
)
