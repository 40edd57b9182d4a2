import {formatDuration as fd} from '../util/duration.js'
import {C, R} from './refs.js'
import type {Sock} from '../model/state.js'
import type {RuleModule, TimerHandle} from './types.js'

/** SAN032: WPUCloseSocketHandle is the final upcall, after close, within the grace period. */
export const SAN032: RuleModule = {
  meta: {
    id: 'SAN032',
    title: 'WPUCloseSocketHandle is final, after close, within grace',
    severity: 'error',
    fault: 'provider',
    section: 'G. Close and cancel',
    refs: [C('closing-a-san-socket'), R('ff566273')],
    docs: {
      checks:
        '(a) WPUCloseSocketHandle must not come before the switch called WSPCloseSocket (except for handles never returned to the switch, and duplicated sockets); (b) no upcall may use a handle after its WPUCloseSocketHandle; (c) after WSPCloseSocket returns, WPUCloseSocketHandle must follow within the grace period (a close whose grace period runs past the end of the trace is not judged); (d) it must not come while operations of the socket are still pending.',
      why: 'WPUCloseSocketHandle tells the switch it may free its socket context. Before the close it races with the switch still using the socket; never, and the switch handle, the provider\'s connection and its registered memory stay held for the life of the process (resources still held after close).',
      fix: 'In the provider, after WSPCloseSocket has flushed and completed every operation, make exactly one last upcall, WPUCloseSocketHandle, on the last dereference of the socket, and make no upcall for the socket afterwards.',
      example: [
        '+0.000 s  SpiCall WSPCloseSocket Socket=0x2a0',
        '+0.001 s  SpiReturn WSPCloseSocket Rc=0',
        '(no WPUCloseSocketHandle for switch handle 0x3c4 by +2.001 s)   <- resources still held after close',
      ],
    },
    thresholds: {
      closeReleaseGrace: {flag: 'close-release-grace', default: '2000ms', description: 'time after WSPCloseSocket returns within which WPUCloseSocketHandle must be made'},
    },
    needs: [
      {keys: ['call:WSPCloseSocket'], why: 'WSPCloseSocket calls'},
      {keys: ['up:WPUCreateSocketHandle', 'up:WPUCloseSocketHandle'], why: 'socket-handle upcalls (WPUCreateSocketHandle / WPUCloseSocketHandle)'},
    ],
    instance: 'closed socket with a known switch handle',
  },
  create(ctx) {
    const grace = ctx.t.closeReleaseGrace
    /** Release deadlines still pending, by socket: settled (and forgotten) by the socket's WPUCloseSocketHandle. */
    const deadlines = new Map<Sock, TimerHandle[]>()
    const countCheck = (): void => ctx.checked()
    const settled = (k: Sock, t: TimerHandle): void => {
      const ts = deadlines.get(k)
      if (!ts) return
      const j = ts.indexOf(t)
      if (j >= 0) ts.splice(j, 1)
      if (ts.length === 0) deadlines.delete(k)
    }
    return {
      'up:*': (step) => {
        const k = step.sock
        if (!k || step.ev.fn === 'WPUCloseSocketHandle') return
        if (k.release && k.release !== step.ev) {
          ctx.report({
            message: `upcall ${step.ev.fn} with switch handle ${k.switchHandle} after its WPUCloseSocketHandle`,
            sock: k,
            evidence: [['final upcall', k.release], ['later upcall', step.ev]],
          })
        }
      },
      'up:WPUCloseSocketHandle': (step) => {
        const k = step.sock
        if (!k) return
        if (k.release !== step.ev) {
          ctx.report({
            message: `second WPUCloseSocketHandle for switch handle ${k.switchHandle}`,
            sock: k,
            evidence: [['first', k.release], ['again', step.ev]],
          })
          return
        }
        ctx.checked()
        // Released: every deadline of the socket is met (the release is never undone), and only
        // counts its check when reached.
        const due = deadlines.get(k)
        if (due) {
          deadlines.delete(k)
          for (const t of due) ctx.replace(t, countCheck)
        }
        if (!k.closeCall && k.role !== 'DUP_IN' && step.before !== 'DUPLICATED_OUT') {
          ctx.report({
            message: `premature release: WPUCloseSocketHandle for ${k.s} (switch handle ${k.switchHandle}) before the switch called WSPCloseSocket`,
            sock: k,
            evidence: [['socket created', k.created], ['release', step.ev]],
          })
        }
        if (k.pending.size > 0) {
          const ops = [...k.pending]
          ctx.report({
            message: `WPUCloseSocketHandle for ${k.s} while ${ops.length} operation${ops.length > 1 ? 's are' : ' is'} still pending (${ops.map((o) => `${o.fn} ${o.ov}`).join(', ')})`,
            sock: k,
            evidence: [['release', step.ev], ...ops.slice(0, 4).map((o): [string, typeof o.call] => ['pending operation', o.call])],
          })
        }
      },
      'ret:WSPCloseSocket': (step) => {
        const k = step.sock
        const call = step.call
        if (!k || !call || call.before === 'CLOSED' || call.before === 'RELEASED') return
        if (!k.switchHandle) {
          ctx.inconclusive('switch handle unknown (socket created before the trace began or without WPUCreateSocketHandle)')
          return
        }
        if (k.release) return // released during the close: judged at the release
        const deadline = step.ev.ts + grace
        const t = ctx.at(
          deadline,
          () => {
            settled(k, t)
            ctx.checked()
            if (!k.release) {
              ctx.report({
                message: `resources still held after close: no WPUCloseSocketHandle for ${k.s} (switch handle ${k.switchHandle}) within ${fd(grace)} after WSPCloseSocket returned`,
                sock: k,
                ts: deadline,
                evidence: [['close', call.ev], ['close returned', step.ev]],
                measured: {graceNs: grace},
              })
            }
          },
          () => {
            settled(k, t)
            if (!k.release) ctx.inconclusive('the trace ended within the grace period after close')
          },
        )
        const due = deadlines.get(k)
        if (due) due.push(t)
        else deadlines.set(k, [t])
      },
    }
  },
}
