import {ruleTester} from '../../helpers/rule-tester.js'
import {WSAEWOULDBLOCK, WSA_IO_PENDING, WSA_OPERATION_ABORTED} from '../../../src/synth/builder.js'
import type {TraceBuilder} from '../../../src/synth/builder.js'
import {CONTRACT_RULES} from '../../../src/rules/contract/index.js'

const P = 200
const T = 8
const S = '0x2a0'
const H = '0x3c4'

const WSAEINTR = 10004
const WSAEFAULT = 10014
const WSAEINVAL = 10022
const WSAEINPROGRESS = 10036
const WSAENOTSOCK = 10038
const WSAEOPNOTSUPP = 10045
const WSAEADDRINUSE = 10048
const WSAEADDRNOTAVAIL = 10049
const WSAECONNRESET = 10054
const WSAETIMEDOUT = 10060
const WSAECONNREFUSED = 10061
const WSAEACCES = 10013
const WSA_IO_INCOMPLETE = 996

const connected = (b: TraceBuilder): void => {
  b.startup(P, T)
  b.connect(P, T, S, H, '10.0.0.2:80')
  b.register(P, T, S, '0x5000000', 65536, '0x9001')
}

const abort = (b: TraceBuilder, s = S): void => {
  b.emit(P, 12, 'SwitchAbort', {provider: 'WSD.SwitchShim', SanSocket: s, Reason: 'rdma-timeout'})
}

/** A listening socket bound, whose WSPListen fails with `err`. */
const failedListen = (b: TraceBuilder, err: number, s = '0x1a0', h = '0x400'): void => {
  b.socket(P, T, s, h)
  b.callRet(P, T, 'WSPBind', {Socket: s, Addr: '0.0.0.0:1433'})
  b.callRet(P, T, 'WSPListen', {Socket: s, Backlog: 16}, -1, err)
}

ruleTester(
  'SAN004',
  {
    valid: [
      {
        name: 'documented failures only',
        build: (b) => {
          connected(b)
          failedListen(b, WSAEINVAL)
          b.callRet(P, T, 'WSPConnect', {Socket: '0x1a0', Addr: '10.0.0.3:80'}, -1, WSAECONNREFUSED)
          b.post(P, T, 'WSPRecv', S, '0x7040', 4096)
          b.close(P, T, S, H)
          b.complete(P, 40, H, '0x7040', 0, WSA_OPERATION_ABORTED)
        },
      },
    ],
    invalid: [
      {
        name: 'WSPCloseSocket: WSAEWOULDBLOCK and WSAEINPROGRESS [V]',
        build: (b) => {
          connected(b)
          b.callRet(P, T, 'WSPCloseSocket', {Socket: S}, -1, WSAEWOULDBLOCK)
          b.callRet(P, T, 'WSPCloseSocket', {Socket: S}, -1, WSAEINPROGRESS)
        },
        findings: [
          {
            message: /^WSPCloseSocket on 0x2a0 failed with WSAEWOULDBLOCK \(10035\), a code a SAN provider never returns for it: the switch performs graceful close and linger itself, .* \(the SAN reference page lists it as not supported\)$/,
            severity: 'error',
            fault: 'provider',
            socket: S,
          },
          {message: /^WSPCloseSocket on 0x2a0 failed with WSAEINPROGRESS \(10036\).*no blocking call can be in progress \(the SAN reference page/, severity: 'error'},
        ],
      },
      {
        name: 'WSPListen: WSAEADDRINUSE, WSAEINPROGRESS and WSAEOPNOTSUPP [V]',
        build: (b) => {
          failedListen(b, WSAEADDRINUSE, '0x1a0', '0x400')
          failedListen(b, WSAEINPROGRESS, '0x1b0', '0x404')
          failedListen(b, WSAEOPNOTSUPP, '0x1c0', '0x408')
        },
        findings: [
          {message: /^WSPListen on 0x1a0 failed with WSAEADDRINUSE \(10048\).*address reuse/, severity: 'error', socket: '0x1a0'},
          {message: /^WSPListen on 0x1b0 failed with WSAEINPROGRESS/, severity: 'error'},
          {message: /^WSPListen on 0x1c0 failed with WSAEOPNOTSUPP \(10045\).*SOCK_STREAM/, severity: 'error'},
        ],
      },
      {
        name: 'WSPCleanup: WSAEINVAL [V]',
        build: (b) => {
          b.startup(P, T)
          b.callRet(P, T, 'WSPCleanup', {}, -1, WSAEINVAL)
        },
        findings: [{message: /^WSPCleanup failed with WSAEINVAL \(10022\).*lists only WSANOTINITIALISED and WSAENETDOWN/, severity: 'error'}],
      },
      {
        name: 'WSPEventSelect, WSPEnumNetworkEvents and WSPDuplicateSocket: WSAEINPROGRESS [V]',
        build: (b) => {
          connected(b)
          b.callRet(P, T, 'WSPEventSelect', {Socket: S, EventHandle: '0x1f0', NetworkEvents: 0x10}, -1, WSAEINPROGRESS)
          b.callRet(P, T, 'WSPEnumNetworkEvents', {Socket: S, EventHandle: '0x1f0'}, -1, WSAEINPROGRESS)
          b.callRet(P, T, 'WSPDuplicateSocket', {Socket: S, TargetPid: 300}, -1, WSAEINPROGRESS)
        },
        findings: [
          {message: /^WSPEventSelect on 0x2a0 failed with WSAEINPROGRESS/, severity: 'error'},
          {message: /^WSPEnumNetworkEvents on 0x2a0 failed with WSAEINPROGRESS/, severity: 'error'},
          {message: /^WSPDuplicateSocket on 0x2a0 failed with WSAEINPROGRESS/, severity: 'error'},
        ],
      },
      {
        name: 'every other function: WSAEINPROGRESS / WSAEINTR inferred, warnings',
        build: (b) => {
          b.callRet(P, T, 'WSPStartupEx', {Version: 0x0202}, WSAEINPROGRESS)
          connected(b)
          b.callRet(P, T, 'WSPSend', {Socket: S, Overlapped: '0x7040', HEvent: '0x1f0', CompletionRoutine: '0x0', Flags: 0, BufferCount: 1, TotalLen: 10}, -1, WSAEINTR)
          b.callRet(P, T, 'WSPGetSockOpt', {Socket: S, OptLevel: 0xffff, OptName: 0x2003, OptLen: 4}, -1, WSAEINPROGRESS)
          b.callRet(P, T, 'WSPCloseSocket', {Socket: S}, -1, WSAEINTR)
        },
        findings: [
          {message: /^WSPStartupEx failed with WSAEINPROGRESS \(10036\).*\(inferred, the page does not say so\)$/, severity: 'warning'},
          {message: /^WSPSend on 0x2a0 failed with WSAEINTR \(10004\).*WSPCancelBlockingCall is never issued.*inferred/, severity: 'warning'},
          {message: /^WSPGetSockOpt on 0x2a0 failed with WSAEINPROGRESS.*inferred/, severity: 'warning'},
          {message: /^WSPCloseSocket on 0x2a0 failed with WSAEINTR.*inferred/, severity: 'warning'},
        ],
      },
      {
        name: 'a completion status of WSAEINTR (inferred)',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPRecv', S, '0x7040', 4096)
          b.complete(P, 40, H, '0x7040', 0, WSAEINTR)
        },
        findings: [
          {
            message: /^WPUCompleteOverlappedRequest completed WSPRecv \(OVERLAPPED 0x7040\) with WSAEINTR \(10004\), never a valid completion status on a SAN: .*\(inferred/,
            severity: 'warning',
            socket: S,
          },
        ],
      },
      {
        name: 'abort regime: non-close failures are info, close is still judged',
        build: (b) => {
          connected(b)
          abort(b)
          b.callRet(P, T, 'WSPGetSockOpt', {Socket: S, OptLevel: 0xffff, OptName: 0x2003, OptLen: 4}, -1, WSAEINPROGRESS)
          b.post(P, T, 'WSPRecv', S, '0x7050', 4096)
          b.callRet(P, T, 'WSPCloseSocket', {Socket: S}, -1, WSAEWOULDBLOCK)
          b.complete(P, 40, H, '0x7050', 0, WSAEINTR)
        },
        findings: [
          {message: /^WSPGetSockOpt on 0x2a0 failed with WSAEINPROGRESS.*; the socket is in the abort regime \(rdma-timeout\)$/, severity: 'info'},
          {message: /^WSPCloseSocket on 0x2a0 failed with WSAEWOULDBLOCK.*lists it as not supported\)$/, severity: 'error'},
          {message: /^WPUCompleteOverlappedRequest completed WSPRecv \(OVERLAPPED 0x7050\) with WSAEINTR.*abort regime/, severity: 'info'},
        ],
      },
    ],
    notEvaluated: [
      {name: 'switch events only', build: (b) => b.emit(P, T, 'AppRequest', {AppReqId: 1, Kind: 'send', Blocking: true}), reason: /no SPI returns/},
    ],
  },
  CONTRACT_RULES,
)

ruleTester(
  'SAN005',
  {
    valid: [
      {name: 'a session without failures', build: (b) => connected(b)},
      {
        name: 'documented codes and the whitelist',
        build: (b) => {
          connected(b)
          // Documented codes.
          failedListen(b, WSAEINVAL)
          b.callRet(P, T, 'WSPConnect', {Socket: '0x1a0', Addr: '10.0.0.3:80'}, -1, WSAETIMEDOUT)
          b.callRet(P, T, 'WSPDeregisterMemory', {Socket: S, MemHandle: '0x9999'}, -1, WSAEINVAL)
          // WSPConnect WSAEWOULDBLOCK (in connect()), data transfers WSA_IO_PENDING, overlapped WSPIoctl WSA_IO_PENDING.
          b.post(P, T, 'WSPRecv', S, '0x7040', 4096, {hEvent: '0x1f1'})
          b.callRet(P, T, 'WSPIoctl', {Socket: S, IoctlCode: 0x48000016, Overlapped: '0x7060', InLen: 0, OutLen: 256}, -1, WSA_IO_PENDING)
          // WSPGetOverlappedResult: WSA_IO_INCOMPLETE, then the operation's own error.
          b.callRet(P, T, 'WSPGetOverlappedResult', {Socket: S, Overlapped: '0x7040', FWait: false}, 0, WSA_IO_INCOMPLETE)
          b.callRet(P, T, 'WSPGetOverlappedResult', {Socket: S, Overlapped: '0x7040', FWait: false}, 0, WSAECONNRESET)
          // WSPRegisterRdmaMemory size probe.
          b.callRet(P, T, 'WSPRegisterRdmaMemory', {Socket: S, RegAddr: '0x7000000', RegLen: 8192, MemFlags: 2, DescriptorLenIn: 1}, -1, WSAEFAULT, 0.02, {DescriptorLenOut: 16})
          b.close(P, T, S, H)
          // WSAENOTSOCK for a call on a closed descriptor, even where the page does not list it.
          b.callRet(P, T, 'WSPDeregisterMemory', {Socket: S, MemHandle: '0x9001'}, -1, WSAENOTSOCK)
        },
      },
      {
        name: 'codes SAN004 reports are not reported again',
        build: (b) => {
          connected(b)
          b.callRet(P, T, 'WSPCloseSocket', {Socket: S}, -1, WSAEWOULDBLOCK)
        },
      },
      {
        name: 'abort regime: failures of calls other than close are expected',
        build: (b) => {
          connected(b)
          abort(b)
          b.callRet(P, T, 'WSPRegisterMemory', {Socket: S, RegAddr: '0x6000000', RegLen: 4096, MemFlags: 3}, 0, WSAECONNRESET)
          b.close(P, T, S, H)
        },
      },
    ],
    invalid: [
      {
        name: 'a code outside a verified list: warning',
        build: (b) => failedListen(b, WSAETIMEDOUT),
        findings: [
          {
            message: /^WSPListen on 0x1a0 failed with WSAETIMEDOUT \(10060\), which is not among its documented codes \(WSAENETDOWN, WSAEINVAL, WSAEISCONN, WSAEMFILE, WSAENOBUFS or WSAENOTSOCK; verified list\)$/,
            severity: 'warning',
            fault: 'provider',
            socket: '0x1a0',
          },
        ],
      },
      {
        name: 'a code outside a partial list: info',
        build: (b) => {
          b.socket(P, T, S, H)
          b.callRet(P, T, 'WSPBind', {Socket: S, Addr: '10.0.0.1:5000'}, -1, WSAEADDRINUSE)
        },
        findings: [{message: /^WSPBind on 0x2a0 failed with WSAEADDRINUSE \(10048\), which is not among its documented codes \(WSAENETDOWN, WSAEADDRNOTAVAIL or WSAEFAULT; partial list\)$/, severity: 'info'}],
      },
      {
        name: 'a code outside an inferred list: info',
        build: (b) => {
          connected(b)
          b.callRet(P, T, 'WSPGetQOSByName', {Socket: S}, -1, WSAEACCES)
        },
        findings: [{message: /^WSPGetQOSByName on 0x2a0 failed with WSAEACCES \(10013\).*inferred list\)$/, severity: 'info'}],
      },
      {
        name: 'WSAENOTSOCK on a live descriptor where the verified list lacks it',
        build: (b) => {
          connected(b)
          b.callRet(P, T, 'WSPRegisterMemory', {Socket: S, RegAddr: '0x6000000', RegLen: 4096, MemFlags: 3}, 0, WSAENOTSOCK)
        },
        findings: [{message: /^WSPRegisterMemory on 0x2a0 failed with WSAENOTSOCK \(10038\).*\(WSAENOBUFS, WSAEFAULT, WSAEINVAL or WSAENOTCONN; verified list\)$/, severity: 'warning'}],
      },
      {
        name: 'a failure without an error code',
        build: (b) => {
          b.socket(P, T, S, H)
          b.callRet(P, T, 'WSPBind', {Socket: S, Addr: '10.0.0.1:5000'}, -1, 0)
        },
        findings: [{message: /^WSPBind on 0x2a0 failed \(Rc=-1\) without setting an error code \(Errno 0\)$/, severity: 'warning'}],
      },
      {
        name: 'WSPGetOverlappedResult with a code that is neither its own nor the operation\'s',
        build: (b) => {
          connected(b)
          b.post(P, T, 'WSPSend', S, '0x7040', 100, {hEvent: '0x1f1'})
          b.callRet(P, T, 'WSPGetOverlappedResult', {Socket: S, Overlapped: '0x7040', FWait: false}, 0, WSAEADDRNOTAVAIL)
        },
        findings: [{message: /^WSPGetOverlappedResult on 0x2a0 failed with WSAEADDRNOTAVAIL \(10049\).*partial list\)$/, severity: 'info'}],
      },
      {
        name: 'abort regime: WSPCloseSocket is still judged',
        build: (b) => {
          connected(b)
          abort(b)
          b.callRet(P, T, 'WSPCloseSocket', {Socket: S}, -1, WSAEFAULT)
        },
        findings: [{message: /^WSPCloseSocket on 0x2a0 failed with WSAEFAULT \(10014\).*\(WSAENETDOWN or WSAENOTSOCK; verified list\)$/, severity: 'warning'}],
      },
    ],
    notEvaluated: [
      {name: 'switch events only', build: (b) => b.emit(P, T, 'AppRequest', {AppReqId: 1, Kind: 'send', Blocking: true}), reason: /no SPI returns/},
    ],
  },
  CONTRACT_RULES,
)
