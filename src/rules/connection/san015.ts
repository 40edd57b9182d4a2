import {E, errorName} from '../../model/constants.js'
import type {Ev} from '../../model/event.js'
import {num, str} from '../../model/event.js'
import type {Sock, Step} from '../../model/state.js'
import {formatOffset} from '../../util/duration.js'
import {C} from '../refs.js'
import type {RuleModule} from '../types.js'
import {Peers} from './peers.js'
import {fdConnectOf, merge, parseAddr} from './util.js'

const WSAEHOSTUNREACH = 10065
/** Results that stop the switch from retrying the connect over TCP/IP. */
const NO_FALLBACK = new Set([E.WSAECONNRESET, E.WSAECONNREFUSED, WSAEHOSTUNREACH])

interface NoFallback {
  sock: Sock
  connect: Ev
  result: Ev
  code: number
  count: number
}

/** SAN015: WSAECONNRESET/WSAECONNREFUSED/WSAEHOSTUNREACH suppress the TCP/IP fallback and need a guarantee. */
export const SAN015: RuleModule = {
  meta: {
    id: 'SAN015',
    title: 'Fallback-suppressing connect errors',
    severity: 'warning',
    fault: 'provider',
    section: 'C. Connecting',
    refs: [C('initiating-a-connection')],
    docs: {
      checks:
        'Every connect result (a failing WSPConnect return, or the FD_CONNECT error code reported by WSPEnumNetworkEvents) of WSAECONNRESET, WSAECONNREFUSED or WSAEHOSTUNREACH is reported as info: these codes stop the switch from retrying over TCP/IP, so the provider must be sure TCP/IP would fail too. When the switch later connects over TCP/IP to the same destination address:port in the same process and succeeds (TcpFallback with Result 0), that proves the code was wrong: error. In two-sided traces, when the peer\'s WSPAccept refused the request (condition function CF_REJECT, WSAECONNREFUSED), the local connect must fail with WSAECONNREFUSED: any other result is an error.',
      why: 'On any other failure the switch closes the SAN socket and transparently retries the connection over TCP/IP. A provider that reports "refused", "reset" or "host unreachable" for a fabric problem makes the application\'s connect fail although the destination is reachable over TCP/IP; a provider that reports anything but WSAECONNREFUSED for a rejection makes the switch retry a connection the server refused.',
      fix: 'In the provider, use WSAECONNREFUSED only for an explicit reject from the peer (CM reject / CF_REJECT / backlog full), WSAECONNRESET only when nobody listens and WSAEHOSTUNREACH only when the address does not exist for TCP/IP either; report every other failure (no path, CM timeout, resource errors) as WSAETIMEDOUT.',
      example: [
        '+0.000 s  SpiReturn WSPConnect Socket=0x2a0 Rc=-1 Errno=WSAEWOULDBLOCK',
        '+0.050 s  SpiReturn WSPEnumNetworkEvents NetworkEventsOut=0x10 ErrorCodes[4]=WSAEHOSTUNREACH   <- no fallback',
        '+1.000 s  TcpFallback AppSocket=0x120 Dest=10.0.0.2:445 Result=0   <- TCP/IP reached it: error',
      ],
    },
    thresholds: {},
    needs: [{keys: ['ret:WSPConnect'], why: 'WSPConnect returns'}],
    instance: 'connect result (WSPConnect return or FD_CONNECT outcome)',
  },
  create(ctx) {
    const peers = new Peers()
    /** Sockets whose connect returned WSAEWOULDBLOCK and awaits its FD_CONNECT outcome. */
    const awaiting = new Set<Sock>()
    /** No-fallback results not yet contradicted, per pid and destination. */
    const noFallback = new Map<string, NoFallback>()

    const destKey = (pid: number, v: Ev['f'][string] | undefined): string | undefined => {
      const a = parseAddr(v)
      return a ? `${pid}|${a.ip}|${a.port}` : undefined
    }

    const judge = (step: Step, k: Sock, code: number, how: string): void => {
      const connect = k.connectCall
      ctx.checked()
      const dest = connect?.f.Addr
      if (NO_FALLBACK.has(code)) {
        ctx.report({
          message: `connect on ${k.s} to ${dest ?? '(address not traced)'} failed with ${errorName(code)} (${how}): a no-fallback result, the switch will not retry over TCP/IP; the provider must guarantee TCP/IP would fail too (otherwise WSAETIMEDOUT)`,
          severity: 'info',
          sock: k,
          evidence: [['connect', connect], ['result', step.ev]],
        })
        const key = destKey(k.pid, dest)
        if (key) {
          const prev = noFallback.get(key)
          if (prev) prev.count++
          else noFallback.set(key, {sock: k, connect: connect!, result: step.ev, code, count: 1})
        }
      }
      const rej = peers.rejected.get(k)
      if (rej) {
        peers.rejected.delete(k)
        if (code !== E.WSAECONNREFUSED) {
          ctx.report({
            message: `connect on ${k.s} to ${dest ?? '(address not traced)'} ended with ${code === 0 ? 'success' : errorName(code)} (${how}) although the peer (pid ${rej.ret.pid}) refused it: its WSPAccept returned WSAECONNREFUSED${rej.condRet && num(rej.condRet.f.Result) === 1 ? ' after CF_REJECT' : ''} at ${formatOffset(rej.ret.ts)}; expected WSAECONNREFUSED (10061)`,
            severity: 'error',
            sock: k,
            evidence: [['connect', connect], ['peer condition', rej.cond], ['peer refused', rej.ret], ['local result', step.ev]],
          })
        }
      }
    }

    return merge(peers.listener(), {
      'ret:WSPConnect': (step) => {
        const k = step.sock
        if (!k) return
        const rc = num(step.ev.f.Rc)
        const err = num(step.ev.f.Errno)
        if (rc === undefined) return ctx.inconclusive('WSPConnect return without Rc')
        if (rc === 0) return judge(step, k, 0, 'WSPConnect returned 0')
        if (err === E.WSAEWOULDBLOCK) {
          if (k.state === 'CONNECTING') awaiting.add(k)
          return
        }
        if (err === undefined) return ctx.inconclusive('failed WSPConnect without Errno')
        judge(step, k, err, 'WSPConnect return')
      },
      'ret:WSPEnumNetworkEvents': (step) => {
        const k = step.sock
        if (!k || !awaiting.has(k) || num(step.ev.f.Rc) !== 0) return
        const r = fdConnectOf(step.ev)
        if (!r) return
        awaiting.delete(k)
        if (r.code === undefined) return ctx.inconclusive('FD_CONNECT reported without ErrorCodes')
        judge(step, k, r.code, 'FD_CONNECT iErrorCode')
      },
      'call:WSPCloseSocket': (step) => {
        if (step.sock) awaiting.delete(step.sock)
      },
      'tcp:Connect': (step) => {
        const ev = step.ev
        const key = destKey(ev.pid, ev.f.Dest)
        const nf = key && noFallback.get(key)
        const result = num(ev.f.Result)
        if (!key || !nf || result !== 0) return
        noFallback.delete(key)
        ctx.report({
          message: `TCP/IP connect to ${str(ev.f.Dest)} succeeded at ${formatOffset(ev.ts)} after the SAN provider failed ${nf.count > 1 ? `${nf.count} connects` : 'the connect'} on ${nf.sock.s} to it with ${errorName(nf.code)}: the no-fallback result was wrong (TCP/IP did not fail), WSAETIMEDOUT would have let the switch fall back`,
          severity: 'error',
          sock: nf.sock,
          evidence: [['SAN connect', nf.connect], ['no-fallback result', nf.result], ['TCP/IP connect', ev]],
        })
      },
    }, peers.cleanup())
  },
}
