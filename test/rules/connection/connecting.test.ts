import {ruleTester} from '../../helpers/rule-tester.js'
import {FD_ACCEPT, FD_CONNECT, WSAEWOULDBLOCK} from '../../../src/synth/builder.js'
import {CONNECTION_RULES} from '../../../src/rules/connection/index.js'
import {
  DEST, EV, H, P, Q, S, T, WSAECONNREFUSED, WSAECONNRESET, WSAEHOSTUNREACH, WSAENOTCONN, WSAETIMEDOUT,
  acceptCall, codes, connectOutcome, end, enumerate, fdAccept, listener, pendingConnect, tcpConnect,
} from './helpers.js'

ruleTester(
  'SAN014',
  {
    valid: [
      {name: 'connect resolved by FD_CONNECT within milliseconds', build: (b) => b.connect(P, T, S, H, DEST)},
      {
        name: 'a failed outcome at 59 s also resolves the connect',
        build: (b) => {
          pendingConnect(b)
          b.wait(59_000)
          connectOutcome(b, WSAETIMEDOUT)
          b.close(P, T, S, H)
          end(b, 5000)
        },
      },
      {
        name: 'a pending connect cancelled by WSPCloseSocket is resolved (SAN031 judges the cancellation)',
        build: (b) => {
          pendingConnect(b)
          b.wait(30_000)
          b.close(P, T, S, H)
          end(b, 60_000)
        },
      },
      {
        name: 'the threshold is a flag',
        options: {thresholds: {'connect-resolve-max': '90s'}},
        build: (b) => {
          pendingConnect(b)
          b.wait(75_000)
          connectOutcome(b, 0)
        },
      },
    ],
    invalid: [
      {
        name: 'nothing signalled or enumerated for 60 s',
        build: (b) => (pendingConnect(b), end(b, 61_000)),
        findings: [
          {
            message: /^WSPConnect on 0x2a0 to 10\.0\.0\.2:445 returned WSAEWOULDBLOCK \(10035\) and was still unresolved 60 s later: no FD_CONNECT signalled or enumerated, and the socket was not closed$/,
            severity: 'warning',
            fault: 'provider',
            socket: S,
            pid: P,
          },
        ],
      },
      {
        name: 'the event was signalled but no enumeration reported FD_CONNECT',
        build: (b) => {
          pendingConnect(b)
          b.wait(5)
          b.emit(P, undefined, 'NetEventSignal', {Socket: S, EventHandle: EV, FdBit: 4, Error: 0})
          end(b, 61_000)
        },
        findings: [{message: /signalled for FD_CONNECT at \+0\.0\d+ s but no WSPEnumNetworkEvents reported it/}],
      },
      {
        name: 'enumerations that do not report FD_CONNECT do not resolve it',
        build: (b) => {
          pendingConnect(b)
          enumerate(b, 0)
          b.wait(1000)
          enumerate(b, 0)
          end(b, 61_000)
        },
        findings: [{message: /no FD_CONNECT signalled, and 2 WSPEnumNetworkEvents calls did not report FD_CONNECT/}],
      },
      {
        name: 'resolved, but after the (flag) threshold',
        options: {thresholds: {'connect-resolve-max': '10s'}},
        build: (b) => {
          pendingConnect(b)
          b.wait(15_000)
          connectOutcome(b, 0)
        },
        findings: [{message: /still unresolved 10 s later/}],
      },
      {
        name: 'two processes: only the unresolved connect is reported',
        build: (b) => {
          pendingConnect(b, {pid: P})
          pendingConnect(b, {pid: P + 1})
          connectOutcome(b, 0, {pid: P + 1})
          end(b, 61_000)
        },
        findings: [{message: /WSPConnect on 0x2a0/, pid: P}],
      },
    ],
    notEvaluated: [
      {name: 'no connect in the trace', build: (b) => b.listen(P, T, '0x1a0', '0x400', '0.0.0.0:80'), reason: /no WSPConnect returns/},
      {
        name: 'the trace ends 5 s into a pending connect',
        build: (b) => (pendingConnect(b), end(b, 5000)),
        reason: /trace ended less than 60 s after a connect returned WSAEWOULDBLOCK/,
      },
      {
        name: 'only synchronous connects',
        build: (b) => {
          b.socket(P, T, S, H)
          b.callRet(P, T, 'WSPEventSelect', {Socket: S, EventHandle: EV, NetworkEvents: FD_CONNECT})
          b.callRet(P, T, 'WSPConnect', {Socket: S, Addr: DEST}, 0)
          b.close(P, T, S, H)
        },
        reason: /no nonblocking connect/,
      },
    ],
  },
  CONNECTION_RULES,
)

/** Connecting process P connects to DEST; accepting process Q refuses it with CF_REJECT. */
function refusedByPeer(b: Parameters<typeof pendingConnect>[0], localCode: number): void {
  listener(b)
  pendingConnect(b)
  fdAccept(b)
  acceptCall(b, {result: 1})
  connectOutcome(b, localCode)
  b.close(P, T, S, H)
}

ruleTester(
  'SAN015',
  {
    valid: [
      {name: 'connect succeeds', build: (b) => b.connect(P, T, S, H, DEST)},
      {name: 'connect fails with WSAETIMEDOUT (fallback allowed)', build: (b) => (pendingConnect(b), connectOutcome(b, WSAETIMEDOUT), b.close(P, T, S, H))},
      {
        name: 'two-sided: the peer accepts and the connect succeeds',
        build: (b) => {
          listener(b)
          pendingConnect(b)
          fdAccept(b)
          acceptCall(b, {result: 0, s: '0x2c0'})
          connectOutcome(b, 0)
        },
      },
    ],
    invalid: [
      {
        name: 'WSPConnect returns WSAEHOSTUNREACH synchronously: info',
        build: (b) => {
          b.socket(P, T, S, H)
          b.callRet(P, T, 'WSPEventSelect', {Socket: S, EventHandle: EV, NetworkEvents: FD_CONNECT})
          b.callRet(P, T, 'WSPConnect', {Socket: S, Addr: DEST}, -1, WSAEHOSTUNREACH)
        },
        findings: [
          {
            message: /^connect on 0x2a0 to 10\.0\.0\.2:445 failed with WSAEHOSTUNREACH \(10065\) \(WSPConnect return\): a no-fallback result, the switch will not retry over TCP\/IP/,
            severity: 'info',
            fault: 'provider',
          },
        ],
      },
      {
        name: 'FD_CONNECT with WSAECONNRESET: info',
        build: (b) => (pendingConnect(b), connectOutcome(b, WSAECONNRESET)),
        findings: [{message: /failed with WSAECONNRESET \(10054\) \(FD_CONNECT iErrorCode\)/, severity: 'info'}],
      },
      {
        name: 'escalated to error when TCP/IP later reaches the same destination',
        build: (b) => {
          pendingConnect(b)
          connectOutcome(b, WSAEHOSTUNREACH)
          b.close(P, T, S, H)
          b.wait(1000)
          tcpConnect(b, '10.0.0.9:445', 0) // another destination: no proof
          tcpConnect(b, DEST, 10060) // failed over TCP too: no proof
          tcpConnect(b, DEST, 0)
        },
        findings: [
          {message: /failed with WSAEHOSTUNREACH/, severity: 'info'},
          {message: /^TCP\/IP connect to 10\.0\.0\.2:445 succeeded at \+1\.\d+ s after the SAN provider failed the connect on 0x2a0 to it with WSAEHOSTUNREACH \(10065\)/, severity: 'error'},
        ],
      },
      {
        name: 'a TCP/IP connect in another process is not proof',
        build: (b) => {
          pendingConnect(b)
          connectOutcome(b, WSAECONNREFUSED)
          tcpConnect(b, DEST, 0, P + 1)
        },
        findings: [{message: /WSAECONNREFUSED/, severity: 'info'}],
      },
      {
        name: 'two-sided: the peer refused (CF_REJECT) but the local connect timed out',
        build: (b) => refusedByPeer(b, WSAETIMEDOUT),
        findings: [
          {
            message: /^connect on 0x2a0 to 10\.0\.0\.2:445 ended with WSAETIMEDOUT \(10060\) \(FD_CONNECT iErrorCode\) although the peer \(pid 200\) refused it: its WSPAccept returned WSAECONNREFUSED after CF_REJECT/,
            severity: 'error',
            pid: P,
          },
        ],
      },
      {
        name: 'two-sided: the peer refused but the local connect succeeded',
        build: (b) => refusedByPeer(b, 0),
        findings: [{message: /ended with success .* although the peer \(pid 200\) refused it/, severity: 'error'}],
      },
      {
        name: 'two-sided: refused on both sides with WSAECONNREFUSED is only the no-fallback info',
        build: (b) => refusedByPeer(b, WSAECONNREFUSED),
        findings: [{message: /failed with WSAECONNREFUSED \(10061\)/, severity: 'info'}],
      },
      {
        name: 'two-sided, wildcard listener: the refusal is matched by port',
        build: (b) => {
          listener(b, '0.0.0.0:445')
          pendingConnect(b)
          fdAccept(b)
          acceptCall(b, {result: 1})
          connectOutcome(b, WSAETIMEDOUT)
        },
        findings: [{message: /although the peer \(pid 200\) refused it/, severity: 'error'}],
      },
    ],
    notEvaluated: [
      {name: 'no connect', build: (b) => listener(b), reason: /no WSPConnect returns/},
      {name: 'the connect is still pending when the trace ends', build: (b) => pendingConnect(b), reason: /no connect result/},
    ],
  },
  CONNECTION_RULES,
)

ruleTester(
  'SAN016',
  {
    valid: [
      {name: 'connect, then close', build: (b) => (b.connect(P, T, S, H, DEST), b.close(P, T, S, H), end(b, 6000))},
      {name: 'failed FD_CONNECT, then close at once', build: (b) => (pendingConnect(b), connectOutcome(b, WSAETIMEDOUT), b.close(P, T, S, H), end(b, 6000))},
      {
        name: 'synchronous failure, close after 4 s',
        build: (b) => {
          b.socket(P, T, S, H)
          b.callRet(P, T, 'WSPEventSelect', {Socket: S, EventHandle: EV, NetworkEvents: FD_CONNECT})
          b.callRet(P, T, 'WSPConnect', {Socket: S, Addr: DEST}, -1, WSAETIMEDOUT)
          b.wait(4000)
          b.close(P, T, S, H)
          end(b, 6000)
        },
      },
      {
        name: 'the descriptor reissued after close may connect again',
        build: (b) => {
          pendingConnect(b)
          connectOutcome(b, WSAETIMEDOUT)
          b.close(P, T, S, H)
          b.connect(P, T, S, '0x3c8', DEST)
        },
      },
    ],
    invalid: [
      {
        name: 'WSPConnect on a connected socket',
        build: (b) => {
          b.connect(P, T, S, H, DEST)
          b.callRet(P, T, 'WSPConnect', {Socket: S, Addr: DEST}, -1, 10056)
        },
        findings: [{message: /^WSPConnect on 0x2a0 in state CONNECTED: it is already connected \(WSPConnect at \+0\.\d+ s\); the switch never connects a SAN socket twice$/, fault: 'switch', socket: S}],
      },
      {
        name: 'WSPConnect while the first connect is pending',
        build: (b) => {
          pendingConnect(b)
          b.callRet(P, T, 'WSPConnect', {Socket: S, Addr: DEST}, -1, 10037)
        },
        findings: [{message: /in state CONNECTING: its previous connect is still pending/}],
      },
      {
        name: 'WSPConnect again after a failed FD_CONNECT',
        build: (b) => {
          pendingConnect(b)
          connectOutcome(b, WSAETIMEDOUT)
          b.callRet(P, T, 'WSPConnect', {Socket: S, Addr: DEST}, -1, WSAEWOULDBLOCK)
          b.close(P, T, S, H)
        },
        findings: [{message: /in state CONNECT_FAILED: its connect failed with WSAETIMEDOUT \(10060\) \(FD_CONNECT at \+/}],
      },
      {
        name: 'WSPConnect on a listening socket',
        build: (b) => {
          listener(b, DEST, P)
          b.callRet(P, T, 'WSPConnect', {Socket: '0x1a0', Addr: DEST}, -1, 10022)
        },
        findings: [{message: /WSPConnect on 0x1a0 in state LISTENING: it is a listening socket/}],
      },
      {
        name: 'WSPConnect on an accepted socket',
        build: (b) => {
          listener(b, DEST, P)
          fdAccept(b, P)
          acceptCall(b, {pid: P, result: 0, s: '0x2c0'})
          b.callRet(P, T, 'WSPConnect', {Socket: '0x2c0', Addr: DEST}, -1, 10056)
        },
        findings: [{message: /WSPConnect on 0x2c0 in state CONNECTED: it is already connected \(accepted socket\)/}],
      },
      {
        name: 'another call after a synchronous failure',
        build: (b) => {
          b.socket(P, T, S, H)
          b.callRet(P, T, 'WSPEventSelect', {Socket: S, EventHandle: EV, NetworkEvents: FD_CONNECT})
          b.callRet(P, T, 'WSPConnect', {Socket: S, Addr: DEST}, -1, WSAETIMEDOUT)
          b.callRet(P, T, 'WSPGetSockOpt', {Socket: S, OptLevel: 0xffff, OptName: 0x2003, OptLen: 4})
          b.close(P, T, S, H)
        },
        findings: [{message: /^WSPGetSockOpt on 0x2a0 after its connect failed with WSAETIMEDOUT \(10060\) \(WSPConnect return at \+0\.\d+ s\); only WSPCloseSocket is allowed/}],
      },
      {
        name: 'a failed socket never closed',
        build: (b) => (pendingConnect(b), connectOutcome(b, WSAETIMEDOUT), end(b, 6000)),
        findings: [{message: /^0x2a0 was not closed within 5 s after its connect failed with WSAETIMEDOUT \(10060\) \(FD_CONNECT\)/, severity: 'warning'}],
      },
      {
        name: 'closed too late for the (flag) threshold',
        options: {thresholds: {'setup-close-max': '1s'}},
        build: (b) => (pendingConnect(b), connectOutcome(b, WSAETIMEDOUT), b.wait(2000), b.close(P, T, S, H)),
        findings: [{message: /not closed within 1 s/, severity: 'warning'}],
      },
    ],
    notEvaluated: [
      {name: 'no connect', build: (b) => listener(b), reason: /no WSPConnect calls/},
      {
        name: 'connect on a socket created before the trace began',
        build: (b) => b.callRet(P, T, 'WSPConnect', {Socket: S, Addr: DEST}, 0),
        reason: /created before the trace began/,
      },
    ],
  },
  CONNECTION_RULES,
)

ruleTester(
  'SAN017',
  {
    valid: [
      {name: 'connect: FD_CONNECT selected, signalled and enumerated once', build: (b) => (b.connect(P, T, S, H, DEST), b.post(P, T, 'WSPSend', S, '0x7000', 10))},
      {name: 'listen/accept: FD_ACCEPT on the listening socket', build: (b) => (listener(b), fdAccept(b), acceptCall(b, {result: 0, s: '0x2c0'}))},
      {
        name: 'WSAENOTCONN after the socket is closed is not judged here',
        build: (b) => {
          b.connect(P, T, S, H, DEST)
          b.callRet(P, T, 'WSPCloseSocket', {Socket: S})
          b.callRet(P, T, 'WSPSend', {Socket: S, Overlapped: '0x7000'}, -1, WSAENOTCONN)
        },
      },
    ],
    invalid: [
      {
        name: 'FD_ACCEPT signalled on a socket that selected FD_CONNECT only',
        build: (b) => {
          pendingConnect(b)
          b.emit(P, undefined, 'NetEventSignal', {Socket: S, EventHandle: EV, FdBit: 3, Error: 0})
        },
        findings: [{message: /^FD_ACCEPT signalled on 0x2a0 \(event 0x1f0\) but the last WSPEventSelect mask is 0x10 \(FD_CONNECT\): only selected events/, fault: 'provider'}],
      },
      {
        name: 'an event signalled on a socket without any WSPEventSelect',
        build: (b) => {
          b.connect(P + 1, T, S, H, DEST) // another process selects normally
          b.socket(P, T, S, H)
          b.emit(P, undefined, 'NetEventSignal', {Socket: S, EventHandle: EV, FdBit: 4, Error: 0})
        },
        findings: [{message: /FD_CONNECT signalled on 0x2a0 .* but no WSPEventSelect succeeded on it/, pid: P}],
      },
      {
        name: 'an enumerated event outside the mask',
        build: (b) => {
          pendingConnect(b)
          enumerate(b, FD_CONNECT | 0x20, codes())
        },
        findings: [{message: /WSPEnumNetworkEvents on 0x2a0 reported 0x20 \(FD_CLOSE\) but the last WSPEventSelect mask is 0x10/}],
      },
      {
        name: 'FD_CONNECT reported twice for one connect',
        build: (b) => {
          b.connect(P, T, S, H, DEST)
          connectOutcome(b, WSAETIMEDOUT)
        },
        findings: [{message: /^FD_CONNECT reported 2 times on 0x2a0 for one WSPConnect \(first at \+0\.\d+ s, again with WSAETIMEDOUT \(10060\)\)/}],
      },
      {
        name: 'FD_CONNECT with no WSPConnect issued',
        build: (b) => {
          b.socket(P, T, S, H)
          b.callRet(P, T, 'WSPEventSelect', {Socket: S, EventHandle: EV, NetworkEvents: FD_CONNECT})
          enumerate(b, FD_CONNECT, codes())
        },
        findings: [{message: /reported FD_CONNECT on 0x2a0 but no WSPConnect was issued on it/}],
      },
      {
        name: 'FD_CONNECT success, then transfers fail with WSAENOTCONN (reported once per socket)',
        build: (b) => {
          b.connect(P, T, S, H, DEST)
          b.callRet(P, T, 'WSPRegisterMemory', {Socket: S, RegAddr: '0x5000000', RegLen: 4096, MemFlags: 3}, 0, WSAENOTCONN)
          b.callRet(P, T, 'WSPSend', {Socket: S, Overlapped: '0x7000'}, -1, WSAENOTCONN)
        },
        findings: [{message: /^WSPRegisterMemory on 0x2a0 failed with WSAENOTCONN \(10057\) after FD_CONNECT reported success at \+0\.\d+ s and before any close/}],
      },
      {
        name: 'FD_ACCEPT reported on a connecting socket that selected it',
        build: (b) => {
          pendingConnect(b, {mask: FD_CONNECT | FD_ACCEPT})
          enumerate(b, FD_ACCEPT, codes(3, 0))
        },
        findings: [{message: /^WSPEnumNetworkEvents reported FD_ACCEPT on 0x2a0, which is not listening \(state CONNECTING\)$/}],
      },
      {
        name: 'FD_ACCEPT reported on a non-listening socket that did not select it: one finding',
        build: (b) => {
          pendingConnect(b)
          enumerate(b, FD_ACCEPT, codes(3, 0))
        },
        findings: [{message: /reported FD_ACCEPT on 0x2a0, which is not listening/}],
      },
    ],
    notEvaluated: [
      {name: 'no network events', build: (b) => b.socket(P, T, S, H), reason: /no network-event signals or WSPEnumNetworkEvents returns/},
      {
        name: 'signals on a socket created before the trace began',
        build: (b) => {
          b.socket(P, T, '0x2b0', '0x3d0')
          b.callRet(P, T, 'WSPEventSelect', {Socket: '0x2b0', EventHandle: EV, NetworkEvents: FD_CONNECT})
          b.emit(P, undefined, 'NetEventSignal', {Socket: S, EventHandle: EV, FdBit: 4, Error: 0})
        },
        reason: /created before the trace began/,
      },
    ],
  },
  CONNECTION_RULES,
)

export {Q}
