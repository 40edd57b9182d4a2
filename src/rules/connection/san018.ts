import {E, errorName} from '../../model/constants.js'
import type {Ev} from '../../model/event.js'
import {num} from '../../model/event.js'
import type {Sock, SockState} from '../../model/state.js'
import {formatOffset} from '../../util/duration.js'
import {C} from '../refs.js'
import type {RuleModule} from '../types.js'
import {reportsFdAccept} from './util.js'

/**
 * States whose calls other rules judge (wsd-rules.md §3.1, illegal transitions): SETUP_FAILED
 * (SAN011), CONNECT_FAILED (SAN016), DUPLICATED_OUT (SAN037), closing and closed (SAN033).
 */
const OWNED_ELSEWHERE = new Set<SockState>(['SETUP_FAILED', 'CONNECT_FAILED', 'DUPLICATED_OUT', 'CLOSING', 'CLOSED', 'RELEASED'])

/** SAN018: listen only on a bound socket; accept only on a listening socket after FD_ACCEPT was enumerated. */
export const SAN018: RuleModule = {
  meta: {
    id: 'SAN018',
    title: 'Listen/accept sequencing',
    severity: 'warning',
    fault: 'switch',
    section: 'D. Listening and accepting',
    refs: [C('listening-for-connections-on-a-san'), C('accepting-connection-requests')],
    docs: {
      checks:
        'WSPListen on a socket that is not BOUND is a warning against the switch (the provider must fail it with WSAEINVAL; a success is an error against the provider). WSPAccept on a socket that is not LISTENING is an error. WSPAccept without a WSPEnumNetworkEvents return that reported FD_ACCEPT on that socket since its last successful WSPAccept is a warning, unless the WSPAccept returns WSAEWOULDBLOCK (nothing was queued). Calls in SETUP_FAILED, CONNECT_FAILED, DUPLICATED_OUT or closed states are left to SAN011, SAN016, SAN037 and SAN033.',
      why: 'The SAN listening socket mirrors the application\'s TCP listener: it must be bound (to the same address) before it listens, and the switch accepts SAN connections only when the provider said one is waiting. Listening on an unbound socket, accepting on a socket that does not listen, or accepting blindly makes the switch\'s accept path depend on provider behaviour the SAN contract does not define.',
      fix: 'In the switch, create and bind the SAN socket, call WSPListen, then WSPEventSelect(FD_ACCEPT); call WSPAccept only after WSPEnumNetworkEvents reported FD_ACCEPT. In the provider, fail WSPListen on an unbound socket with WSAEINVAL.',
      example: [
        '+0.000 s  SpiReturn WSPSocket Rc=0x1a0',
        '+0.001 s  SpiCall WSPListen Socket=0x1a0 Backlog=16   <- socket not bound',
        '+0.002 s  SpiReturn WSPListen Rc=0   <- provider should fail with WSAEINVAL',
      ],
    },
    thresholds: {},
    needs: [{keys: ['call:WSPListen', 'call:WSPAccept'], why: 'WSPListen or WSPAccept calls'}],
    instance: 'WSPListen or WSPAccept call',
  },
  create(ctx) {
    /** The WSPEnumNetworkEvents return that reported FD_ACCEPT since the last successful WSPAccept. */
    const ready = new WeakMap<Sock, Ev>()
    /** The last successful WSPAccept per listening socket (evidence). */
    const lastAccept = new WeakMap<Sock, Ev>()
    /** WSPListen calls made on a socket that is not bound, awaiting their return. */
    const badListen = new Map<Ev, SockState>()
    /** WSPAccept calls made without FD_ACCEPT reported, awaiting their return (WSAEWOULDBLOCK is tolerated). */
    const blindAccept = new Map<Ev, Sock>()

    return {
      'call:WSPListen': (step) => {
        const k = step.sock
        const before = step.call?.before ?? step.before
        if (!k || !before) return ctx.inconclusive('WSPListen without a Socket field')
        if (before === 'UNKNOWN') return ctx.inconclusive('WSPListen on a socket created before the trace began')
        if (OWNED_ELSEWHERE.has(before)) return
        ctx.checked()
        if (before === 'BOUND') return
        badListen.set(step.ev, before)
        ctx.report({
          message: `WSPListen on ${k.s} in state ${before}: a SAN listening socket is bound first (WSPBind), then put into listen`,
          sock: k,
          evidence: [['socket created', k.created], ['listen', step.ev]],
        })
      },
      'ret:WSPListen': (step) => {
        const call = step.call?.ev
        const before = call && badListen.get(call)
        if (!call || !before) return
        badListen.delete(call)
        if (num(step.ev.f.Rc) !== 0) return
        ctx.report({
          message: `the provider accepted WSPListen on ${call.f.Socket} in state ${before}; it must fail with WSAEINVAL (10022) on a socket that is not bound`,
          severity: 'error',
          fault: 'provider',
          sock: step.sock,
          evidence: [['listen', call], ['return', step.ev]],
        })
      },
      'ret:WSPEnumNetworkEvents': (step) => {
        if (step.sock && num(step.ev.f.Rc) === 0 && reportsFdAccept(step.ev)) ready.set(step.sock, step.ev)
      },
      'call:WSPAccept': (step) => {
        const k = step.sock
        const before = step.call?.before ?? step.before
        if (!k || !before) return ctx.inconclusive('WSPAccept without a Socket field')
        if (before === 'UNKNOWN') return ctx.inconclusive('WSPAccept on a socket created before the trace began')
        if (OWNED_ELSEWHERE.has(before)) return
        ctx.checked()
        if (before !== 'LISTENING') {
          return ctx.report({
            message: `WSPAccept on ${k.s}, which is not listening (state ${before})`,
            severity: 'error',
            sock: k,
            evidence: [['socket created', k.created], ['accept', step.ev]],
          })
        }
        if (!ready.get(k)) blindAccept.set(step.ev, k)
      },
      'ret:WSPAccept': (step) => {
        const call = step.call?.ev
        const k = call && blindAccept.get(call)
        if (call && k) {
          blindAccept.delete(call)
          const err = num(step.ev.f.Errno)
          if (step.created || err !== E.WSAEWOULDBLOCK) {
            const last = lastAccept.get(k)
            ctx.report({
              message: `WSPAccept on ${k.s} without FD_ACCEPT reported by WSPEnumNetworkEvents ${last ? `since the last successful WSPAccept at ${formatOffset(last.ts)}` : 'since the socket started listening'} (it returned ${step.created ? step.created.s : errorName(err)})`,
              sock: k,
              evidence: [['last accept', last], ['accept', call], ['return', step.ev]],
            })
          }
        }
        if (step.created && step.sock) {
          ready.delete(step.sock)
          lastAccept.set(step.sock, step.ev)
        }
      },
      end: () => {
        for (const _ of blindAccept) ctx.inconclusive('the trace ended inside a WSPAccept called without FD_ACCEPT reported')
      },
    }
  },
}
