import {ruleTester} from '../../helpers/rule-tester.js'
import {WSAEWOULDBLOCK} from '../../../src/synth/builder.js'
import {CONNECTION_RULES} from '../../../src/rules/connection/index.js'
import {DEST, LS, LH, P, Q, S, H, T, WSAECONNREFUSED, WSAEINVAL, acceptCall, fdAccept, listener} from './helpers.js'

const WSAENOBUFS = 10055

ruleTester(
  'SAN018',
  {
    valid: [
      {name: 'bind, listen, FD_ACCEPT enumerated, accept', build: (b) => (listener(b), fdAccept(b), acceptCall(b, {result: 0, s: '0x2c0'}))},
      {
        name: 'each accept after its own FD_ACCEPT',
        build: (b) => {
          listener(b)
          fdAccept(b)
          acceptCall(b, {result: 0, s: '0x2c0'})
          fdAccept(b)
          acceptCall(b, {result: 0, s: '0x2d0', h: '0x4d4'})
        },
      },
      {
        name: 'a blind accept that returns WSAEWOULDBLOCK is tolerated',
        build: (b) => (listener(b), acceptCall(b, {errno: WSAEWOULDBLOCK})),
      },
      {
        name: 'a refused accept keeps the FD_ACCEPT for the next one',
        build: (b) => {
          listener(b)
          fdAccept(b)
          acceptCall(b, {result: 1})
          acceptCall(b, {result: 0, s: '0x2c0'})
        },
      },
    ],
    invalid: [
      {
        name: 'listen on an unbound socket, and the provider accepts it',
        build: (b) => {
          b.socket(Q, T, LS, LH)
          b.callRet(Q, T, 'WSPListen', {Socket: LS, Backlog: 16})
        },
        findings: [
          {message: /^WSPListen on 0x1a0 in state CREATED: a SAN listening socket is bound first/, severity: 'warning', fault: 'switch'},
          {message: /^the provider accepted WSPListen on 0x1a0 in state CREATED; it must fail with WSAEINVAL \(10022\)/, severity: 'error', fault: 'provider'},
        ],
      },
      {
        name: 'listen on an unbound socket refused with WSAEINVAL: the switch part only',
        build: (b) => {
          b.socket(Q, T, LS, LH)
          b.callRet(Q, T, 'WSPListen', {Socket: LS, Backlog: 16}, -1, WSAEINVAL)
        },
        findings: [{message: /WSPListen on 0x1a0 in state CREATED/, severity: 'warning'}],
      },
      {
        name: 'listen on a connected socket',
        build: (b) => {
          b.connect(P, T, S, H, DEST)
          b.callRet(P, T, 'WSPListen', {Socket: S, Backlog: 16}, -1, 10056)
        },
        findings: [{message: /WSPListen on 0x2a0 in state CONNECTED/, severity: 'warning'}],
      },
      {
        name: 'accept on a socket that is not listening',
        build: (b) => {
          b.socket(Q, T, LS, LH)
          b.callRet(Q, T, 'WSPBind', {Socket: LS, Addr: DEST})
          b.callRet(Q, T, 'WSPAccept', {Socket: LS}, -1, WSAEINVAL)
        },
        findings: [{message: /^WSPAccept on 0x1a0, which is not listening \(state BOUND\)$/, severity: 'error', fault: 'switch'}],
      },
      {
        name: 'accept without FD_ACCEPT reported',
        build: (b) => (listener(b), acceptCall(b, {result: 0, s: '0x2c0'})),
        findings: [
          {
            message: /^WSPAccept on 0x1a0 without FD_ACCEPT reported by WSPEnumNetworkEvents since the socket started listening \(it returned 0x2c0\)$/,
            severity: 'warning',
          },
        ],
      },
      {
        name: 'a second accept on the same FD_ACCEPT',
        build: (b) => {
          listener(b)
          fdAccept(b)
          acceptCall(b, {result: 0, s: '0x2c0'})
          acceptCall(b, {result: 0, s: '0x2d0', h: '0x4d4'})
        },
        findings: [{message: /since the last successful WSPAccept at \+0\.\d+ s/}],
      },
      {
        name: 'a blind accept failing with WSAECONNREFUSED is not tolerated',
        build: (b) => (listener(b), acceptCall(b, {result: 1})),
        findings: [{message: /it returned WSAECONNREFUSED \(10061\)/}],
      },
    ],
    notEvaluated: [
      {name: 'no listen or accept', build: (b) => b.connect(P, T, S, H, DEST), reason: /no WSPListen or WSPAccept calls/},
      {name: 'accept on a socket created before the trace began', build: (b) => acceptCall(b, {result: 0, s: '0x2c0'}), reason: /created before the trace began/},
    ],
  },
  CONNECTION_RULES,
)

ruleTester(
  'SAN019',
  {
    valid: [
      {name: 'CF_ACCEPT on the calling thread, event reset, new socket', build: (b) => (listener(b), fdAccept(b), acceptCall(b, {result: 0, s: '0x2c0'}))},
      {name: 'CF_REJECT makes WSPAccept fail with WSAECONNREFUSED', build: (b) => (listener(b), fdAccept(b), acceptCall(b, {result: 1}))},
      {
        name: 'a WSAEWOULDBLOCK accept needs no condition call',
        build: (b) => {
          listener(b)
          acceptCall(b, {errno: WSAEWOULDBLOCK})
          fdAccept(b)
          acceptCall(b, {result: 0, s: '0x2c0'})
        },
      },
      {
        name: 'a trace without NetEventReset events does not judge the reset',
        build: (b) => (listener(b), fdAccept(b), acceptCall(b, {result: 0, s: '0x2c0', reset: false})),
      },
    ],
    invalid: [
      {
        name: 'condition function not called',
        build: (b) => {
          listener(b)
          fdAccept(b)
          acceptCall(b, {result: 0, s: '0x2c0'})
          fdAccept(b)
          acceptCall(b, {s: '0x2d0', h: '0x4d4'})
        },
        findings: [{message: /^WSPAccept on 0x1a0 returned a new socket without calling the condition function: it must be called on the calling thread before WSPAccept returns$/, fault: 'provider'}],
      },
      {
        name: 'condition function not called for a refused accept',
        build: (b) => {
          listener(b)
          fdAccept(b)
          acceptCall(b, {result: 0, s: '0x2c0'})
          fdAccept(b)
          acceptCall(b, {errno: WSAECONNREFUSED})
        },
        findings: [{message: /returned WSAECONNREFUSED \(10061\) without calling the condition function/}],
      },
      {
        name: 'condition function called after WSPAccept returned',
        build: (b) => (listener(b), fdAccept(b), acceptCall(b, {result: 0, s: '0x2c0', condAfter: true})),
        findings: [{message: /^condition function for WSPAccept on 0x1a0 called after WSPAccept returned \(at \+0\.\d+ s, a new socket\)/}],
      },
      {
        name: 'condition function called on another thread',
        build: (b) => (listener(b), fdAccept(b), acceptCall(b, {result: 0, s: '0x2c0', condTid: 12})),
        findings: [{message: /called on another thread \(tid 12; WSPAccept on tid 7\)/}],
      },
      {
        name: 'condition function called twice',
        build: (b) => (listener(b), fdAccept(b), acceptCall(b, {result: 0, s: '0x2c0', conds: 2})),
        findings: [{message: /condition function called 2 times during one WSPAccept on 0x1a0/}],
      },
      {
        name: 'CF_REJECT but a new socket is returned',
        build: (b) => (listener(b), fdAccept(b), acceptCall(b, {result: 1, s: '0x2c0'})),
        findings: [{message: /^the condition function returned CF_REJECT but WSPAccept on 0x1a0 returned 0x2c0; it must fail with INVALID_SOCKET and WSAECONNREFUSED \(10061\)/}],
      },
      {
        name: 'CF_REJECT but another error code',
        build: (b) => (listener(b), fdAccept(b), acceptCall(b, {result: 1, errno: WSAENOBUFS})),
        findings: [{message: /CF_REJECT but WSPAccept on 0x1a0 failed with WSAENOBUFS \(10055\)/}],
      },
      {
        name: 'CF_ACCEPT but the accept fails: warning',
        build: (b) => (listener(b), fdAccept(b), acceptCall(b, {result: 0, errno: WSAENOBUFS})),
        findings: [{message: /CF_ACCEPT but WSPAccept on 0x1a0 failed with WSAENOBUFS \(10055\)/, severity: 'warning'}],
      },
      {
        name: 'no event reset inside a successful accept (resets are traced)',
        build: (b) => {
          listener(b)
          fdAccept(b)
          acceptCall(b, {result: 0, s: '0x2c0'})
          fdAccept(b)
          acceptCall(b, {result: 0, s: '0x2d0', h: '0x4d4', reset: false})
        },
        findings: [{message: /^WSPAccept on 0x1a0 accepted a connection \(CF_ACCEPT\) without resetting the listening event 0x2f0 inside the call$/, severity: 'warning'}],
      },
      {
        name: 'a missing reset before the first traced reset is judged once resets appear',
        build: (b) => {
          listener(b)
          fdAccept(b)
          acceptCall(b, {result: 0, s: '0x2c0', reset: false})
          fdAccept(b)
          acceptCall(b, {result: 0, s: '0x2d0', h: '0x4d4'})
        },
        findings: [{message: /without resetting the listening event/, severity: 'warning'}],
      },
    ],
    notEvaluated: [
      {name: 'no accept', build: (b) => listener(b), reason: /no WSPAccept calls/},
      {
        name: 'the trace has no condition-function callbacks',
        build: (b) => (listener(b), fdAccept(b), acceptCall(b, {s: '0x2c0'})),
        reason: /no condition-function callbacks/,
      },
    ],
  },
  CONNECTION_RULES,
)
