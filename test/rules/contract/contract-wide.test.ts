import {ruleTester} from '../../helpers/rule-tester.js'
import type {TraceBuilder} from '../../../src/synth/builder.js'
import {CONTRACT_RULES} from '../../../src/rules/contract/index.js'

const P = 100
const T = 7
const WSAEINVAL = 10022
const WSAEOPNOTSUPP = 10045
const WSANOTINITIALISED = 10093
const WSASYSNOTREADY = 10091
const SIO_GET_EXTENSION_FUNCTION_POINTER = 0xc8000006

const cleanup = (b: TraceBuilder, pid = P, rc = 0, err = 0): void => b.callRet(pid, T, 'WSPCleanup', {}, rc, err)

/** A whole session: startup, a connection, close, cleanup. */
function session(b: TraceBuilder, pid = P, s = '0x2a0', h = '0x3c4'): void {
  b.startup(pid, T)
  b.connect(pid, T, s, h, '10.0.0.2:80')
  b.close(pid, T, s, h)
  cleanup(b, pid)
}

ruleTester(
  'SAN002',
  {
    valid: [
      {name: 'a whole session with forwarded calls only', build: (b) => session(b)},
      {
        name: 'WSPCancelBlockingCall is reported by SAN001, not here',
        build: (b) => {
          b.startup(P, T)
          b.callRet(P, T, 'WSPCancelBlockingCall', {})
        },
      },
    ],
    invalid: [
      {
        name: 'WSPShutdown on a connected socket',
        build: (b) => {
          b.startup(P, T)
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          b.callRet(P, T, 'WSPShutdown', {Socket: '0x2a0', How: 1})
        },
        findings: [{message: /^the switch called WSPShutdown on SAN socket 0x2a0; .*session protocol/, fault: 'switch', socket: '0x2a0', pid: P}],
      },
      {
        name: 'WSPStartup instead of WSPStartupEx (no socket)',
        build: (b) => b.callRet(P, T, 'WSPStartup', {Version: 0x0202}),
        findings: [{message: /^the switch called WSPStartup; .*WSPStartupEx only/}],
      },
      {
        name: 'every other function of the list, one finding each',
        build: (b) => {
          b.startup(P, T)
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          for (const fn of ['WSPSendDisconnect', 'WSPRecvDisconnect', 'WSPAsyncSelect', 'WSPSelect', 'WSPSendTo', 'WSPRecvFrom', 'WSPJoinLeaf', 'WSPGetPeerName', 'WSPGetSockName']) {
            b.callRet(P, T, fn, {Socket: '0x2a0'})
          }
          b.callRet(P, T, 'WSPAddressToString', {})
          b.callRet(P, T, 'WSPStringToAddress', {})
        },
        findings: [
          {message: /WSPSendDisconnect on SAN socket 0x2a0.*session protocol/},
          {message: /WSPRecvDisconnect on SAN socket 0x2a0.*session protocol/},
          {message: /WSPAsyncSelect .*select/},
          {message: /WSPSelect .*select/},
          {message: /WSPSendTo .*datagram/},
          {message: /WSPRecvFrom .*datagram/},
          {message: /WSPJoinLeaf .*multipoint/},
          {message: /WSPGetPeerName .*address queries/},
          {message: /WSPGetSockName .*address queries/},
          {message: /WSPAddressToString; .*address conversion/},
          {message: /WSPStringToAddress; .*address conversion/},
        ],
      },
    ],
    notEvaluated: [
      {name: 'a trace with switch events only', build: (b) => b.emit(P, T, 'AppRequest', {AppReqId: 1, Kind: 'send', Blocking: true}), reason: /no SPI calls/},
    ],
  },
  CONTRACT_RULES,
)

ruleTester(
  'SAN003',
  {
    valid: [
      {name: 'startup, session, cleanup', build: (b) => session(b)},
      {
        name: 'nested startups each matched by a cleanup; only the last one ends the window',
        build: (b) => {
          b.startup(P, T)
          b.startup(P, T)
          b.socket(P, T, '0x2a0', '0x3c4')
          cleanup(b)
          b.close(P, T, '0x2a0', '0x3c4')
          cleanup(b)
        },
      },
      {
        name: 'a failed startup retried before any other call',
        build: (b) => {
          b.callRet(P, T, 'WSPStartupEx', {Version: 0x0202}, WSASYSNOTREADY)
          b.startup(P, T)
          b.socket(P, T, '0x2a0', '0x3c4')
          b.close(P, T, '0x2a0', '0x3c4')
          cleanup(b)
        },
      },
      {
        name: 'a second startup window after the final cleanup',
        build: (b) => {
          session(b)
          session(b, P, '0x2b0', '0x3c8')
        },
      },
      {
        name: 'two processes keep their own count',
        build: (b) => {
          b.startup(P, T)
          b.startup(P + 1, T)
          cleanup(b, P + 1)
          b.socket(P, T, '0x2a0', '0x3c4')
          b.close(P, T, '0x2a0', '0x3c4')
          cleanup(b)
        },
      },
      {
        name: 'a process attached mid-session is not judged against a zero count',
        build: (b) => {
          session(b)
          b.post(P + 1, T, 'WSPSend', '0x2a0', '0x7040', 100)
          cleanup(b, P + 1)
          b.callRet(P + 1, T, 'WSPCloseSocket', {Socket: '0x2a0'})
        },
      },
    ],
    invalid: [
      {
        name: 'calls after the final WSPCleanup: one finding for the run of calls',
        build: (b) => {
          session(b)
          b.wait(100)
          b.socket(P, T, '0x2b0', '0x3c8')
          b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2b0'})
        },
        findings: [
          {
            message: /^2 SPI calls \(WSPSocket, WSPCloseSocket\) in process 100 after the final WSPCleanup \(\+[\d.]+ s\): no WSPStartupEx is in effect from \+[\d.]+ s to \+[\d.]+ s$/,
            fault: 'switch',
            severity: 'error',
            pid: P,
          },
        ],
      },
      {
        name: 'a call before any successful WSPStartupEx',
        build: (b) => {
          b.callRet(P, T, 'WSPStartupEx', {Version: 0x0202}, WSASYSNOTREADY)
          b.socket(P, T, '0x2a0', '0x3c4')
          b.startup(P, T)
          cleanup(b)
        },
        findings: [{message: /^1 SPI call \(WSPSocket\) in process 100 before any successful WSPStartupEx: no WSPStartupEx is in effect$/, fault: 'switch'}],
      },
      {
        name: 'separate gaps are separate findings',
        build: (b) => {
          session(b)
          b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2a0'}, -1, 10038)
          session(b, P, '0x2b0', '0x3c8')
          b.callRet(P, T, 'WSPCloseSocket', {Socket: '0x2b0'}, -1, 10038)
        },
        findings: [{message: /^1 SPI call \(WSPCloseSocket\) .*after the final WSPCleanup/}, {message: /^1 SPI call \(WSPCloseSocket\) .*after the final WSPCleanup/}],
      },
      {
        name: 'cleanup without startup that the provider lets succeed: switch and provider',
        build: (b) => {
          session(b)
          cleanup(b)
        },
        findings: [
          {message: /^WSPCleanup in process 100 without a matching WSPStartupEx: the final WSPCleanup already returned at \+/, fault: 'switch'},
          {message: /^WSPCleanup succeeded in process 100 although no WSPStartupEx was in effect; the provider should fail it with WSANOTINITIALISED \(10093\)$/, fault: 'provider'},
        ],
      },
      {
        name: 'cleanup without startup refused with WSANOTINITIALISED: switch only',
        build: (b) => {
          session(b)
          cleanup(b, P, -1, WSANOTINITIALISED)
        },
        findings: [{message: /^WSPCleanup in process 100 without a matching WSPStartupEx/, fault: 'switch'}],
      },
      {
        name: 'cleanup before any startup',
        build: (b) => {
          b.callRet(P, T, 'WSPStartupEx', {Version: 0x0101}, 10092)
          cleanup(b, P, -1, WSANOTINITIALISED)
        },
        findings: [{message: /without a matching WSPStartupEx: no WSPStartupEx succeeded before it$/, fault: 'switch'}],
      },
      {
        name: 'two concurrent cleanups for one startup: the second one is judged at its return',
        build: (b) => {
          b.startup(P, T)
          const s1 = b.call(P, T, 'WSPCleanup')
          const s2 = b.call(P, T + 1, 'WSPCleanup')
          b.ret(P, T, 'WSPCleanup', s1, 0)
          b.ret(P, T + 1, 'WSPCleanup', s2, 0)
        },
        findings: [
          {message: /^WSPCleanup in process 100 without a matching WSPStartupEx/, fault: 'switch'},
          {message: /^WSPCleanup succeeded .*WSANOTINITIALISED/, fault: 'provider'},
        ],
      },
      {
        name: 'WSPCleanup failing with WSAEINVAL',
        build: (b) => {
          b.startup(P, T)
          cleanup(b, P, -1, WSAEINVAL)
          cleanup(b)
        },
        findings: [{message: /^WSPCleanup failed with WSAEINVAL \(10022\), which is not a SAN result/, fault: 'provider'}],
      },
      {
        name: 'startups still unmatched when the trace ends',
        build: (b) => {
          b.startup(P, T)
          b.startup(P, T)
          b.socket(P, T, '0x2a0', '0x3c4')
          cleanup(b)
        },
        findings: [{message: /^process 100 still had 1 WSPStartupEx not matched by WSPCleanup when the trace ended \(the trace may be truncated/, severity: 'warning', fault: 'switch'}],
      },
    ],
    notEvaluated: [
      {name: 'no WSPStartupEx in the trace', build: (b) => b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80'), reason: /no WSPStartupEx returns/},
      {
        name: 'the only startup return has no call in the trace (attached mid-session)',
        build: (b) => {
          b.emit(P, T, 'SpiReturn', {Seq: 1, Fn: 'WSPStartupEx', Rc: 0, Errno: 0})
          b.socket(P, T, '0x2a0', '0x3c4')
        },
        reason: /first traced call is not WSPStartupEx/,
      },
    ],
  },
  CONTRACT_RULES,
)

const GUID = {
  register: '{C0B422F5-F58C-11d1-AD6C-00C04FA34A2D}',
  deregister: '{C0B422F6-F58C-11d1-AD6C-00C04FA34A2D}',
  registerRdma: '{C0B422F7-F58C-11d1-AD6C-00C04FA34A2D}',
  deregisterRdma: '{C0B422F8-F58C-11d1-AD6C-00C04FA34A2D}',
  rdmaWrite: '{C0B422F9-F58C-11d1-AD6C-00C04FA34A2D}',
  rdmaRead: '{C0B422FA-F58C-11d1-AD6C-00C04FA34A2D}',
  cache: '{E5DA4AF8-D824-48CD-A799-6337A98ED2AF}',
}

/** WSPIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER) on a control socket. */
function lookup(b: TraceBuilder, guid: string, err = 0, pid = P): void {
  b.callRet(pid, T, 'WSPIoctl', {Socket: '0x100', IoctlCode: SIO_GET_EXTENSION_FUNCTION_POINTER, IoctlGuid: guid, InLen: 16, OutLen: 8}, err ? -1 : 0, err)
}

function mandatoryLookups(b: TraceBuilder, pid = P): void {
  for (const g of [GUID.register, GUID.deregister, GUID.registerRdma, GUID.deregisterRdma, GUID.rdmaWrite]) lookup(b, g, 0, pid)
}

const rdma = (fn: string) => (b: TraceBuilder, pid = P) =>
  b.post(pid, T, fn, '0x2a0', '0x7040', 4096, {memHandle: '0x9001', extra: {TargetDescriptor: 'a1b2', TargetDescriptorLen: 2, TargetOffset: 0}})

ruleTester(
  'SAN006',
  {
    valid: [
      {
        name: 'every mandatory lookup succeeds, WSPRdmaRead refused with WSAEOPNOTSUPP and never called',
        build: (b) => {
          mandatoryLookups(b)
          lookup(b, GUID.rdmaRead, WSAEOPNOTSUPP)
          lookup(b, GUID.cache, WSAEOPNOTSUPP)
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          rdma('WSPRdmaWrite')(b)
        },
      },
      {
        name: 'a failed lookup retried with success before the call',
        build: (b) => {
          lookup(b, GUID.rdmaRead, WSAEOPNOTSUPP)
          lookup(b, GUID.rdmaRead.toLowerCase())
          rdma('WSPRdmaRead')(b)
        },
      },
      {
        name: 'a lookup failure in another process does not concern this one',
        build: (b) => {
          lookup(b, GUID.rdmaRead, WSAEOPNOTSUPP, P + 1)
          lookup(b, GUID.rdmaRead)
          rdma('WSPRdmaRead')(b)
        },
      },
      {
        name: 'calls of an extension whose lookup is not in the trace are not judged',
        build: (b) => {
          mandatoryLookups(b)
          rdma('WSPRdmaRead')(b)
          b.callRet(P, T, 'WSPMemoryRegistrationCacheCallback', {CacheAddr: '0x5000000', CacheSize: 4096})
        },
      },
    ],
    invalid: [
      {
        name: '(a) a mandatory extension refused',
        build: (b) => lookup(b, GUID.register, WSAEOPNOTSUPP),
        findings: [{message: /^the provider refused the pointer of mandatory extension WSPRegisterMemory \(WSAEOPNOTSUPP \(10045\)\); every SAN provider must implement it$/, fault: 'provider', pid: P}],
      },
      {
        name: '(a) every mandatory extension is checked',
        build: (b) => {
          for (const g of [GUID.deregister, GUID.registerRdma, GUID.deregisterRdma, GUID.rdmaWrite]) lookup(b, g, WSAEINVAL)
        },
        findings: [
          {message: /mandatory extension WSPDeregisterMemory/},
          {message: /mandatory extension WSPRegisterRdmaMemory/},
          {message: /mandatory extension WSPDeregisterRdmaMemory/},
          {message: /mandatory extension WSPRdmaWrite/},
        ],
      },
      {
        name: '(b) an optional extension refused with another code than WSAEOPNOTSUPP',
        build: (b) => {
          lookup(b, GUID.rdmaRead, WSAEINVAL)
          lookup(b, GUID.cache, 10042)
        },
        findings: [
          {message: /^the lookup of optional extension WSPRdmaRead failed with WSAEINVAL \(10022\); an unsupported optional extension must be refused with WSAEOPNOTSUPP \(10045\)$/, fault: 'provider'},
          {message: /optional extension WSPMemoryRegistrationCacheCallback failed with WSAENOPROTOOPT/, fault: 'provider'},
        ],
      },
      {
        name: '(c) WSPRdmaRead called after its lookup failed',
        build: (b) => {
          mandatoryLookups(b)
          lookup(b, GUID.rdmaRead, WSAEOPNOTSUPP)
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          rdma('WSPRdmaRead')(b)
        },
        findings: [{message: /^the switch called WSPRdmaRead on 0x2a0 although its pointer lookup failed with WSAEOPNOTSUPP \(10045\) at \+/, fault: 'switch'}],
      },
      {
        name: '(c) WSPMemoryRegistrationCacheCallback called after its lookup failed',
        build: (b) => {
          lookup(b, GUID.cache, WSAEOPNOTSUPP)
          b.callRet(P, T, 'WSPMemoryRegistrationCacheCallback', {CacheAddr: '0x5000000', CacheSize: 4096})
        },
        findings: [{message: /^the switch called WSPMemoryRegistrationCacheCallback although its pointer lookup failed/, fault: 'switch'}],
      },
    ],
    notEvaluated: [
      {name: 'no WSPIoctl at all', build: (b) => b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80'), reason: /no WSPIoctl returns/},
      {
        name: 'ioctls other than extension lookups',
        build: (b) => b.callRet(P, T, 'WSPIoctl', {Socket: '0x100', IoctlCode: 0x48000016, InLen: 0, OutLen: 256}, 0, 0, 0.02, {AddrCount: 1}),
        reason: /no extension-function lookup/,
      },
      {
        name: 'a lookup without IoctlGuid',
        build: (b) => b.callRet(P, T, 'WSPIoctl', {Socket: '0x100', IoctlCode: SIO_GET_EXTENSION_FUNCTION_POINTER}),
        reason: /without IoctlGuid/,
      },
    ],
  },
  CONTRACT_RULES,
)
