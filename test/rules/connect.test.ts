import {ruleTester} from '../helpers/rule-tester.js'
import {FD_ACCEPT, FD_CONNECT, WSAEWOULDBLOCK} from '../../src/synth/builder.js'

const P = 100
const T = 7

ruleTester('SAN001', {
  valid: [{name: 'ordinary calls only', build: (b) => b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')}],
  invalid: [
    {
      name: 'WSPCancelBlockingCall reaches the provider',
      build: (b) => {
        b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
        b.callRet(P, T + 1, 'WSPCancelBlockingCall', {})
      },
      findings: [{message: /WSPCancelBlockingCall/, fault: 'switch', pid: P}],
    },
  ],
  notEvaluated: [
    {
      name: 'a trace with switch events only',
      build: (b) => b.emit(P, T, 'AppRequest', {AppReqId: 1, Kind: 'send', Blocking: true}),
      reason: /no SPI calls/,
    },
  ],
})

ruleTester('SAN012', {
  valid: [
    {name: 'event select FD_CONNECT then connect', build: (b) => b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')},
    {
      name: 'descriptor reused after close: each generation arms FD_CONNECT',
      build: (b) => {
        b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
        b.close(P, T, '0x2a0', '0x3c4')
        b.connect(P, T, '0x2a0', '0x3c8', '10.0.0.3:80')
      },
    },
    {
      name: 'connects of two processes interleaved',
      build: (b) => {
        b.socket(P, T, '0x2a0', '0x3c4')
        b.socket(P + 1, T, '0x2a0', '0x3c4')
        b.callRet(P + 1, T, 'WSPEventSelect', {Socket: '0x2a0', EventHandle: '0x10', NetworkEvents: FD_CONNECT})
        b.callRet(P, T, 'WSPEventSelect', {Socket: '0x2a0', EventHandle: '0x10', NetworkEvents: FD_CONNECT | FD_ACCEPT})
        b.callRet(P, T, 'WSPConnect', {Socket: '0x2a0', Addr: '10.0.0.2:80'}, -1, WSAEWOULDBLOCK)
        b.callRet(P + 1, T, 'WSPConnect', {Socket: '0x2a0', Addr: '10.0.0.2:80'}, -1, WSAEWOULDBLOCK)
      },
    },
  ],
  invalid: [
    {
      name: 'no event select at all (blocking connect forwarded as blocking)',
      build: (b) => {
        b.socket(P, T, '0x2a0', '0x3c4')
        b.callRet(P, T, 'WSPBind', {Socket: '0x2a0', Addr: '10.0.0.1:0'})
        b.callRet(P, T, 'WSPConnect', {Socket: '0x2a0', Addr: '10.0.0.2:80'}, 0)
      },
      findings: [{message: /no prior successful WSPEventSelect/, socket: '0x2a0'}],
    },
    {
      name: 'event select without FD_CONNECT',
      build: (b) => {
        b.socket(P, T, '0x2a0', '0x3c4')
        b.callRet(P, T, 'WSPEventSelect', {Socket: '0x2a0', EventHandle: '0x10', NetworkEvents: FD_ACCEPT})
        b.callRet(P, T, 'WSPConnect', {Socket: '0x2a0', Addr: '10.0.0.2:80'}, -1, WSAEWOULDBLOCK)
      },
      findings: [{message: /mask 0x8 does not include FD_CONNECT/}],
    },
    {
      name: 'FD_CONNECT superseded by a later event select',
      build: (b) => {
        b.socket(P, T, '0x2a0', '0x3c4')
        b.callRet(P, T, 'WSPEventSelect', {Socket: '0x2a0', EventHandle: '0x10', NetworkEvents: FD_CONNECT})
        b.callRet(P, T, 'WSPEventSelect', {Socket: '0x2a0', EventHandle: '0x10', NetworkEvents: 0})
        b.callRet(P, T, 'WSPConnect', {Socket: '0x2a0', Addr: '10.0.0.2:80'}, -1, WSAEWOULDBLOCK)
      },
      findings: [{message: /mask 0x0 does not include FD_CONNECT/}],
    },
    {
      name: 'NULL event handle',
      build: (b) => {
        b.socket(P, T, '0x2a0', '0x3c4')
        b.callRet(P, T, 'WSPEventSelect', {Socket: '0x2a0', EventHandle: 0, NetworkEvents: FD_CONNECT})
        b.callRet(P, T, 'WSPConnect', {Socket: '0x2a0', Addr: '10.0.0.2:80'}, -1, WSAEWOULDBLOCK)
      },
      findings: [{message: /NULL event handle/}],
    },
    {
      name: 'a failed event select does not arm FD_CONNECT',
      build: (b) => {
        b.socket(P, T, '0x2a0', '0x3c4')
        b.callRet(P, T, 'WSPEventSelect', {Socket: '0x2a0', EventHandle: '0x10', NetworkEvents: FD_CONNECT}, -1, 10022)
        b.callRet(P, T, 'WSPConnect', {Socket: '0x2a0', Addr: '10.0.0.2:80'}, -1, WSAEWOULDBLOCK)
      },
      findings: [{message: /no prior successful WSPEventSelect/}],
    },
    {
      name: 'descriptor reuse: the new generation does not inherit the old event select',
      build: (b) => {
        b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
        b.close(P, T, '0x2a0', '0x3c4')
        b.socket(P, T, '0x2a0', '0x3c8')
        b.callRet(P, T, 'WSPConnect', {Socket: '0x2a0', Addr: '10.0.0.3:80'}, -1, WSAEWOULDBLOCK)
      },
      findings: [{message: /no prior successful WSPEventSelect/, socket: '0x2a0'}],
    },
  ],
  notEvaluated: [
    {name: 'no connect in the trace', build: (b) => b.listen(P, T, '0x1a0', '0x400', '0.0.0.0:80'), reason: /no WSPConnect calls/},
    {
      name: 'socket created before the trace began',
      build: (b) => b.callRet(P, T, 'WSPConnect', {Socket: '0x2a0', Addr: '10.0.0.2:80'}, -1, WSAEWOULDBLOCK),
      reason: /created before the trace began/,
    },
  ],
})

ruleTester('SAN013', {
  valid: [
    {name: 'nonblocking connect returns WSAEWOULDBLOCK at once', build: (b) => b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')},
    {name: 'a connect of 900 ms is within the default 1 s', build: (b) => b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80', {connectMs: 900})},
    {
      name: 'calls without Seq pair by thread nesting',
      build: (b) => {
        b.emit(P, T, 'SpiCall', {Fn: 'WSPConnect', Socket: '0x2a0', Addr: '10.0.0.2:80'})
        b.wait(2000)
        b.emit(P, T + 1, 'SpiCall', {Fn: 'WSPConnect', Socket: '0x2b0', Addr: '10.0.0.2:80'})
        b.emit(P, T + 1, 'SpiReturn', {Fn: 'WSPConnect', Rc: -1, Errno: WSAEWOULDBLOCK})
        b.wait(0.1)
        // The first thread's connect returns 2 s later: it is paired with its own call, not the second one.
        b.emit(P, T, 'SpiReturn', {Fn: 'WSPConnect', Rc: -1, Errno: WSAEWOULDBLOCK})
      },
      options: {thresholds: {'connect-call-max': '3s'}},
    },
  ],
  invalid: [
    {
      name: 'connect blocks 2.4 s',
      build: (b) => b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80', {connectMs: 2400}),
      findings: [{message: /^WSPConnect blocked 2\.4 s > 1 s$/, fault: 'provider', socket: '0x2a0'}],
    },
    {
      name: 'the threshold is a flag',
      build: (b) => b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80', {connectMs: 600}),
      options: {thresholds: {'connect-call-max': '500ms'}},
      findings: [{message: /blocked 600 ms > 500 ms/}],
    },
    {
      name: 'interleaved threads: only the slow connect is reported',
      build: (b) => {
        const s1 = b.call(P, T, 'WSPConnect', {Socket: '0x2a0', Addr: '10.0.0.2:80'})
        const s2 = b.call(P, T + 1, 'WSPConnect', {Socket: '0x2b0', Addr: '10.0.0.3:80'})
        b.ret(P, T + 1, 'WSPConnect', s2, -1, WSAEWOULDBLOCK)
        b.wait(1500)
        b.ret(P, T, 'WSPConnect', s1, -1, WSAEWOULDBLOCK)
      },
      findings: [{message: /blocked 1\.5 s > 1 s/, socket: '0x2a0'}],
    },
    {
      name: 'the trace ends while the connect is blocked past the threshold',
      build: (b) => {
        b.socket(P, T, '0x2a0', '0x3c4')
        b.call(P, T, 'WSPConnect', {Socket: '0x2a0', Addr: '10.0.0.2:80'})
        b.wait(1500)
        b.callRet(P, T + 1, 'WSPGetSockOpt', {Socket: '0x2a0', OptLevel: 0xffff, OptName: 0x2003, OptLen: 4})
      },
      findings: [{message: /had not returned when the trace ended/}],
    },
  ],
  notEvaluated: [
    {
      name: 'the trace ends 0.5 s into a connect',
      build: (b) => {
        b.call(P, T, 'WSPConnect', {Socket: '0x2a0', Addr: '10.0.0.2:80'})
        b.wait(500)
        b.callRet(P, T + 1, 'WSPGetSockOpt', {Socket: '0x2a0', OptLevel: 0xffff, OptName: 0x2003, OptLen: 4})
      },
      reason: /trace ended while WSPConnect was in progress/,
    },
  ],
})
