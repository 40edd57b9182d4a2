import {FD_CONNECT_BIT} from '../model/constants.js'
import {num} from '../model/event.js'
import type {Ev} from '../model/event.js'
import type {Sock, Step} from '../model/state.js'
import {formatDuration as fd} from '../util/duration.js'
import {C} from './refs.js'
import type {RuleModule} from './types.js'

/** SAN031: closing a connecting socket cancels the connect promptly, with no later outcome. */
export const SAN031: RuleModule = {
  meta: {
    id: 'SAN031',
    title: 'Connect cancellation by close',
    severity: 'error',
    fault: 'provider',
    section: 'G. Close and cancel',
    refs: [C('blocking-calls-for-a-san'), C('windows-sockets-spi-functions-not-required-for-sans')],
    docs: {
      checks:
        'A WSPCloseSocket on a socket whose nonblocking connect is still pending (state CONNECTING) cancels the connect. The close must return within the threshold (an error here, because the founding page says "promptly"), and after it returns no FD_CONNECT may be signalled and no upcall other than the final WPUCloseSocketHandle may be made for the socket.',
      why: 'The switch cancels an application\'s blocking connect by closing the SAN socket, then typically retries over TCP/IP or reports the failure. A provider that keeps connecting, signals the event later or calls back for a closed socket races with the switch\'s reuse of the event and handle.',
      fix: 'In the provider, on WSPCloseSocket of a connecting socket abort the connection request (e.g. cancel the CM request), release the socket\'s resources, and suppress any late connect completion.',
      example: [
        '+0.000 s  SpiReturn WSPConnect Rc=-1 Errno=WSAEWOULDBLOCK',
        '+0.500 s  SpiCall WSPCloseSocket Socket=0x2a0',
        '+0.501 s  SpiReturn WSPCloseSocket Rc=0',
        '+0.700 s  NetEventSignal Socket=0x2a0 FdBit=4   <- connect outcome after cancellation',
      ],
    },
    thresholds: {
      closeCallMax: {flag: 'close-call-max', default: '1000ms', description: 'longest acceptable WSPCloseSocket call (shared with SAN029)'},
    },
    needs: [
      {keys: ['call:WSPConnect'], why: 'WSPConnect calls'},
      {keys: ['call:WSPCloseSocket'], why: 'WSPCloseSocket calls'},
    ],
    instance: 'WSPCloseSocket of a connecting socket',
  },
  create(ctx) {
    const max = ctx.t.closeCallMax
    /** Sockets closed while connecting, until their switch handle is released. */
    const cancelled = new Map<Sock, {close: Ev; ret?: Ev}>()

    const after = (step: Step, what: string): void => {
      const k = step.sock
      const c = k && cancelled.get(k)
      if (!k || !c?.ret) return
      ctx.report({
        message: `${what} for ${k.s} after its pending connect was cancelled by WSPCloseSocket`,
        sock: k,
        evidence: [['close', c.close], ['close returned', c.ret], ['late event', step.ev]],
      })
    }

    return {
      'call:WSPCloseSocket': (step) => {
        if (step.sock && step.before === 'CONNECTING') {
          cancelled.set(step.sock, {close: step.ev})
          ctx.checked()
        }
      },
      'ret:WSPCloseSocket': (step) => {
        const k = step.sock
        const c = k && cancelled.get(k)
        if (!k || !c || c.ret || step.call?.ev !== c.close) return
        c.ret = step.ev
        const d = step.ev.ts - c.close.ts
        if (d > max) {
          ctx.report({
            message: `WSPCloseSocket cancelling a pending connect took ${fd(d)} > ${fd(max)}; the connect must be aborted promptly`,
            sock: k,
            evidence: [['connect', k.connectCall], ['close', c.close], ['close returned', step.ev]],
            measured: {durationNs: d, thresholdNs: max},
          })
        }
      },
      'sig:NetEvent': (step) => {
        if (num(step.ev.f.FdBit) === FD_CONNECT_BIT) after(step, 'FD_CONNECT signalled')
      },
      'up:*': (step) => {
        const k = step.sock
        if (step.ev.fn === 'WPUCloseSocketHandle') {
          if (k) cancelled.delete(k)
          return
        }
        after(step, `upcall ${step.ev.fn}`)
      },
      end: () => {
        const last = ctx.model.lastTs
        for (const [k, c] of cancelled) {
          if (c.ret) continue
          const d = last - c.close.ts
          if (d > max) {
            ctx.report({
              message: `WSPCloseSocket cancelling a pending connect had not returned after ${fd(d)} when the trace ended (> ${fd(max)})`,
              sock: k,
              ts: last,
              evidence: [['connect', k.connectCall], ['close', c.close]],
              measured: {durationNs: d, thresholdNs: max},
            })
          } else ctx.inconclusive('the trace ended while the cancelling close was in progress')
        }
      },
    }
  },
}
