import {ruleTester} from '../../helpers/rule-tester.js'
import {FD_CONNECT, WSAEWOULDBLOCK} from '../../../src/synth/builder.js'
import type {TraceBuilder} from '../../../src/synth/builder.js'
import {CONTRACT_RULES} from '../../../src/rules/contract/index.js'

const P = 300
const P2 = 301
const T = 5
const WSAEINVAL = 10022
const WSAENOTSOCK = 10038
const WSAENOPROTOOPT = 10042
const WSAEADDRNOTAVAIL = 10049
const WSAENOBUFS = 10055
const SIO_ADDRESS_LIST_QUERY = 0x48000016
const SIO_GET_EXTENSION_FUNCTION_POINTER = 0xc8000006

/** WSPSocket with the given fields and no WPUCreateSocketHandle inside. */
function bareSocket(b: TraceBuilder, pid: number, s: string | number, fields: Record<string, unknown> = {}, tid = T): void {
  b.callRet(pid, tid, 'WSPSocket', {Af: 2, Type: 1, Protocol: 6, Flags: 1, ProviderReserved: '0x0', ...fields}, s)
}

/** WSPDuplicateSocket returning `token`. */
function duplicate(b: TraceBuilder, pid: number, s: string, target: number, token: string): void {
  b.callRet(pid, T, 'WSPDuplicateSocket', {Socket: s, TargetPid: target}, 0, 0, 0.02, {ProviderReservedOut: token})
}

/** The companion-socket sequence of a connect: bound to the application's fully qualified address. */
function companionConnect(b: TraceBuilder, s = '0x2a0', h = '0x3c4', bind = '10.0.0.1:50001', pid = P): void {
  b.socket(pid, T, s, h)
  b.callRet(pid, T, 'WSPBind', {Socket: s, Addr: bind})
  b.callRet(pid, T, 'WSPSetSockOpt', {Socket: s, OptLevel: 0xffff, OptName: 0x0001, OptLen: 4})
  b.callRet(pid, T, 'WSPEventSelect', {Socket: s, EventHandle: '0x1f0', NetworkEvents: FD_CONNECT})
  b.callRet(pid, T, 'WSPConnect', {Socket: s, Addr: '10.0.0.2:80'}, -1, WSAEWOULDBLOCK)
}

// ---------------------------------------------------------------------------------------------

ruleTester(
  'SAN007',
  {
    valid: [
      {name: 'AF_INET, SOCK_STREAM, IPPROTO_TCP, overlapped', build: (b) => b.socket(P, T, '0x2a0', '0x3c4')},
      {name: 'AF_INET6', build: (b) => b.socket(P, T, '0x2a0', '0x3c4', {Af: 23})},
      {name: 'FROM_PROTOCOL_INFO for a duplicated socket', build: (b) => b.socket(P, T, '0x2a0', '0x3c4', {Af: 0xffffffff, Type: 0xffffffff, Protocol: 0xffffffff, ProviderReserved: '0xd00d'})},
    ],
    invalid: [
      {
        name: 'a UDP datagram socket',
        build: (b) => b.socket(P, T, '0x2a0', '0x3c4', {Type: 2, Protocol: 17}),
        findings: [
          {
            message: /^WSPSocket with type SOCK_DGRAM \(2\), protocol IPPROTO_UDP \(17\): the switch only creates TCP stream companion sockets \(AF_INET\/AF_INET6, SOCK_STREAM, IPPROTO_TCP\)$/,
            severity: 'error',
            fault: 'switch',
            socket: '0x2a0',
            pid: P,
          },
        ],
      },
      {
        name: 'a raw socket',
        build: (b) => b.socket(P, T, '0x2a0', '0x3c4', {Type: 3, Protocol: 255}),
        findings: [{message: /^WSPSocket with type SOCK_RAW \(3\), protocol IPPROTO_RAW \(255\):/}],
      },
      {
        name: 'a non-IP address family',
        build: (b) => b.socket(P, T, '0x2a0', '0x3c4', {Af: 17}),
        findings: [{message: /^WSPSocket with address family AF_NETBIOS \(17\):/}],
      },
      {
        name: 'without WSA_FLAG_OVERLAPPED: warning',
        build: (b) => b.socket(P, T, '0x2a0', '0x3c4', {Flags: 0x80}),
        findings: [{message: /^WSPSocket with dwFlags 0x80 lacks WSA_FLAG_OVERLAPPED \(0x1\): SAN transfers are always overlapped$/, severity: 'warning'}],
      },
      {
        name: 'both, and a WSPSocket that never returned',
        build: (b) => {
          b.socket(P, T, '0x2a0', '0x3c4', {Protocol: 0, Flags: 0})
          b.call(P, T + 1, 'WSPSocket', {Af: 2, Type: 5, Protocol: 6, Flags: 1})
        },
        findings: [
          {message: /^WSPSocket with protocol unspecified \(0\):/, severity: 'error', socket: '0x2a0'},
          {message: /lacks WSA_FLAG_OVERLAPPED/, severity: 'warning', socket: '0x2a0'},
          {message: /^WSPSocket with type SOCK_SEQPACKET \(5\):/, severity: 'error'},
        ],
      },
    ],
    notEvaluated: [
      {name: 'no WSPSocket', build: (b) => b.callRet(P, T, 'WSPStartupEx', {Version: 0x202}), reason: /no WSPSocket calls/},
      {name: 'WSPSocket without its parameters', build: (b) => b.callRet(P, T, 'WSPSocket', {}, '0x2a0'), reason: /without Af, Type or Protocol/},
    ],
  },
  CONTRACT_RULES,
)

// ---------------------------------------------------------------------------------------------

ruleTester(
  'SAN008',
  {
    valid: [
      {
        name: 'WSPSocket and WSPAccept each create one switch handle',
        build: (b) => {
          b.listen(P, T, '0x1a0', '0x400', '0.0.0.0:1433')
          b.accept(P, T, '0x1a0', '0x2b0', '0x404')
          b.socket(P, T, '0x2a0', '0x3c4')
        },
      },
      {
        name: 'failed calls: no handle, or the handle released inside the call or within the grace period',
        build: (b) => {
          bareSocket(b, P, -1)
          const seq = b.call(P, T, 'WSPSocket', {Af: 2, Type: 1, Protocol: 6, Flags: 1, ProviderReserved: '0x0'})
          b.upcall(P, T, 'WPUCreateSocketHandle', {CatalogEntryId: 1001}, 0, {NewSwitchSocket: '0x3c4'})
          b.upcall(P, T, 'WPUCloseSocketHandle', {SwitchSocket: '0x3c4'})
          b.ret(P, T, 'WSPSocket', seq, -1, WSAENOBUFS)
          const seq2 = b.call(P, T, 'WSPAccept', {Socket: '0x1a0'})
          b.upcall(P, T, 'WPUCreateSocketHandle', {CatalogEntryId: 1001}, 0, {NewSwitchSocket: '0x3c8'})
          b.ret(P, T, 'WSPAccept', seq2, -1, WSAENOBUFS)
          b.wait(500)
          b.upcall(P, 40, 'WPUCloseSocketHandle', {SwitchSocket: '0x3c8'})
          b.wait(3000)
          b.socket(P, T, '0x2a0', '0x3cc')
        },
      },
    ],
    invalid: [
      {
        name: 'WSPSocket returns without WPUCreateSocketHandle',
        build: (b) => {
          b.socket(P, T, '0x2b0', '0x3c8')
          bareSocket(b, P, '0x2a0')
        },
        findings: [
          {
            message: /^WSPSocket returned descriptor 0x2a0 without calling WPUCreateSocketHandle: the switch has no handle for the new socket$/,
            severity: 'error',
            fault: 'provider',
            socket: '0x2a0',
          },
        ],
      },
      {
        name: 'judged once upcalls prove to be traced, even when the first upcall comes later',
        build: (b) => {
          bareSocket(b, P, '0x2a0')
          b.wait(100)
          b.upcall(P, 40, 'WPUQueueApc', {})
        },
        findings: [{message: /^WSPSocket returned descriptor 0x2a0 without calling WPUCreateSocketHandle/, socket: '0x2a0'}],
      },
      {
        name: 'WSPAccept returns a new socket without WPUCreateSocketHandle',
        build: (b) => {
          b.listen(P, T, '0x1a0', '0x400', '0.0.0.0:1433')
          b.callRet(P, T, 'WSPAccept', {Socket: '0x1a0'}, '0x2b0')
        },
        findings: [{message: /^WSPAccept on listening socket 0x1a0 returned new descriptor 0x2b0 without calling WPUCreateSocketHandle/, socket: '0x2b0'}],
      },
      {
        name: 'an upcall on another thread, or a failed one, does not count',
        build: (b) => {
          const seq = b.call(P, T, 'WSPSocket', {Af: 2, Type: 1, Protocol: 6, Flags: 1, ProviderReserved: '0x0'})
          b.upcall(P, T + 1, 'WPUCreateSocketHandle', {CatalogEntryId: 1001}, 0, {NewSwitchSocket: '0x3c4'})
          b.ret(P, T, 'WSPSocket', seq, '0x2a0')
          const seq2 = b.call(P, T, 'WSPSocket', {Af: 2, Type: 1, Protocol: 6, Flags: 1, ProviderReserved: '0x0'})
          b.upcall(P, T, 'WPUCreateSocketHandle', {CatalogEntryId: 1001}, -1, {Errno: WSAENOBUFS})
          b.ret(P, T, 'WSPSocket', seq2, '0x2b0')
        },
        findings: [{message: /returned descriptor 0x2a0 without calling WPUCreateSocketHandle/}, {message: /returned descriptor 0x2b0 without calling WPUCreateSocketHandle/}],
      },
      {
        name: 'a duplicated socket re-created under a descriptor that is not live here is not a re-activation',
        build: (b) => {
          b.socket(P, T, '0x2b0', '0x3c8')
          bareSocket(b, P, '0x2a0', {ProviderReserved: '0xd00d'})
        },
        findings: [{message: /^WSPSocket returned descriptor 0x2a0 without calling WPUCreateSocketHandle: .*\(dwProviderReserved 0xd00d, but the descriptor was not live in this process, so it is not a re-activation\)$/}],
      },
      {
        name: 're-activation of a duplicated socket in the process where it still exists: info',
        build: (b) => {
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          duplicate(b, P, '0x2a0', P2, '0xd00d')
          b.socket(P2, T, '0x5a0', '0x7c4', {ProviderReserved: '0xd00d'})
          duplicate(b, P2, '0x5a0', P, '0xd00e')
          bareSocket(b, P, '0x2a0', {ProviderReserved: '0xd00e'})
        },
        findings: [
          {
            message: /^WSPSocket re-activated duplicated socket 0x2a0 without WPUCreateSocketHandle: the descriptor is still live in process 300 since \+[\d.]+ s with switch handle 0x3c4 \(allowed re-activation\)$/,
            severity: 'info',
            socket: '0x2a0',
          },
        ],
      },
      {
        name: 're-activation under the descriptor of a different live socket',
        build: (b) => {
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          b.connect(P, T, '0x2b0', '0x3c8', '10.0.0.2:81')
          duplicate(b, P, '0x2b0', P2, '0xd00d')
          b.socket(P2, T, '0x5a0', '0x7c4', {ProviderReserved: '0xd00d'})
          duplicate(b, P2, '0x5a0', P, '0xd00e')
          bareSocket(b, P, '0x2a0', {ProviderReserved: '0xd00e'})
        },
        findings: [{message: /\(dwProviderReserved 0xd00e, but the live descriptor is a different socket, so it is not a re-activation\)$/, severity: 'error'}],
      },
      {
        name: 'several switch handles for one socket: warning',
        build: (b) => {
          const seq = b.call(P, T, 'WSPSocket', {Af: 2, Type: 1, Protocol: 6, Flags: 1, ProviderReserved: '0x0'})
          b.upcall(P, T, 'WPUCreateSocketHandle', {CatalogEntryId: 1001}, 0, {NewSwitchSocket: '0x3c4'})
          b.upcall(P, T, 'WPUCreateSocketHandle', {CatalogEntryId: 1001}, 0, {NewSwitchSocket: '0x3c8'})
          b.ret(P, T, 'WSPSocket', seq, '0x2a0')
        },
        findings: [{message: /^WSPSocket created 2 switch handles \(0x3c4, 0x3c8\) for one socket; only one is used and the others are never released$/, severity: 'warning', socket: '0x2a0'}],
      },
      {
        name: 'a failed call leaks the switch handle it created: warning',
        build: (b) => {
          const seq = b.call(P, T, 'WSPSocket', {Af: 2, Type: 1, Protocol: 6, Flags: 1, ProviderReserved: '0x0'})
          b.upcall(P, T, 'WPUCreateSocketHandle', {CatalogEntryId: 1001}, 0, {NewSwitchSocket: '0x3c4'})
          b.ret(P, T, 'WSPSocket', seq, -1, WSAENOBUFS)
          b.wait(2500)
          b.upcall(P, 40, 'WPUCloseSocketHandle', {SwitchSocket: '0x3c4'})
        },
        findings: [{message: /^WSPSocket failed but the switch handle 0x3c4 it created was not closed with WPUCloseSocketHandle within 2 s \(leaked switch handle\)$/, severity: 'warning', pid: P}],
      },
      {
        name: 'the grace period is the close-grace flag',
        build: (b) => {
          const seq = b.call(P, T, 'WSPAccept', {Socket: '0x1a0'})
          b.upcall(P, T, 'WPUCreateSocketHandle', {CatalogEntryId: 1001}, 0, {NewSwitchSocket: '0x3c4'})
          b.ret(P, T, 'WSPAccept', seq, -1, 10061)
          b.wait(600)
          b.upcall(P, 40, 'WPUCloseSocketHandle', {SwitchSocket: '0x3c4'})
        },
        options: {thresholds: {'close-grace': '500ms'}},
        findings: [{message: /^WSPAccept failed but the switch handle 0x3c4 .* within 500 ms/, severity: 'warning'}],
      },
    ],
    notEvaluated: [
      {name: 'upcalls not traced', build: (b) => bareSocket(b, P, '0x2a0'), reason: /no upcalls/},
      {name: 'no socket created', build: (b) => b.upcall(P, 40, 'WPUQueueApc', {}), reason: /no WSPSocket or WSPAccept returns/},
      {
        name: 'calls without thread ids',
        build: (b) => {
          b.emit(P, undefined, 'SpiCall', {Seq: 1, Fn: 'WSPSocket', Af: 2, Type: 1, Protocol: 6, Flags: 1})
          b.emit(P, undefined, 'SpiReturn', {Seq: 1, Fn: 'WSPSocket', Rc: '0x2a0', Errno: 0})
          b.upcall(P, 40, 'WPUQueueApc', {})
        },
        reason: /without a thread id/,
      },
      {
        name: 'the trace ends within the grace period after a failed call',
        build: (b) => {
          const seq = b.call(P, T, 'WSPSocket', {Af: 2, Type: 1, Protocol: 6, Flags: 1, ProviderReserved: '0x0'})
          b.upcall(P, T, 'WPUCreateSocketHandle', {CatalogEntryId: 1001}, 0, {NewSwitchSocket: '0x3c4'})
          b.ret(P, T, 'WSPSocket', seq, -1, WSAENOBUFS)
        },
        reason: /trace ended within the grace period/,
      },
    ],
  },
  CONTRACT_RULES,
)

// ---------------------------------------------------------------------------------------------

ruleTester(
  'SAN009',
  {
    valid: [
      {
        name: 'a descriptor reissued after WSPCloseSocket (whatever its result)',
        build: (b) => {
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          b.close(P, T, '0x2a0', '0x3c4')
          b.connect(P, T, '0x2a0', '0x3c8', '10.0.0.2:80')
          b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'}, -1, 10050)
          b.socket(P, T, '0x2a0', '0x3cc')
        },
      },
      {
        name: 'the same value live in two processes',
        build: (b) => {
          b.socket(P, T, '0x2a0', '0x3c4')
          b.socket(P2, T, '0x2a0', '0x3c4')
        },
      },
      {
        name: 're-activation of the same socket (duplication chain in the trace)',
        build: (b) => {
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          duplicate(b, P, '0x2a0', P2, '0xd00d')
          b.socket(P2, T, '0x5a0', '0x7c4', {ProviderReserved: '0xd00d'})
          duplicate(b, P2, '0x5a0', P, '0xd00e')
          bareSocket(b, P, '0x2a0', {ProviderReserved: '0xd00e'})
        },
      },
      {
        name: 're-activation whose token comes from a process not in the trace: the old instance was duplicated out',
        build: (b) => {
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          duplicate(b, P, '0x2a0', P2, '0xd00d')
          bareSocket(b, P, '0x2a0', {ProviderReserved: '0xe00e'})
        },
      },
    ],
    invalid: [
      {
        name: 'WSPSocket returns a live descriptor',
        build: (b) => {
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          b.socket(P, T, '0x2a0', '0x3c8')
        },
        findings: [
          {
            message: /^WSPSocket returned descriptor 0x2a0, which is still live in process 300 \(returned by WSPSocket at \+[\d.]+ s, switch handle 0x3c4, never closed with WSPCloseSocket\): two sockets now share one descriptor$/,
            severity: 'error',
            fault: 'provider',
            socket: '0x2a0',
          },
        ],
      },
      {
        name: 'WSPAccept returns the listening socket\'s descriptor',
        build: (b) => {
          b.listen(P, T, '0x1a0', '0x400', '0.0.0.0:1433')
          b.accept(P, T, '0x1a0', '0x1a0', '0x404')
        },
        findings: [{message: /^WSPAccept returned descriptor 0x1a0, which is still live .*returned by WSPSocket/}],
      },
      {
        name: 'only the generation since the last close counts',
        build: (b) => {
          b.socket(P, T, '0x2a0', '0x3c4')
          b.close(P, T, '0x2a0', '0x3c4')
          b.socket(P, T, '0x2a0', '0x3c8')
          b.socket(P, T, '0x2a0', '0x3cc')
        },
        findings: [{message: /^WSPSocket returned descriptor 0x2a0, which is still live .*switch handle 0x3c8/}],
      },
      {
        name: 're-activation under the descriptor of a different live socket',
        build: (b) => {
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          b.connect(P, T, '0x2b0', '0x3c8', '10.0.0.2:81')
          duplicate(b, P, '0x2b0', P2, '0xd00d')
          b.socket(P2, T, '0x5a0', '0x7c4', {ProviderReserved: '0xd00d'})
          duplicate(b, P2, '0x5a0', P, '0xd00e')
          bareSocket(b, P, '0x2a0', {ProviderReserved: '0xd00e'})
        },
        findings: [{message: /^WSPSocket returned descriptor 0x2a0, which is still live/}],
      },
    ],
    notEvaluated: [
      {name: 'no socket created', build: (b) => b.callRet(P, T, 'WSPStartupEx', {Version: 0x202}), reason: /no WSPSocket or WSPAccept returns/},
      {name: 'only failed creations', build: (b) => bareSocket(b, P, -1), reason: /no descriptor returned by WSPSocket\/WSPAccept/},
    ],
  },
  CONTRACT_RULES,
)

// ---------------------------------------------------------------------------------------------

/** A connected socket with a pending receive (notify mode). */
function withRecv(b: TraceBuilder, s = '0x2a0', h = '0x3c4', ov = '0x7040'): void {
  b.startup(P, T)
  b.connect(P, T, s, h, '10.0.0.2:80')
  b.post(P, T, 'WSPRecv', s, ov, 4096)
}

ruleTester(
  'SAN010',
  {
    valid: [
      {
        name: 'completion, context query and release with the switch handle',
        build: (b) => {
          withRecv(b)
          b.upcall(P, T, 'WPUQuerySocketHandleContext', {SwitchSocket: '0x3c4'})
          b.complete(P, 40, '0x3c4', '0x7040', 100)
          b.close(P, T, '0x2a0', '0x3c4')
        },
      },
      {
        name: 'a handle value reissued by the switch after its release',
        build: (b) => {
          b.startup(P, T)
          b.socket(P, T, '0x2a0', '0x3c4')
          b.close(P, T, '0x2a0', '0x3c4')
          b.socket(P, T, '0x2b0', '0x3c4')
          b.close(P, T, '0x2b0', '0x3c4')
        },
      },
      {
        name: 'a process attached mid-session: handles the switch accepts are learned',
        build: (b) => {
          b.socket(P2, T, '0x2b0', '0x3c8')
          b.complete(P, 40, '0x500', '0x7040', 100)
          b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
          b.upcall(P, 40, 'WPUCloseSocketHandle', {SwitchSocket: '0x500'})
          b.upcall(P2, 40, 'WPUQuerySocketHandleContext', {SwitchSocket: '0x3c8'})
        },
      },
    ],
    invalid: [
      {
        name: 'provider descriptor used as switch handle, rejected by the switch',
        build: (b) => {
          withRecv(b)
          b.upcall(P, 40, 'WPUCompleteOverlappedRequest', {SwitchSocket: '0x2a0', Overlapped: '0x7040', DwError: 0, CbTransferred: 100}, -1, {Errno: WSAEINVAL})
        },
        findings: [
          {
            message: /^provider descriptor used as switch handle: WPUCompleteOverlappedRequest for WSPRecv \(OVERLAPPED 0x7040\) names 0x2a0, the provider's own descriptor; its switch handle is 0x3c4; the switch rejected it with WSAEINVAL \(10022\)$/,
            severity: 'error',
            fault: 'provider',
            socket: '0x2a0',
          },
        ],
      },
      {
        name: 'WPUCloseSocketHandle with the provider descriptor',
        build: (b) => {
          b.startup(P, T)
          b.socket(P, T, '0x2a0', '0x3c4')
          b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
          b.upcall(P, T, 'WPUCloseSocketHandle', {SwitchSocket: '0x2a0'})
        },
        findings: [{message: /^provider descriptor used as switch handle: WPUCloseSocketHandle names 0x2a0, the provider's own descriptor; its switch handle is 0x3c4$/}],
      },
      {
        name: 'upcalls with a closed handle, and a second release',
        build: (b) => {
          withRecv(b)
          b.close(P, T, '0x2a0', '0x3c4')
          b.upcall(P, 40, 'WPUQuerySocketHandleContext', {SwitchSocket: '0x3c4'}, -1, {Errno: WSAENOTSOCK})
          b.upcall(P, 40, 'WPUCloseSocketHandle', {SwitchSocket: '0x3c4'})
        },
        findings: [
          {message: /^WPUQuerySocketHandleContext names switch handle 0x3c4, already closed by WPUCloseSocketHandle at \+[\d.]+ s; the switch rejected it with WSAENOTSOCK \(10038\)$/, socket: '0x2a0'},
          {message: /^WPUCloseSocketHandle names switch handle 0x3c4, already closed/},
        ],
      },
      {
        name: 'a handle never created, in a process traced from its WSPStartupEx',
        build: (b) => {
          withRecv(b)
          b.complete(P, 40, '0x999', '0x7040', 100)
        },
        findings: [{message: /^WPUCompleteOverlappedRequest for WSPRecv \(OVERLAPPED 0x7040\) names 0x999, which is not a live switch handle: WPUCreateSocketHandle never returned it in process 300$/, pid: P}],
      },
      {
        name: 'a process attached mid-session: a handle the switch rejects',
        build: (b) => {
          b.socket(P2, T, '0x2b0', '0x3c8')
          b.upcall(P, 40, 'WPUCompleteOverlappedRequest', {SwitchSocket: '0x500', Overlapped: '0x7040', DwError: 0, CbTransferred: 1}, -1, {Errno: WSAEINVAL})
        },
        findings: [{message: /^WPUCompleteOverlappedRequest names 0x500, which WPUCreateSocketHandle did not return in the trace, and the switch rejected it \(WSAEINVAL \(10022\)\)$/}],
      },
    ],
    notEvaluated: [
      {name: 'no judged upcalls', build: (b) => b.socket(P, T, '0x2a0', '0x3c4'), reason: /no upcalls naming a switch handle/},
      {name: 'no switch-handle map', build: (b) => b.complete(P, 40, '0x3c4', '0x7040', 1), reason: /no WPUCreateSocketHandle returns/},
      {
        name: 'only handles from before the trace, accepted by the switch',
        build: (b) => {
          b.socket(P2, T, '0x2b0', '0x3c8')
          b.complete(P, 40, '0x500', '0x7040', 100)
        },
        reason: /attached mid-session/,
      },
    ],
  },
  CONTRACT_RULES,
)

// ---------------------------------------------------------------------------------------------

ruleTester(
  'SAN011',
  {
    valid: [
      {name: 'connect: bind to the fully qualified address, options, event select, connect', build: (b) => companionConnect(b)},
      {name: 'listen on the wildcard address', build: (b) => b.listen(P, T, '0x1a0', '0x400', '0.0.0.0:1433')},
      {
        name: 'a control socket: address-list query and extension lookup, then close',
        build: (b) => {
          b.socket(P, T, '0x100', '0x300')
          b.callRet(P, T, 'WSPIoctl', {Socket: '0x100', IoctlCode: SIO_ADDRESS_LIST_QUERY, InLen: 0, OutLen: 256}, 0, 0, 0.02, {AddrCount: 1})
          b.callRet(P, T, 'WSPIoctl', {Socket: '0x100', IoctlCode: SIO_GET_EXTENSION_FUNCTION_POINTER, IoctlGuid: '{C0B422F5-F58C-11d1-AD6C-00C04FA34A2D}'})
          b.close(P, T, '0x100', '0x300')
        },
      },
      {
        name: 'a re-created duplicated socket needs no bind; accepted sockets neither',
        build: (b) => {
          b.socket(P, T, '0x2a0', '0x3c4', {ProviderReserved: '0xd00d'})
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)
          b.listen(P, T, '0x1a0', '0x400', '0.0.0.0:1433')
          b.accept(P, T, '0x1a0', '0x2b0', '0x404')
          b.post(P, T, 'WSPRecv', '0x2b0', '0x7050', 100)
        },
      },
      {
        name: 'a failed bind closed at once; an option failing on a connected socket needs no close',
        build: (b) => {
          b.socket(P, T, '0x2a0', '0x3c4')
          b.callRet(P, T, 'WSPBind', {Socket: '0x2a0', Addr: '10.0.0.1:50001'}, -1, WSAEADDRNOTAVAIL)
          b.close(P, T, '0x2a0', '0x3c4')
          companionConnect(b, '0x2b0', '0x3c8')
          b.callRet(P, T, 'WSPEnumNetworkEvents', {Socket: '0x2b0', EventHandle: '0x1f0'}, 0, 0, 0.01, {NetworkEventsOut: FD_CONNECT, ErrorCodes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]})
          b.callRet(P, T, 'WSPSetSockOpt', {Socket: '0x2b0', OptLevel: 0xffff, OptName: 0x2002, OptLen: 4}, -1, WSAENOPROTOOPT)
          b.wait(6000)
          b.post(P, T, 'WSPRecv', '0x2b0', '0x7040', 100)
        },
      },
    ],
    invalid: [
      {
        name: 'the first call is not WSPBind',
        build: (b) => {
          b.socket(P, T, '0x2a0', '0x3c4')
          b.callRet(P, T, 'WSPSetSockOpt', {Socket: '0x2a0', OptLevel: 0xffff, OptName: 1, OptLen: 4})
          b.callRet(P, T, 'WSPBind', {Socket: '0x2a0', Addr: '10.0.0.1:50001'})
          b.socket(P, T, '0x1a0', '0x400')
          b.callRet(P, T, 'WSPListen', {Socket: '0x1a0', Backlog: 5}, -1, WSAEINVAL)
        },
        findings: [
          {message: /^the first call on new SAN socket 0x2a0 is WSPSetSockOpt; the switch must bind a companion socket with WSPBind right after WSPSocket$/, severity: 'warning', fault: 'switch', socket: '0x2a0'},
          {message: /^the first call on new SAN socket 0x1a0 is WSPListen;/, socket: '0x1a0'},
        ],
      },
      {
        name: 'a control socket used for something else',
        build: (b) => {
          b.socket(P, T, '0x100', '0x300')
          b.callRet(P, T, 'WSPIoctl', {Socket: '0x100', IoctlCode: SIO_ADDRESS_LIST_QUERY, InLen: 0, OutLen: 256})
          b.callRet(P, T, 'WSPConnect', {Socket: '0x100', Addr: '10.0.0.2:80'}, -1, WSAEWOULDBLOCK)
        },
        findings: [{message: /^WSPConnect on 0x100, whose first call was WSPIoctl\(SIO_ADDRESS_LIST_QUERY\) instead of WSPBind: a control socket only queries addresses/}],
      },
      {
        name: 'a connecting socket bound to port 0 or to the wildcard address',
        build: (b) => {
          companionConnect(b, '0x2a0', '0x3c4', '10.0.0.1:0')
          companionConnect(b, '0x2b0', '0x3c8', '0.0.0.0:50002')
          companionConnect(b, '0x2c0', '0x3cc', '0.0.0.0:0')
          companionConnect(b, '0x2d0', '0x3d0', '[::]:50003')
        },
        findings: [
          {message: /^WSPConnect on 0x2a0, which was bound to 10\.0\.0\.1:0 \(port 0\): a connecting companion socket must be bound to the application socket's fully qualified address$/, socket: '0x2a0'},
          {message: /^WSPConnect on 0x2b0, which was bound to 0\.0\.0\.0:50002 \(wildcard IP 0\.0\.0\.0\)/},
          {message: /^WSPConnect on 0x2c0, which was bound to 0\.0\.0\.0:0 \(IP and port 0\)/},
          {message: /^WSPConnect on 0x2d0, which was bound to \[::\]:50003 \(wildcard IP ::\)/},
        ],
      },
      {
        name: 'a failed bind never closed',
        build: (b) => {
          b.socket(P, T, '0x2a0', '0x3c4')
          b.callRet(P, T, 'WSPBind', {Socket: '0x2a0', Addr: '10.0.0.1:50001'}, -1, WSAEADDRNOTAVAIL)
          b.wait(5100)
          b.socket(P, T, '0x2b0', '0x3c8')
        },
        findings: [
          {
            message: /^WSPBind on 0x2a0 failed with WSAEADDRNOTAVAIL \(10049\) and the switch did not close the SAN socket within 5 s; it must destroy it with WSPCloseSocket and fall back to TCP\/IP$/,
            severity: 'warning',
            socket: '0x2a0',
          },
        ],
      },
      {
        name: 'a call after a failed option, then the close in time',
        build: (b) => {
          b.socket(P, T, '0x2a0', '0x3c4')
          b.callRet(P, T, 'WSPBind', {Socket: '0x2a0', Addr: '10.0.0.1:50001'})
          b.callRet(P, T, 'WSPSetSockOpt', {Socket: '0x2a0', OptLevel: 0xffff, OptName: 0x1001, OptLen: 4}, -1, WSAENOPROTOOPT)
          b.callRet(P, T, 'WSPEventSelect', {Socket: '0x2a0', EventHandle: '0x1f0', NetworkEvents: FD_CONNECT})
          b.close(P, T, '0x2a0', '0x3c4')
          b.wait(6000)
        },
        findings: [{message: /^WSPEventSelect on 0x2a0 after its WSPSetSockOpt failed with WSAENOPROTOOPT \(10042\) at \+[\d.]+ s: the switch must only close the SAN socket and fall back to TCP\/IP$/}],
      },
      {
        name: 'the threshold is the setup-close-max flag',
        build: (b) => {
          b.socket(P, T, '0x2a0', '0x3c4')
          b.callRet(P, T, 'WSPBind', {Socket: '0x2a0', Addr: '10.0.0.1:50001'}, -1, WSAEADDRNOTAVAIL)
          b.wait(2000)
          b.close(P, T, '0x2a0', '0x3c4')
        },
        options: {thresholds: {'setup-close-max': '1s'}},
        findings: [{message: /did not close the SAN socket within 1 s/}],
      },
    ],
    notEvaluated: [
      {name: 'no socket created', build: (b) => b.callRet(P, T, 'WSPStartupEx', {Version: 0x202}), reason: /no WSPSocket returns or WSPBind calls/},
      {
        name: 'the trace ends within the close threshold after a failed bind',
        build: (b) => {
          b.callRet(P, T, 'WSPBind', {Socket: '0x2a0', Addr: '10.0.0.1:50001'}, -1, WSAEADDRNOTAVAIL)
        },
        reason: /trace ended within the close threshold/,
      },
    ],
  },
  CONTRACT_RULES,
)
