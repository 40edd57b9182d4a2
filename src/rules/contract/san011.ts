import {errorName} from '../../model/constants.js'
import type {Ev} from '../../model/event.js'
import {num, str} from '../../model/event.js'
import {succeeded} from '../../model/result.js'
import type {Sock, SockState} from '../../model/state.js'
import {formatDuration as fd} from '../../util/duration.js'
import {C} from '../refs.js'
import type {RuleModule} from '../types.js'
import {SIO_ADDRESS_LIST_QUERY, SIO_GET_EXTENSION_FUNCTION_POINTER, dupToken, ioctlCode, when} from './common.js'

type Phase = 'await-first' | 'control' | 'setup'

interface Setup {
  phase: Phase
  created?: Ev
  /** The first call of a control socket (WSPIoctl). */
  firstIoctl?: Ev
  bind?: Ev
  /** First failed WSPBind / WSPSetSockOpt. */
  failed?: {call: Ev; ret: Ev}
  closed?: Ev
  connectJudged?: boolean
}

/** Control-socket ioctls: the address list, and the extension-function lookups whose socket argument is not used. */
const CONTROL_IOCTLS = new Set([SIO_ADDRESS_LIST_QUERY, SIO_GET_EXTENSION_FUNCTION_POINTER])
/** States in which a failed WSPBind / WSPSetSockOpt is a setup failure. */
const SETUP_STATES = new Set<SockState | undefined>(['CREATED', 'BOUND', 'UNKNOWN'])

const ioctlName = (code: number | undefined): string =>
  code === SIO_ADDRESS_LIST_QUERY ? 'SIO_ADDRESS_LIST_QUERY' : code === SIO_GET_EXTENSION_FUNCTION_POINTER ? 'SIO_GET_EXTENSION_FUNCTION_POINTER' : code === undefined ? '?' : `0x${code.toString(16)}`

/** `a.b.c.d:port` / `[v6]:port` → ip and port. */
function parseAddr(v: unknown): {ip: string; port: number} | undefined {
  if (typeof v !== 'string') return undefined
  const m = /^\[([^\]]*)\]:(\d+)$/.exec(v.trim()) ?? /^([^:]+):(\d+)$/.exec(v.trim())
  return m ? {ip: m[1].toLowerCase(), port: Number(m[2])} : undefined
}
const isWildcard = (ip: string): boolean => ip === '0.0.0.0' || /^[0:]+$/.test(ip)

/** SAN011: a new companion socket is bound first; a failed bind or option makes the switch close it. */
export const SAN011: RuleModule = {
  meta: {
    id: 'SAN011',
    title: 'Companion-socket setup sequence',
    severity: 'warning',
    fault: 'switch',
    section: 'B. Socket creation and handles',
    refs: [C('creating-and-binding-san-sockets'), C('initiating-a-connection'), C('listening-for-connections-on-a-san'), C('installing-a-san-service-provider')],
    docs: {
      checks:
        'For each socket created by WSPSocket: its first call must be WSPBind, except control sockets whose only calls are WSPIoctl(SIO_ADDRESS_LIST_QUERY) (or extension-function lookups) and re-created duplicated sockets (dwProviderReserved ≠ 0), which are skipped. A WSPConnect on a socket bound with IP 0.0.0.0 or port 0 is a warning (a connecting companion socket is bound to the application\'s fully qualified address). After a failed WSPBind or setup-time WSPSetSockOpt, the switch must call WSPCloseSocket on the socket within the threshold, and any other call on it is a warning.',
      why: 'The SAN socket is a companion of the application\'s TCP socket and must use the same address, so that the peer sees one endpoint whichever path carries the connection. An unbound or wildcard-bound connecting socket gets a provider-chosen address that the application and the peer do not know. After a setup failure the switch falls back to TCP/IP; a SAN socket it keeps using or never closes holds provider resources and may carry part of the traffic on the wrong path.',
      fix: 'In the switch, call WSPBind with the application socket\'s IP and port right after WSPSocket, replay the application\'s options with WSPSetSockOpt, and on any failure close the SAN socket with WSPCloseSocket before falling back to TCP/IP.',
      example: [
        '+0.000 s  SpiReturn WSPSocket Rc=0x2a0',
        '+0.001 s  SpiCall WSPBind Socket=0x2a0 Addr=10.0.0.1:5001',
        '+0.001 s  SpiReturn WSPBind Rc=-1 Errno=WSAEADDRNOTAVAIL',
        '(no WSPCloseSocket on 0x2a0 by +5.001 s)   <- the failed companion socket was not destroyed',
      ],
    },
    thresholds: {
      setupCloseMax: {flag: 'setup-close-max', default: '5000ms', description: 'time within which the switch must close a SAN socket whose setup (bind, option, connect) failed'},
    },
    needs: [{keys: ['call:WSPBind', 'ret:WSPSocket'], why: 'WSPSocket returns or WSPBind calls'}],
    instance: 'socket setup step (first call after WSPSocket, connect after bind, failed bind or option)',
  },
  create(ctx) {
    const max = ctx.t.setupCloseMax
    const setups = new WeakMap<Sock, Setup>()

    const after = (st: Setup): string => `after its ${st.failed!.call.fn} failed with ${errorName(num(st.failed!.ret.f.Errno))} at ${when(st.failed!.ret)}`

    return {
      'ret:WSPSocket': (step) => {
        const k = step.created
        if (!k || dupToken(step.call?.ev)) return
        setups.set(k, {phase: 'await-first', created: step.ev})
      },
      'call:*': (step) => {
        const k = step.sock
        const ev = step.ev
        if (!k) return
        const st = setups.get(k)
        if (!st) return
        if (ev.fn === 'WSPCloseSocket') {
          // A control socket, or a socket closed before any other call, followed the sequence.
          if (!st.closed && (st.phase === 'control' || st.phase === 'await-first')) ctx.checked()
          st.closed ??= ev
          return
        }
        if (st.failed) {
          ctx.report({
            message: `${ev.fn} on ${k.s} ${after(st)}: the switch must only close the SAN socket and fall back to TCP/IP`,
            sock: k,
            evidence: [['setup failed', st.failed.ret], ['call', ev]],
          })
          return
        }
        if (st.phase === 'await-first') {
          if (ev.fn === 'WSPBind') {
            ctx.checked()
            st.phase = 'setup'
            st.bind = ev
            return
          }
          if (ev.fn === 'WSPIoctl' && CONTROL_IOCTLS.has(ioctlCode(ev) ?? -1)) {
            st.phase = 'control'
            st.firstIoctl = ev
            return
          }
          ctx.checked()
          st.phase = 'setup'
          ctx.report({
            message: `the first call on new SAN socket ${k.s} is ${ev.fn}; the switch must bind a companion socket with WSPBind right after WSPSocket`,
            sock: k,
            evidence: [['socket created', st.created], ['first call', ev]],
          })
          return
        }
        if (st.phase === 'control') {
          if (ev.fn === 'WSPIoctl' && CONTROL_IOCTLS.has(ioctlCode(ev) ?? -1)) return
          ctx.checked()
          st.phase = 'setup'
          ctx.report({
            message: `${ev.fn} on ${k.s}, whose first call was WSPIoctl(${ioctlName(ioctlCode(st.firstIoctl!))}) instead of WSPBind: a control socket only queries addresses, and a companion socket must be bound first`,
            sock: k,
            evidence: [['socket created', st.created], ['first call', st.firstIoctl], ['call', ev]],
          })
          return
        }
        if (ev.fn === 'WSPConnect' && st.bind && !st.connectJudged) {
          st.connectJudged = true
          const a = parseAddr(st.bind.f.Addr)
          if (!a) return ctx.inconclusive('WSPBind without a parsable Addr')
          ctx.checked()
          const bad = isWildcard(a.ip) ? (a.port === 0 ? 'IP and port 0' : `wildcard IP ${a.ip}`) : a.port === 0 ? 'port 0' : undefined
          if (bad) {
            ctx.report({
              message: `WSPConnect on ${k.s}, which was bound to ${str(st.bind.f.Addr)} (${bad}): a connecting companion socket must be bound to the application socket's fully qualified address`,
              sock: k,
              evidence: [['bind', st.bind], ['connect', ev]],
            })
          }
        }
      },
      'ret:*': (step) => {
        const ev = step.ev
        if (ev.fn !== 'WSPBind' && ev.fn !== 'WSPSetSockOpt') return
        const call = step.call
        const k = step.sock
        if (!call || !k || succeeded(ev) !== false) return
        if (!SETUP_STATES.has(call.before) || (ev.fn === 'WSPSetSockOpt' && call.before === 'UNKNOWN')) return
        let st = setups.get(k)
        if (!st) setups.set(k, (st = {phase: 'setup'}))
        if (st.failed) return
        st.failed = {call: call.ev, ret: ev}
        const s = st
        const deadline = ev.ts + max
        ctx.at(
          deadline,
          () => {
            ctx.checked()
            if (s.closed) return
            ctx.report({
              message: `${ev.fn} on ${k.s} failed with ${errorName(num(ev.f.Errno))} and the switch did not close the SAN socket within ${fd(max)}; it must destroy it with WSPCloseSocket and fall back to TCP/IP`,
              sock: k,
              ts: deadline,
              evidence: [['call', call.ev], ['failed return', ev]],
              measured: {thresholdNs: max},
            })
          },
          () => {
            if (s.closed) ctx.checked()
            else ctx.inconclusive('the trace ended within the close threshold after a failed setup call')
          },
        )
      },
    }
  },
}
