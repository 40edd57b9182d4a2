import {WSA_FLAG_OVERLAPPED} from '../../model/constants.js'
import type {Ev} from '../../model/event.js'
import {num} from '../../model/event.js'
import type {Sock} from '../../model/state.js'
import {C, R} from '../refs.js'
import type {FindingInput, RuleModule} from '../types.js'
import {isAllOnes} from './common.js'

const AF: Record<number, string> = {1: 'AF_UNIX', 2: 'AF_INET', 6: 'AF_IPX', 17: 'AF_NETBIOS', 23: 'AF_INET6', 26: 'AF_ATM', 32: 'AF_BTH'}
const TYPE: Record<number, string> = {1: 'SOCK_STREAM', 2: 'SOCK_DGRAM', 3: 'SOCK_RAW', 4: 'SOCK_RDM', 5: 'SOCK_SEQPACKET'}
const PROTO: Record<number, string> = {0: 'unspecified (0)', 1: 'IPPROTO_ICMP', 6: 'IPPROTO_TCP', 17: 'IPPROTO_UDP', 58: 'IPPROTO_ICMPV6', 255: 'IPPROTO_RAW'}

const named = (names: Record<number, string>, v: number): string => (names[v] ? (names[v].includes('(') ? names[v] : `${names[v]} (${v})`) : String(v))

/** FROM_PROTOCOL_INFO (-1): the value is taken from lpProtocolInfo, which the switch fills from TCP/IP's entry. */
const fromInfo = (v: number): boolean => isAllOnes(v)

/** SAN007: the switch only creates overlapped TCP stream companion sockets. */
export const SAN007: RuleModule = {
  meta: {
    id: 'SAN007',
    title: 'WSPSocket parameters',
    severity: 'error',
    fault: 'switch',
    section: 'B. Socket creation and handles',
    refs: [R('ff566319'), C('creating-and-binding-san-sockets')],
    docs: {
      checks:
        'Each WSPSocket call: the address family must be AF_INET or AF_INET6, the type SOCK_STREAM and the protocol IPPROTO_TCP (FROM_PROTOCOL_INFO, -1, is accepted: the values then come from the protocol info the switch passes); anything else is an error. dwFlags without WSA_FLAG_OVERLAPPED (0x01) is a warning.',
      why: 'A SAN provider only implements the TCP stream semantics the switch maps application sockets onto; a raw, datagram or non-IP socket has no SAN equivalent and the provider either fails or creates a socket the switch cannot use. Without WSA_FLAG_OVERLAPPED the switch cannot issue the overlapped transfers the SAN data path depends on (WinOF ibwsd fails such a WSPSocket with WSAEINVAL).',
      fix: 'In the switch, create SAN companion sockets only for TCP stream sockets, as WSPSocket(AF_INET or AF_INET6, SOCK_STREAM, IPPROTO_TCP, …, WSA_FLAG_OVERLAPPED), and leave other sockets to TCP/IP.',
      example: ['+0.000 s  SpiCall WSPSocket Af=2 Type=2 Protocol=17 Flags=0x1   <- SOCK_DGRAM/IPPROTO_UDP reached the SAN provider'],
    },
    thresholds: {},
    needs: [{keys: ['call:WSPSocket'], why: 'WSPSocket calls'}],
    instance: 'WSPSocket call',
  },
  create(ctx) {
    /** Findings of a WSPSocket call, reported at its return so they name the socket created. */
    const pending = new Map<Ev, Array<Omit<FindingInput, 'evidence'>>>()

    const emit = (call: Ev, ret: Ev | undefined, sock: Sock | undefined): void => {
      const fs = pending.get(call)
      if (!fs) return
      pending.delete(call)
      for (const f of fs) ctx.report({...f, sock, pid: call.pid, ts: call.ts, evidence: [['call', call], ['return', ret]]})
    }

    return {
      'call:WSPSocket': (step) => {
        const ev = step.ev
        const af = num(ev.f.Af)
        const type = num(ev.f.Type)
        const proto = num(ev.f.Protocol)
        const flags = num(ev.f.Flags)
        if (af === undefined || type === undefined || proto === undefined) return ctx.inconclusive('WSPSocket call without Af, Type or Protocol')
        ctx.checked()
        const fs: Array<Omit<FindingInput, 'evidence'>> = []
        const bad: string[] = []
        if (af !== 2 && af !== 23 && !fromInfo(af)) bad.push(`address family ${named(AF, af)}`)
        if (type !== 1 && !fromInfo(type)) bad.push(`type ${named(TYPE, type)}`)
        if (proto !== 6 && !fromInfo(proto)) bad.push(`protocol ${named(PROTO, proto)}`)
        if (bad.length) {
          fs.push({
            message: `WSPSocket with ${bad.join(', ')}: the switch only creates TCP stream companion sockets (AF_INET/AF_INET6, SOCK_STREAM, IPPROTO_TCP)`,
          })
        }
        if (flags === undefined) ctx.inconclusive('WSPSocket call without Flags')
        else if ((flags & WSA_FLAG_OVERLAPPED) === 0) {
          fs.push({
            message: `WSPSocket with dwFlags 0x${flags.toString(16)} lacks WSA_FLAG_OVERLAPPED (0x1): SAN transfers are always overlapped`,
            severity: 'warning',
          })
        }
        if (fs.length) pending.set(ev, fs)
      },
      'ret:WSPSocket': (step) => {
        const call = step.call?.ev
        if (call) emit(call, step.ev, step.created)
      },
      end: () => {
        for (const call of [...pending.keys()]) emit(call, undefined, undefined)
      },
    }
  },
}
