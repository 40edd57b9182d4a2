import type {Ev} from '../../model/event.js'
import {str} from '../../model/event.js'
import {succeeded} from '../../model/result.js'
import type {Call, Step} from '../../model/state.js'
import {formatDuration as fd} from '../../util/duration.js'
import {C} from '../refs.js'
import type {RuleModule} from '../types.js'
import {type Creation, Lineage, createdHandle, merge, when} from './common.js'

/** A switch handle created by WPUCreateSocketHandle inside WSPSocket/WSPAccept. */
interface Created {
  h: string
  pid: number
  upret: Ev
  /** WPUCloseSocketHandle for it, when seen. */
  closed?: Ev
}

const CREATING = new Set(['WSPSocket', 'WSPAccept'])

/** SAN008: a new SAN socket gets its switch handle from WPUCreateSocketHandle before WSPSocket/WSPAccept returns. */
export const SAN008: RuleModule = {
  meta: {
    id: 'SAN008',
    title: 'New SAN socket without WPUCreateSocketHandle',
    severity: 'error',
    fault: 'provider',
    section: 'B. Socket creation and handles',
    refs: [C('creating-and-binding-san-sockets'), C('accepting-connection-requests'), C('duplicating-socket-handles-for-a-san')],
    docs: {
      checks:
        'Between each WSPSocket or WSPAccept call and its return on the same thread, the successful WPUCreateSocketHandle upcalls are collected. A successful return without one is an error, except a WSPSocket that re-creates a duplicated socket (dwProviderReserved ≠ 0) and returns a descriptor still live in this process for the same underlying socket (re-activation, reported as info). Several handles created in one call are a warning. A failed call that created a handle must close it with WPUCloseSocketHandle within the grace period (warning: a leaked switch handle).',
      why: 'The switch handle is how the switch knows the socket: completions (WPUCompleteOverlappedRequest), handle-context queries and the final WPUCloseSocketHandle all name it. A socket returned without one has no switch-side identity, so its completions cannot be delivered and the application\'s requests on it hang; a handle created by a failed call is never released and leaks a switch socket.',
      fix: 'In the provider, call WPUCreateSocketHandle once inside WSPSocket and inside a successful WSPAccept, store the switch handle with the socket and return the provider\'s own descriptor; on a failure path after the upcall, release the handle with WPUCloseSocketHandle before returning.',
      example: [
        '+0.000 s  SpiCall WSPSocket Af=2 Type=1 Protocol=6 Flags=0x1',
        '+0.001 s  SpiReturn WSPSocket Rc=0x2a0   <- no WPUCreateSocketHandle inside the call',
      ],
    },
    thresholds: {
      closeGrace: {flag: 'close-grace', default: '2000ms', description: 'time within which a switch handle created by a failed WSPSocket/WSPAccept must be closed with WPUCloseSocketHandle'},
    },
    needs: [
      {keys: ['ret:WSPSocket', 'ret:WSPAccept'], why: 'WSPSocket or WSPAccept returns'},
      {keys: ['up:*'], why: 'upcalls (Upcall events), so a missing WPUCreateSocketHandle cannot be told from untraced upcalls'},
    ],
    instance: 'WSPSocket/WSPAccept return with its call',
  },
  create(ctx) {
    const grace = ctx.t.closeGrace
    const lineage = new Lineage()
    /** Handles created inside each open WSPSocket/WSPAccept. */
    const inCall = new WeakMap<Call, Created[]>()
    /** Handles whose WPUCloseSocketHandle is awaited: inside open calls, or after a failed one. */
    const watch = new Map<string, Created>()
    const key = (pid: number, h: string): string => `${pid}|${h}`
    /**
     * Missing-handle verdicts reached before any upcall was seen: until then the trace may
     * simply not carry upcalls. Bounded, so a trace without upcalls does not grow it.
     */
    const held: Array<() => void> = []
    const HELD_MAX = 256
    let upcallsSeen = false
    const whenUpcallsTraced = (judge: () => void): void => {
      if (upcallsSeen || ctx.model.seen.has('up:WPUCreateSocketHandle')) return judge()
      if (held.length < HELD_MAX) held.push(judge)
      else ctx.inconclusive('no upcall seen yet: a missing WPUCreateSocketHandle cannot be told from untraced upcalls')
    }

    /** A successful WSPSocket/WSPAccept that created no switch handle. */
    const missing = (step: Step, call: Call, c: Creation | undefined): void => {
      const ret = step.ev
      ctx.checked()
      const s = c?.s ?? String(ret.f.Rc)
      const what = ret.fn === 'WSPAccept' ? `WSPAccept on listening socket ${str(call.ev.f.Socket) ?? '?'} returned new descriptor ${s}` : `WSPSocket returned descriptor ${s}`
      if (c?.reactivation && c.prev) {
        ctx.report({
          message: `WSPSocket re-activated duplicated socket ${s} without WPUCreateSocketHandle: the descriptor is still live in process ${ret.pid} since ${when(c.prev.ret)}${c.prev.sock.switchHandle ? ` with switch handle ${c.prev.sock.switchHandle}` : ''} (allowed re-activation)`,
          severity: 'info',
          sock: step.created,
          evidence: [['earlier instance', c.prev.ret], ['duplicated', c.source], ['call', call.ev], ['return', ret]],
        })
        return
      }
      ctx.report({
        message: `${what} without calling WPUCreateSocketHandle: the switch has no handle for the new socket${c?.token ? ` (dwProviderReserved ${c.token}, but ${c.prev ? 'the live descriptor is a different socket' : 'the descriptor was not live in this process'}, so it is not a re-activation)` : ''}`,
        sock: step.created,
        evidence: [['call', call.ev], ['return', ret]],
      })
    }

    const onRet = (step: Step): void => {
      const call = step.call
      const ret = step.ev
      if (!call || call.ret !== ret) return ctx.inconclusive(`${ret.fn} return without its call (call before the trace began)`)
      const ok = succeeded(ret)
      if (ok === undefined) return ctx.inconclusive(`${ret.fn} return without Rc`)
      const made = inCall.get(call) ?? []
      inCall.delete(call)
      if (ok) {
        for (const c of made) watch.delete(key(c.pid, c.h))
        const c = lineage.inspect(step)
        if (c) lineage.created(step, c)
        if (made.length === 0) {
          if (call.ev.tid === undefined || ret.tid === undefined) return ctx.inconclusive('call without a thread id: nested upcalls cannot be matched')
          return whenUpcallsTraced(() => missing(step, call, c))
        }
        ctx.checked()
        if (made.length > 1) {
          ctx.report({
            message: `${ret.fn} created ${made.length} switch handles (${made.map((m) => m.h).join(', ')}) for one socket; only one is used and the others are never released`,
            severity: 'warning',
            sock: step.created,
            evidence: [['call', call.ev], ...made.map((m): [string, Ev] => ['handle created', m.upret]), ['return', ret]],
          })
        }
        return
      }
      // Failed call: each handle it created must be closed.
      if (made.length === 0) return ctx.checked()
      for (const m of made) {
        if (m.closed) {
          watch.delete(key(m.pid, m.h))
          ctx.checked()
          continue
        }
        const deadline = ret.ts + grace
        ctx.at(
          deadline,
          () => {
            watch.delete(key(m.pid, m.h))
            ctx.checked()
            if (m.closed) return
            ctx.report({
              message: `${ret.fn} failed but the switch handle ${m.h} it created was not closed with WPUCloseSocketHandle within ${fd(grace)} (leaked switch handle)`,
              severity: 'warning',
              pid: ret.pid,
              ts: deadline,
              evidence: [['call', call.ev], ['handle created', m.upret], ['failed return', ret]],
              measured: {graceNs: grace},
            })
          },
          () => {
            watch.delete(key(m.pid, m.h))
            if (!m.closed) ctx.inconclusive('the trace ended within the grace period after a failed call that created a switch handle')
          },
        )
      }
    }

    return merge(lineage.listener, {
      'up:*': () => {
        if (upcallsSeen) return
        upcallsSeen = true
        for (const judge of held.splice(0)) judge()
      },
      'upret:WPUCreateSocketHandle': (step) => {
        const within = step.up?.within
        if (!within || !CREATING.has(within.fn) || within.ret !== undefined) return
        const h = createdHandle(step.ev)
        if (!h) return
        const c: Created = {h, pid: step.ev.pid, upret: step.ev}
        const list = inCall.get(within) ?? []
        list.push(c)
        inCall.set(within, list)
        watch.set(key(c.pid, h), c)
      },
      'up:WPUCloseSocketHandle': (step) => {
        const h = str(step.ev.f.SwitchSocket)
        if (!h) return
        const c = watch.get(key(step.ev.pid, h))
        if (c) c.closed ??= step.ev
      },
      'ret:WSPSocket': onRet,
      'ret:WSPAccept': onRet,
      end: () => {
        for (const _ of held.splice(0)) ctx.inconclusive('no upcall in the trace: a missing WPUCreateSocketHandle cannot be told from untraced upcalls')
      },
    })
  },
}
