import {ERROR_CODES, errorName} from '../../model/constants.js'
import type {Ev} from '../../model/event.js'
import {num, str} from '../../model/event.js'
import type {Sock, Step, UpcallRec} from '../../model/state.js'
import {C, S} from '../refs.js'
import type {FindingInput, RuleModule} from '../types.js'
import {Coverage, createdHandle, merge, when} from './common.js'

const JUDGED = ['WPUQuerySocketHandleContext', 'WPUCloseSocketHandle', 'WPUCompleteOverlappedRequest']
/** Errors with which the switch rejects a handle it did not create. */
const REJECTS = new Set([ERROR_CODES.WSAEINVAL, ERROR_CODES.WSAENOTSOCK])
/** Most verdicts held for their upcall's return. */
const WAITING_MAX = 1024

interface Verdict {
  finding?: Omit<FindingInput, 'evidence'> & {evidence: Array<[string, Ev | undefined]>}
  /** Handle unknown in a process attached mid-session: reported only if the switch rejects it. */
  unknownMidSession?: {message: string; h: string}
}

/** SAN010: upcalls carry a live switch handle from WPUCreateSocketHandle, never the provider's descriptor. */
export const SAN010: RuleModule = {
  meta: {
    id: 'SAN010',
    title: 'Upcall with the wrong handle',
    severity: 'error',
    fault: 'provider',
    section: 'B. Socket creation and handles',
    refs: [C('creating-and-binding-san-sockets'), C('completing-data-transfer-requests'), S('nf-ws2spi-wpucompleteoverlappedrequest')],
    docs: {
      checks:
        'Each WPUQuerySocketHandleContext, WPUCloseSocketHandle and WPUCompleteOverlappedRequest upcall must name a switch handle that WPUCreateSocketHandle returned in this process and that WPUCloseSocketHandle has not yet closed. A handle equal to a provider descriptor is reported as the provider\'s descriptor used as the switch handle; a closed handle as such. A handle never created in the trace is a violation when the trace covers the process from its WSPStartupEx; in a process attached mid-session it is reported only when the switch rejects it (WSAEINVAL or WSAENOTSOCK from the upcall), which is also shown as corroborating evidence elsewhere.',
      why: 'The switch looks the handle up in its own socket table. With the provider\'s descriptor or a closed handle, a completion is rejected (WSAEINVAL) or, worse, delivered to whatever switch socket now owns that value: the application\'s request never completes, or another request completes with foreign data.',
      fix: 'In the provider, store the handle returned by WPUCreateSocketHandle with the socket and pass that handle (never the provider descriptor) to every upcall for the socket; make no upcall after WPUCloseSocketHandle.',
      example: [
        '+0.000 s  UpcallReturn WPUCreateSocketHandle NewSwitchSocket=0x3c4   (inside WSPSocket returning 0x2a0)',
        '+2.000 s  Upcall WPUCompleteOverlappedRequest SwitchSocket=0x2a0 Overlapped=0x7040   <- provider descriptor used as switch handle',
        '+2.000 s  UpcallReturn WPUCompleteOverlappedRequest Rc=-1 Errno=WSAEINVAL',
      ],
    },
    thresholds: {},
    needs: [
      {keys: JUDGED.map((u) => `up:${u}`), why: 'upcalls naming a switch handle (WPUCompleteOverlappedRequest, WPUCloseSocketHandle, WPUQuerySocketHandleContext)'},
      {keys: ['upret:WPUCreateSocketHandle'], why: 'WPUCreateSocketHandle returns (the switch-handle map)'},
    ],
    instance: 'upcall naming a switch handle',
  },
  create(ctx) {
    const coverage = new Coverage()
    /** Live switch handles per process: created and not yet closed. */
    const live = new Map<number, Set<string>>()
    /** Verdicts awaiting the upcall's return, for its corroborating error. */
    const waiting = new Map<UpcallRec, Verdict>()

    const liveOf = (pid: number): Set<string> => {
      let s = live.get(pid)
      if (!s) live.set(pid, (s = new Set()))
      return s
    }

    const judge = (step: Step, h: string): Verdict | undefined => {
      const ev = step.ev
      const p = step.proc
      const handles = liveOf(ev.pid)
      if (handles.has(h)) {
        if (ev.fn === 'WPUCloseSocketHandle') handles.delete(h)
        return undefined
      }
      const what = ev.fn === 'WPUCompleteOverlappedRequest' && step.op ? `${ev.fn} for ${step.op.fn} (OVERLAPPED ${step.op.ov})` : ev.fn
      const desc: Sock | undefined = p.sockets.get(h)
      if (desc) {
        return {
          finding: {
            message: `provider descriptor used as switch handle: ${what} names ${h}, the provider's own descriptor${desc.switchHandle ? `; its switch handle is ${desc.switchHandle}` : ''}`,
            sock: desc,
            evidence: [['socket created', desc.created], ['upcall', ev]],
          },
        }
      }
      const owner = p.handles.get(h)
      if (owner?.release && owner.release !== ev) {
        return {
          finding: {
            message: `${what} names switch handle ${h}, already closed by WPUCloseSocketHandle at ${when(owner.release)}`,
            sock: owner,
            evidence: [['handle closed', owner.release], ['upcall', ev]],
          },
        }
      }
      // Without any WPUCreateSocketHandle traced so far, an unknown handle proves nothing by itself.
      if (coverage.fromStart(ev.pid) && ctx.model.seen.has('upret:WPUCreateSocketHandle')) {
        return {
          finding: {
            message: `${what} names ${h}, which is not a live switch handle: WPUCreateSocketHandle never returned it in process ${ev.pid}`,
            pid: ev.pid,
            evidence: [['upcall', ev]],
          },
        }
      }
      return {unknownMidSession: {h, message: `${what} names ${h}, which WPUCreateSocketHandle did not return in the trace, and the switch rejected it`}}
    }

    const settle = (rec: UpcallRec, v: Verdict, ret: Ev | undefined): void => {
      const err = ret ? num(ret.f.Errno) : undefined
      const rejected = ret !== undefined && num(ret.f.Rc) !== 0 && err !== undefined && REJECTS.has(err)
      if (v.finding) {
        ctx.report({
          ...v.finding,
          message: v.finding.message + (rejected ? `; the switch rejected it with ${errorName(err)}` : ''),
          evidence: [...v.finding.evidence, ...(rejected ? [['switch rejected it', ret] as [string, Ev]] : [])],
        })
      } else if (v.unknownMidSession) {
        if (!rejected) {
          // Accepted by the switch: a handle created before the trace began; later upcalls are judged against it.
          if (ret && num(ret.f.Rc) === 0 && rec.ev.fn !== 'WPUCloseSocketHandle') liveOf(rec.ev.pid).add(v.unknownMidSession.h)
          return ctx.inconclusive('switch handle created before the trace began (the process was attached mid-session)')
        }
        ctx.checked()
        ctx.report({message: `${v.unknownMidSession.message} (${errorName(err)})`, pid: rec.ev.pid, evidence: [['upcall', rec.ev], ['switch rejected it', ret]]})
      }
    }

    const listener = merge(coverage.listener, {
      'upret:WPUCreateSocketHandle': (step) => {
        const h = createdHandle(step.ev)
        if (h) liveOf(step.ev.pid).add(h)
      },
      'up:*': (step) => {
        if (!JUDGED.includes(step.ev.fn)) return
        const h = str(step.ev.f.SwitchSocket)
        if (h === undefined) return ctx.inconclusive(`${step.ev.fn} without SwitchSocket`)
        const v = judge(step, h)
        if (!v) return ctx.checked()
        if (v.finding) ctx.checked()
        if (!step.up) return settle({ev: step.ev}, v, undefined)
        waiting.set(step.up, v)
        // Upcall returns may not be traced: judge the oldest without its return rather than hold them all.
        if (waiting.size > WAITING_MAX) {
          const [rec, old] = waiting.entries().next().value!
          waiting.delete(rec)
          settle(rec, old, undefined)
        }
      },
      'upret:*': (step) => {
        const rec = step.up
        if (!rec) return
        const v = waiting.get(rec)
        if (!v) return
        waiting.delete(rec)
        settle(rec, v, step.ev)
      },
      end: () => {
        for (const [rec, v] of waiting) settle(rec, v, undefined)
        waiting.clear()
      },
    })
    return listener
  },
}
