import {E, errorName} from '../../model/constants.js'
import type {Ev} from '../../model/event.js'
import {num} from '../../model/event.js'
import type {Sock} from '../../model/state.js'
import {formatOffset} from '../../util/duration.js'
import {C, R} from '../refs.js'
import type {RuleModule} from '../types.js'
import {type AcceptCall, Peers} from './peers.js'
import {merge} from './util.js'

/** Successful accepts held until the trace shows whether it logs event resets. */
const MAX_HELD = 64

/** SAN019: the provider calls the condition function once, on the calling thread, before WSPAccept returns, and honours its result. */
export const SAN019: RuleModule = {
  meta: {
    id: 'SAN019',
    title: 'WSPAccept condition-function and result contract',
    severity: 'error',
    fault: 'provider',
    section: 'D. Listening and accepting',
    refs: [C('accepting-connection-requests'), R('ff566266')],
    docs: {
      checks:
        'For each WSPAccept that returns a new socket or WSAECONNREFUSED, exactly one condition-function call must occur on the thread of the WSPAccept, between its call and its return: none at all ("not called"; "called after return" when it comes later), only on another thread, or several are violations. A CF_REJECT result must make WSPAccept fail with INVALID_SOCKET and WSAECONNREFUSED. A CF_ACCEPT result followed by a failed WSPAccept is a warning (allowed for resource errors, but the code must be documented). A successful CF_ACCEPT must reset the listening socket\'s event inside the call: when the trace logs NetEventReset events, a successful WSPAccept without one is a warning. (The switch-handle part of a CF_ACCEPT success is SAN008.)',
      why: 'The switch decides in its condition function whether the application accepts the connection (it runs the application\'s own condition function or matches a pending accept). A provider that skips it, calls it from another thread or after returning accepts connections the application never agreed to, or races with the switch\'s accept state; ignoring CF_REJECT creates a connection nobody owns. Not resetting the event makes the switch see FD_ACCEPT again for a connection already taken.',
      fix: 'In the provider\'s WSPAccept, take the queued request, call lpfnCondition synchronously on the calling thread before returning; on CF_ACCEPT create the socket (WPUCreateSocketHandle), ResetEvent the listening event and return the new descriptor; on CF_REJECT refuse the peer and fail with WSAECONNREFUSED.',
      example: [
        '+0.000 s  SpiCall WSPAccept Socket=0x1a0 (tid 7)',
        '+0.001 s  ConditionCall ListenSocket=0x1a0 (tid 7)',
        '+0.001 s  ConditionReturn Result=CF_REJECT',
        '+0.002 s  SpiReturn WSPAccept Rc=0x2c0   <- must fail with WSAECONNREFUSED',
      ],
    },
    thresholds: {},
    needs: [
      {keys: ['call:WSPAccept'], why: 'WSPAccept calls'},
      {keys: ['cb:Condition'], why: 'condition-function callbacks (ConditionCall events)'},
    ],
    instance: 'WSPAccept that returned a socket or WSAECONNREFUSED',
  },
  create(ctx) {
    const peers = new Peers()
    /** Accepts (success or WSAECONNREFUSED) with no condition call yet, per listening socket: a late call is "called after return". */
    const awaiting = new Map<Sock, {acc: AcceptCall; ret: Ev}>()
    /** Successful CF_ACCEPT accepts without a reset, held until the trace shows it logs resets. */
    let held: Array<{acc: AcceptCall; ret: Ev; sock?: Sock}> = []

    const notCalled = (k: Sock): void => {
      const w = awaiting.get(k)
      if (!w) return
      awaiting.delete(k)
      if (!ctx.model.seen.has('cb:Condition')) return ctx.inconclusive('the trace has no condition-function callbacks to show whether it was called')
      ctx.report({
        message: `WSPAccept on ${k.s} returned ${w.ret.f.Rc === -1 ? errorName(num(w.ret.f.Errno)) : 'a new socket'} without calling the condition function: it must be called on the calling thread before WSPAccept returns`,
        sock: k,
        evidence: [['accept', w.acc.call], ['return', w.ret]],
      })
    }

    const noReset = (acc: AcceptCall, ret: Ev, k: Sock | undefined): void => {
      ctx.report({
        message: `WSPAccept on ${acc.listen?.s ?? '(socket not traced)'} accepted a connection (CF_ACCEPT) without resetting the listening event${acc.listen?.evSelect ? ` ${acc.listen.evSelect.hEvent}` : ''} inside the call`,
        severity: 'warning',
        sock: k,
        evidence: [['accept', acc.call], ['return', ret]],
      })
    }

    return merge(
      peers.listener(),
      {
        'call:WSPAccept': (step) => {
          if (step.sock) notCalled(step.sock)
        },
        'call:WSPCloseSocket': (step) => {
          if (step.sock) notCalled(step.sock)
        },
        'cb:Condition': (step) => {
          const ev = step.ev
          for (const a of peers.accepts.values()) if (a.conds.some((c) => c.ev === ev)) return
          const ls = typeof ev.f.ListenSocket === 'string' ? ev.f.ListenSocket : undefined
          const k = ls !== undefined ? ctx.model.procs.get(ev.pid)?.sockets.get(ls) : undefined
          const w = k && awaiting.get(k)
          if (!k || !w) return
          awaiting.delete(k)
          ctx.report({
            message: `condition function for WSPAccept on ${k.s} called after WSPAccept returned (at ${formatOffset(w.ret.ts)}, ${w.ret.f.Rc === -1 ? errorName(num(w.ret.f.Errno)) : 'a new socket'}): it must be called before the return`,
            sock: k,
            evidence: [['accept', w.acc.call], ['return', w.ret], ['late condition', ev]],
          })
        },
        'reset:NetEvent': () => {
          if (!held.length) return
          const h = held
          held = []
          for (const x of h) noReset(x.acc, x.ret, x.sock)
        },
        'ret:WSPAccept': (step) => {
          const call = step.call?.ev
          const acc = call && peers.accepts.get(call)
          if (!call || !acc) return ctx.inconclusive('WSPAccept return without its call')
          const k = acc.listen
          const rc = num(step.ev.f.Rc)
          const err = num(step.ev.f.Errno)
          const ok = !!step.created
          const refused = !ok && err === E.WSAECONNREFUSED
          const same = acc.conds.filter((c) => c.ev.tid === acc.tid)
          const cond = same[0] ?? acc.conds[0]
          const returned = ok ? `returned ${step.created!.s}` : `failed with ${errorName(err)}`
          if (ok || refused) {
            ctx.checked()
            if (acc.conds.length === 0) {
              if (k) {
                notCalled(k)
                awaiting.set(k, {acc, ret: step.ev})
              } else ctx.inconclusive('WSPAccept without a Socket field')
            } else if (same.length === 0) {
              ctx.report({
                message: `condition function for WSPAccept on ${k?.s} called on another thread (tid ${acc.conds[0].ev.tid ?? '?'}; WSPAccept on tid ${acc.tid ?? '?'}): it must run on the calling thread`,
                sock: k,
                evidence: [['accept', call], ['condition', acc.conds[0].ev], ['return', step.ev]],
              })
            } else if (acc.conds.length > 1) {
              ctx.report({
                message: `condition function called ${acc.conds.length} times during one WSPAccept on ${k?.s}; exactly one call is expected`,
                sock: k,
                evidence: [['accept', call], ...acc.conds.slice(0, 4).map((c): [string, Ev] => ['condition', c.ev]), ['return', step.ev]],
              })
            }
          }
          if (!cond) return
          if (cond.result === undefined) return ctx.inconclusive('condition call without its ConditionReturn result')
          if (!ok && !refused) ctx.checked()
          if (cond.result === 1 && !(rc === -1 && refused)) {
            ctx.report({
              message: `the condition function returned CF_REJECT but WSPAccept on ${k?.s} ${returned}; it must fail with INVALID_SOCKET and WSAECONNREFUSED (10061) and refuse the peer`,
              sock: k,
              evidence: [['accept', call], ['condition', cond.ev], ['CF_REJECT', cond.ret], ['return', step.ev]],
            })
          } else if (cond.result === 0 && !ok && rc === -1) {
            ctx.report({
              message: `the condition function returned CF_ACCEPT but WSPAccept on ${k?.s} failed with ${errorName(err)}: allowed only for a documented failure such as a resource shortage`,
              severity: 'warning',
              sock: k,
              evidence: [['accept', call], ['condition', cond.ev], ['CF_ACCEPT', cond.ret], ['return', step.ev]],
            })
          } else if (cond.result === 0 && ok && !acc.reset) {
            if (ctx.model.seen.has('reset:NetEvent')) noReset(acc, step.ev, k)
            else if (held.length < MAX_HELD) held.push({acc, ret: step.ev, sock: k})
            else ctx.inconclusive('too many accepts before the first NetEventReset to judge the event reset')
          }
        },
        end: () => {
          for (const k of [...awaiting.keys()]) notCalled(k)
          for (const _ of held) ctx.inconclusive('the trace has no NetEventReset events to show the listening event was reset')
          held = []
        },
      },
      peers.cleanup(),
    )
  },
}
