import {ruleTester} from '../../helpers/rule-tester.js'
import {FD_CONNECT, WSAEWOULDBLOCK} from '../../../src/synth/builder.js'
import type {TraceBuilder} from '../../../src/synth/builder.js'
import {DATAPATH_RULES} from '../../../src/rules/datapath/index.js'
import {emptyConfig} from '../../../src/config.js'

/** Analyzer options declaring the provider's QoS capability (configuration file `provider.qosSupported`). */
const qos = (qosSupported: boolean) => ({config: {...emptyConfig(), provider: {qosSupported}}})

const P = 900
const T = 9
const CB = 40
const WSAECONNRESET = 10054
const WSAECONNABORTED = 10053

const SO_DEBUG = 0x1
const SO_GROUP_PRIORITY = 0x2002
const SO_MAX_MSG_SIZE = 0x2003
const SO_MAX_RDMA_SIZE = 0x700d
const SOL_SOCKET = 0xffff
const SIO_GET_EXTENSION_FUNCTION_POINTER = '0xC8000006'
const SIO_ADDRESS_LIST_QUERY = 0x48000016
const SIO_SET_QOS = '0x8800000B'

const opt = (b: TraceBuilder, fn: string, name: number, level = SOL_SOCKET, rc = 0, errno = 0) =>
  b.callRet(P, T, fn, {Socket: '0x2a0', OptLevel: level, OptName: name, OptLen: 4}, rc, errno)

ruleTester(
  'SAN039',
  {
    valid: [
      {
        name: 'documented options and control codes; the address list names the NIC',
        build: (b) => {
          b.callRet(P, T, 'WSPIoctl', {Socket: '0x1f8', IoctlCode: SIO_GET_EXTENSION_FUNCTION_POINTER, IoctlGuid: '{c0b422f5-f58c-11d1-ad6c-00c04fa34a2d}'})
          b.socket(P, T, '0x1f8', '0x3b0')
          b.callRet(P, T, 'WSPIoctl', {Socket: '0x1f8', IoctlCode: SIO_ADDRESS_LIST_QUERY}, 0, 0, 0.02, {AddrCount: 2})
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          opt(b, 'WSPGetSockOpt', SO_MAX_MSG_SIZE)
          opt(b, 'WSPGetSockOpt', SO_MAX_RDMA_SIZE)
          opt(b, 'WSPSetSockOpt', SO_DEBUG)
        },
      },
      {
        name: 'QoS requests to a QoS-capable provider',
        options: qos(true),
        build: (b) => {
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          b.callRet(P, T, 'WSPIoctl', {Socket: '0x2a0', IoctlCode: SIO_SET_QOS})
          opt(b, 'WSPSetSockOpt', SO_GROUP_PRIORITY)
          b.callRet(P, T, 'WSPGetQOSByName', {Socket: '0x2a0'}, 1)
        },
      },
      {
        name: 'a provider without QoS refuses WSPGetQOSByName with WSAEOPNOTSUPP',
        options: qos(false),
        build: (b) => {
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          b.callRet(P, T, 'WSPGetQOSByName', {Socket: '0x2a0'}, 0, 10045)
        },
      },
    ],
    invalid: [
      {
        name: 'application options replayed on the SAN socket (info)',
        build: (b) => {
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          opt(b, 'WSPSetSockOpt', 0x1002)
          opt(b, 'WSPGetSockOpt', 0x1, 6)
        },
        findings: [
          {message: /^WSPSetSockOpt of SO_RCVBUF on 0x2a0: the switch sets only SO_DEBUG and SO_GROUP_PRIORITY on a SAN socket/, severity: 'info', fault: 'switch'},
          {message: /^WSPGetSockOpt of TCP_NODELAY \(IPPROTO_TCP\) on 0x2a0: the switch reads only SO_DEBUG, SO_MAX_MSG_SIZE/, severity: 'info'},
        ],
      },
      {
        name: 'a control code the switch never sends (warning)',
        build: (b) => {
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          b.callRet(P, T, 'WSPIoctl', {Socket: '0x2a0', IoctlCode: '0x4004667E'})
        },
        findings: [{message: /^WSPIoctl FIONBIO \(0x4004667e\) on 0x2a0: the switch sends a SAN provider only SIO_GET_EXTENSION_FUNCTION_POINTER, SIO_ADDRESS_LIST_QUERY and the SIO_\*QOS codes$/, severity: 'warning', fault: 'switch'}],
      },
      {
        name: 'QoS requests to a provider without QoS (warning)',
        options: qos(false),
        build: (b) => {
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          b.callRet(P, T, 'WSPIoctl', {Socket: '0x2a0', IoctlCode: SIO_SET_QOS})
          opt(b, 'WSPSetSockOpt', SO_GROUP_PRIORITY)
        },
        findings: [
          {message: /^WSPIoctl SIO_SET_QOS \(0x8800000b\) sent to a provider without XP1_QOS_SUPPORTED/, severity: 'warning', fault: 'switch'},
          {message: /^WSPSetSockOpt of SO_GROUP_PRIORITY sent to a provider without XP1_QOS_SUPPORTED/, severity: 'warning', fault: 'switch'},
        ],
      },
      {
        name: 'WSPGetQOSByName succeeds on a provider without QoS (error)',
        options: qos(false),
        build: (b) => (b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80'), b.callRet(P, T, 'WSPGetQOSByName', {Socket: '0x2a0'}, 1)),
        findings: [{message: /^WSPGetQOSByName succeeded on a provider without QoS support \(provider.qosSupported = false\): it must fail with WSAEOPNOTSUPP \(10045\)$/, severity: 'error', fault: 'provider'}],
      },
      {
        name: 'WSPGetQOSByName fails with another code (error)',
        options: qos(false),
        build: (b) => (b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80'), b.callRet(P, T, 'WSPGetQOSByName', {Socket: '0x2a0'}, 0, 10022)),
        findings: [{message: /^WSPGetQOSByName failed with WSAEINVAL \(10022\) on a provider without QoS support/, severity: 'error'}],
      },
      {
        name: 'an empty address list, yet binds succeed (info)',
        build: (b) => {
          b.socket(P, T, '0x1f8', '0x3b0')
          b.callRet(P, T, 'WSPIoctl', {Socket: '0x1f8', IoctlCode: SIO_ADDRESS_LIST_QUERY}, 0, 0, 0.02, {AddrCount: 0})
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          b.connect(P, T, '0x2b0', '0x3c8', '10.0.0.2:80')
        },
        findings: [{message: /^SIO_ADDRESS_LIST_QUERY returned 0 addresses at \+[\d.]+ s, yet WSPBind on 0x2a0 succeeded on this provider/, severity: 'info', fault: 'provider'}],
      },
    ],
    notEvaluated: [
      {name: 'no option, ioctl or QoS calls', build: (b) => b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80'), reason: /no option, ioctl or QoS calls/},
      {
        name: 'only QoS calls and the provider capability is not configured',
        build: (b) => (b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80'), b.callRet(P, T, 'WSPGetQOSByName', {Socket: '0x2a0'}, 0, 10045)),
        reason: /provider QoS capability unknown/,
      },
    ],
  },
  DATAPATH_RULES,
)

// ---- SAN040 -------------------------------------------------------------------------------

const CL = 800 // connecting process
const SV = 801 // accepting process

/** Listener in SV, then a connect from CL interleaved with the accept so the two ends pair up. */
function handshake(b: TraceBuilder): void {
  b.listen(SV, T, '0x2b0', '0x3c8', '10.0.0.2:445')
  b.socket(CL, T, '0x2a0', '0x3c4')
  b.callRet(CL, T, 'WSPBind', {Socket: '0x2a0', Addr: '10.0.0.1:0'})
  b.callRet(CL, T, 'WSPEventSelect', {Socket: '0x2a0', EventHandle: '0x1f0', NetworkEvents: FD_CONNECT})
  b.callRet(CL, T, 'WSPConnect', {Socket: '0x2a0', Addr: '10.0.0.2:445'}, -1, WSAEWOULDBLOCK)
  b.accept(SV, T, '0x2b0', '0x2c0', '0x3cc')
  b.emit(CL, undefined, 'NetEventSignal', {Socket: '0x2a0', EventHandle: '0x1f0', FdBit: 4, Error: 0})
  b.callRet(CL, T, 'WSPEnumNetworkEvents', {Socket: '0x2a0', EventHandle: '0x1f0'}, 0, 0, 0.01, {NetworkEventsOut: FD_CONNECT, ErrorCodes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]})
}

/** Register, post the first receive, send the 64-byte negotiation message. */
function prepare(b: TraceBuilder, pid: number, s: string): void {
  b.register(pid, T, s, '0x5000000', 65536, '0x9001')
  b.post(pid, T, 'WSPRecv', s, '0x7040', 4096)
  b.post(pid, T, 'WSPSend', s, '0x7000', 64, {buf: '0x5008000'})
}

/** The sends complete and each side's first receive gets the peer's message; then application data. */
function exchange(b: TraceBuilder, recvBytes = {cl: 64, sv: 64}): void {
  b.complete(CL, CB, '0x3c4', '0x7000', 64)
  b.complete(SV, CB, '0x3cc', '0x7000', 64)
  b.complete(SV, CB, '0x3cc', '0x7040', recvBytes.sv)
  b.complete(CL, CB, '0x3c4', '0x7040', recvBytes.cl)
}

function data(b: TraceBuilder, pid: number, s: string, h: string): void {
  b.post(pid, T, 'WSPSend', s, '0x7004', 1000, {buf: '0x5009000'})
  b.complete(pid, CB, h, '0x7004', 1000)
}

ruleTester(
  'SAN040',
  {
    valid: [
      {
        name: 'both ends register, post receives and exchange the negotiation messages, then data',
        build: (b) => {
          handshake(b)
          prepare(b, SV, '0x2c0')
          prepare(b, CL, '0x2a0')
          exchange(b)
          data(b, CL, '0x2a0', '0x3c4')
          b.close(CL, T, '0x2a0', '0x3c4')
          b.close(SV, T, '0x2c0', '0x3cc')
        },
      },
      {
        name: 'a connection failure after application data flowed is not a negotiation failure',
        build: (b) => {
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          prepare(b, P, '0x2a0')
          b.complete(P, CB, '0x3c4', '0x7000', 64)
          b.complete(P, CB, '0x3c4', '0x7040', 64)
          data(b, P, '0x2a0', '0x3c4')
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7044', 4096)
          b.wait(500)
          b.complete(P, CB, '0x3c4', '0x7044', 0, WSAECONNRESET)
        },
      },
      {
        name: 'receives aborted with connection errors during close do not count',
        build: (b) => {
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          b.register(P, T, '0x2a0', '0x5000000', 65536, '0x9001')
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 4096)
          const seq = b.call(P, T, 'WSPCloseSocket', {Socket: '0x2a0'})
          b.complete(P, CB, '0x3c4', '0x7040', 0, WSAECONNRESET)
          b.ret(P, T, 'WSPCloseSocket', seq, 0)
        },
      },
      {
        name: 'two-sided: a reset after the peer closed is not a negotiation failure',
        build: (b) => {
          handshake(b)
          prepare(b, SV, '0x2c0')
          prepare(b, CL, '0x2a0')
          exchange(b)
          b.close(CL, T, '0x2a0', '0x3c4')
          b.post(SV, T, 'WSPRecv', '0x2c0', '0x7044', 4096)
          b.complete(SV, CB, '0x3cc', '0x7044', 0, WSAECONNRESET)
        },
      },
      {
        name: 'a failure after the negotiation window, even before data',
        build: (b) => {
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          b.register(P, T, '0x2a0', '0x5000000', 65536, '0x9001')
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 4096)
          b.wait(6000)
          b.complete(P, CB, '0x3c4', '0x7040', 0, WSAECONNABORTED)
        },
      },
    ],
    invalid: [
      {
        name: 'the provider breaks an accepted connection before any receive is posted',
        build: (b) => {
          b.listen(SV, T, '0x2b0', '0x3c8', '10.0.0.2:445')
          b.accept(SV, T, '0x2b0', '0x2c0', '0x3cc')
          b.emit(SV, undefined, 'ConnState', {Socket: '0x2c0', Old: 'CONNECTED', New: 'DISCONNECTED', Reason: 'message before receive posted'})
          b.register(SV, T, '0x2c0', '0x5000000', 65536, '0x9001')
          b.callRet(SV, T, 'WSPRecv', {Socket: '0x2c0', Overlapped: '0x7040', HEvent: '0x1f0', TotalLen: 4096}, -1, WSAECONNRESET)
        },
        findings: [{message: /^accepted connection 0x2c0 \(process 801\) broke during session negotiation, before any WSPRecv was posted: the provider moved the connection to DISCONNECTED \(message before receive posted\); a negotiation message that arrives before receives are posted must be buffered/, fault: 'provider', socket: '0x2c0'}],
      },
      {
        name: 'the first receive is aborted within the window, before any application data',
        build: (b) => {
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          prepare(b, P, '0x2a0')
          b.complete(P, CB, '0x3c4', '0x7000', 64)
          b.wait(1000)
          b.complete(P, CB, '0x3c4', '0x7040', 0, WSAECONNABORTED)
        },
        findings: [{message: /^outgoing connection 0x2a0 \(process 900\) broke during session negotiation, 1(\.\d+)? s after its first WSPRecv was posted, before any application data: WSPRecv \(OVERLAPPED 0x7040\) completed with WSAECONNABORTED \(10053\)/}],
      },
      {
        name: 'two-sided: the peer\'s negotiation message is not what the first receive completes with',
        build: (b) => {
          handshake(b)
          prepare(b, SV, '0x2c0')
          prepare(b, CL, '0x2a0')
          exchange(b, {cl: 64, sv: 128})
        },
        findings: [{message: /^accepted connection 0x2c0 \(process 801\) did not get the peer's session-negotiation message in its first WSPRecv: 0x2a0 \(process 800\) sent 64 bytes \(WSPSend \(OVERLAPPED 0x7000\) completed at \+[\d.]+ s\) but WSPRecv \(OVERLAPPED 0x7040\) completed with success, 128 bytes$/, socket: '0x2c0'}],
      },
      {
        name: 'two-sided: the peer\'s negotiation message never reaches the first receive',
        build: (b) => {
          handshake(b)
          prepare(b, SV, '0x2c0')
          prepare(b, CL, '0x2a0')
          b.complete(CL, CB, '0x3c4', '0x7000', 64)
          b.complete(SV, CB, '0x3cc', '0x7000', 64)
          b.complete(CL, CB, '0x3c4', '0x7040', 64)
          b.wait(6000)
          b.callRet(CL, T, 'WSPCleanup', {})
        },
        findings: [{message: /^accepted connection 0x2c0 \(process 801\) never got the peer's session-negotiation message: 0x2a0 \(process 800\) sent 64 bytes .* but WSPRecv \(OVERLAPPED 0x7040\) had not completed 5 s later$/}],
      },
      {
        name: 'the switch sends before posting a receive (info)',
        build: (b) => {
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          b.register(P, T, '0x2a0', '0x5000000', 65536, '0x9001')
          b.post(P, T, 'WSPSend', '0x2a0', '0x7000', 64)
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 4096)
          b.close(P, T, '0x2a0', '0x3c4')
        },
        findings: [{message: /^outgoing connection 0x2a0 \(process 900\): WSPSend before any WSPRecv was posted \(expected WSPRegisterMemory, then WSPRecv, then WSPSend/, severity: 'info', fault: 'switch'}],
      },
      {
        name: 'the first data-path call is not WSPRegisterMemory (info)',
        build: (b) => {
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 4096)
          b.register(P, T, '0x2a0', '0x5000000', 65536, '0x9001')
          b.post(P, T, 'WSPSend', '0x2a0', '0x7000', 64)
          b.close(P, T, '0x2a0', '0x3c4')
        },
        findings: [{message: /: the first data-path call is WSPRecv, not WSPRegisterMemory/, severity: 'info'}],
      },
    ],
    notEvaluated: [
      {
        name: 'no new connection',
        build: (b) => (b.socket(P, T, '0x2a0', '0x3c4'), b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 100)),
        reason: /no new connections/,
      },
      {name: 'no data path', build: (b) => b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80'), reason: /no data-path calls/},
      {
        name: 'the trace ends during negotiation',
        build: (b) => {
          b.connect(P, T, '0x2a0', '0x3c4', '10.0.0.2:80')
          b.register(P, T, '0x2a0', '0x5000000', 65536, '0x9001')
          b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 4096)
        },
        reason: /ended during session negotiation/,
      },
    ],
  },
  DATAPATH_RULES,
)

