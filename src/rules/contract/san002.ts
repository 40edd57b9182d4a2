import {C} from '../refs.js'
import type {RuleModule} from '../types.js'

const SHUTDOWN = 'the switch performs graceful shutdown through its own session protocol'
const SELECT = 'the switch implements select and async-select notification itself'
const DATAGRAM = 'SAN sockets are connected stream sockets; datagram and multipoint calls stay with TCP/IP'
const NAMES = 'the switch answers address queries from the application\'s TCP/IP socket'
const STRINGS = 'address conversion is done by the TCP/IP provider'

/** Functions of wsd-rules §1.1 other than WSPCancelBlockingCall (SAN001), with why the switch keeps them. */
export const NOT_FORWARDED: ReadonlyMap<string, string> = new Map([
  ['WSPShutdown', SHUTDOWN],
  ['WSPSendDisconnect', SHUTDOWN],
  ['WSPRecvDisconnect', SHUTDOWN],
  ['WSPAsyncSelect', SELECT],
  ['WSPSelect', SELECT],
  ['WSPSendTo', DATAGRAM],
  ['WSPRecvFrom', DATAGRAM],
  ['WSPJoinLeaf', DATAGRAM],
  ['WSPGetPeerName', NAMES],
  ['WSPGetSockName', NAMES],
  ['WSPAddressToString', STRINGS],
  ['WSPStringToAddress', STRINGS],
  ['WSPStartup', 'the switch initializes a SAN provider with WSPStartupEx only'],
])

/** SAN002: SPI functions the switch handles itself (or through TCP/IP) never reach a SAN provider. */
export const SAN002: RuleModule = {
  meta: {
    id: 'SAN002',
    title: 'Non-forwarded SPI function called',
    severity: 'error',
    fault: 'switch',
    section: 'A. Contract-wide',
    refs: [C('windows-sockets-spi-functions-not-required-for-sans'), C('shutting-down-a-san-connection'), C('synchronizing-operations-on-a-san')],
    docs: {
      checks:
        'Every SPI call in the trace: a call of WSPShutdown, WSPSendDisconnect, WSPRecvDisconnect, WSPAsyncSelect, WSPSelect, WSPSendTo, WSPRecvFrom, WSPJoinLeaf, WSPGetPeerName, WSPGetSockName, WSPAddressToString, WSPStringToAddress or WSPStartup on the SAN provider is a violation (WSPCancelBlockingCall is SAN001).',
      why: 'A SAN provider is not required to implement these functions and may leave their procedure-table entries NULL (WinOF ibwsd does), so the call can crash the application; where it is implemented, the provider acts on state the switch manages itself (a provider-level shutdown bypasses the switch\'s session protocol and can lose data in flight).',
      fix: 'In the switch, handle shutdown and disconnect through the session protocol, select and async-select with its own event bookkeeping, address queries and conversions through TCP/IP, and initialize the provider with WSPStartupEx.',
      example: ['+0.000 s  SpiCall WSPSend Socket=0x2a0 Overlapped=0x7ffd1200', '+0.200 s  SpiCall WSPShutdown Socket=0x2a0   <- never forwarded to a SAN provider'],
    },
    thresholds: {},
    needs: [{keys: ['call:*'], why: 'SPI calls (SpiCall events)'}],
    instance: 'SPI call',
  },
  create(ctx) {
    return {
      'call:*': (step) => {
        ctx.checked()
        const fn = step.ev.fn
        const why = NOT_FORWARDED.get(fn)
        if (why === undefined) return
        const on = step.sock ? ` on SAN socket ${step.sock.s}` : ''
        ctx.report({
          message: `the switch called ${fn}${on}; it is never forwarded to a SAN provider (${why})`,
          sock: step.sock,
          pid: step.ev.pid,
          evidence: [['call', step.ev]],
        })
      },
    }
  },
}
