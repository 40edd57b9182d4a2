import {ERROR_CODES, errorName} from '../../model/constants.js'
import type {Ev} from '../../model/event.js'
import {num, str} from '../../model/event.js'
import {R} from '../refs.js'
import type {RuleModule} from '../types.js'
import {when} from './common.js'

const WSAEINVAL = ERROR_CODES.WSAEINVAL
const WSANOTINITIALISED = ERROR_CODES.WSANOTINITIALISED

/** Calls made while no WSPStartupEx is in effect, reported as one finding per gap. */
interface Gap {
  first: Ev
  last: Ev
  count: number
  fns: Set<string>
}

/** Per (process, provider): the startup reference count. */
interface PState {
  pid: number
  ref: number
  /** Whether the trace covers the process from its first WSPStartupEx (its first traced call is WSPStartupEx). */
  known: boolean
  /** Successful WSPStartupEx returns not yet matched by a WSPCleanup, oldest first. */
  open: Ev[]
  /** The WSPCleanup return that brought the count to 0. */
  lastCleanup?: Ev
  gap?: Gap
}

/** SAN003: each WSPStartupEx has one WSPCleanup; every other call falls inside a startup window. */
export const SAN003: RuleModule = {
  meta: {
    id: 'SAN003',
    title: 'Startup/cleanup pairing and ordering',
    severity: 'error',
    fault: 'switch/provider',
    section: 'A. Contract-wide',
    refs: [R('ff566270'), R('ff566321')],
    docs: {
      checks:
        'Per process (and provider, when events carry ProviderId) a reference count goes up at each successful WSPStartupEx and down at each successful WSPCleanup. Calls other than WSPStartupEx made while the count is 0 are a violation (one finding per run of such calls); a WSPCleanup without a startup in effect is a switch violation, and a provider violation too when the provider lets it succeed instead of failing with WSANOTINITIALISED. WSPCleanup failing with WSAEINVAL is a provider violation. Startups still unmatched when the trace ends are a warning. A process whose first traced call is not WSPStartupEx was attached mid-session: its startup count before the trace is unknown, so calls there are not judged against a zero count.',
      why: 'The provider keeps a reference count and tears everything down at the last WSPCleanup: a call after that acts on freed provider state, a surplus cleanup destroys resources another component of the process still uses, and a missing cleanup leaks the provider\'s events, memory registrations and adapter resources.',
      fix: 'Switch: pair each WSPStartupEx with exactly one WSPCleanup and make no provider call before the first startup or after the last cleanup. Provider: count startups and fail a cleanup without one with WSANOTINITIALISED; never return WSAEINVAL from WSPCleanup.',
      example: [
        '+0.000 s  SpiCall WSPStartupEx Version=0x202',
        '+0.001 s  SpiReturn WSPStartupEx Rc=0',
        '+5.000 s  SpiReturn WSPCleanup Rc=0',
        '+5.100 s  SpiCall WSPSocket Af=2 Type=1 Protocol=6   <- call after the final WSPCleanup',
      ],
    },
    thresholds: {},
    needs: [{keys: ['ret:WSPStartupEx'], why: 'WSPStartupEx returns'}],
    instance: 'SPI call judged against the startup count',
  },
  create(ctx) {
    const procs = new Map<string, PState>()
    /** WSPCleanup calls made with no startup in effect, awaiting their return. */
    const orphanCleanups = new Set<Ev>()

    /** Process keys by pid and ProviderId as traced (absent: ''), so that a key is not rebuilt per event; a cache of recent pids. */
    const keys = new Map<number, Map<string, string>>()
    const keyOf = (ev: Ev): string => {
      const raw = str(ev.f.ProviderId) ?? ''
      let m = keys.get(ev.pid)
      if (!m) {
        if (keys.size >= 256) keys.clear()
        keys.set(ev.pid, (m = new Map()))
      }
      let k = m.get(raw)
      if (k === undefined) m.set(raw, (k = `${ev.pid}|${raw.toLowerCase()}`))
      return k
    }

    const flushGap = (p: PState): void => {
      const g = p.gap
      if (!g) return
      p.gap = undefined
      const fns = [...g.fns]
      const list = fns.length > 4 ? `${fns.slice(0, 4).join(', ')}, …` : fns.join(', ')
      const where = p.lastCleanup ? `after the final WSPCleanup (${when(p.lastCleanup)})` : 'before any successful WSPStartupEx'
      ctx.report({
        message: `${g.count} SPI call${g.count > 1 ? 's' : ''} (${list}) in process ${p.pid} ${where}: no WSPStartupEx is in effect${g.count > 1 ? ` from ${when(g.first)} to ${when(g.last)}` : ''}`,
        fault: 'switch',
        pid: p.pid,
        ts: g.first.ts,
        evidence: [['final cleanup', p.lastCleanup], ['first call outside a startup', g.first], ...(g.count > 1 ? [['last call outside a startup', g.last] as [string, Ev]] : [])],
        measured: {calls: g.count},
      })
    }

    const cleanupWithoutStartup = (p: PState, call: Ev): void => {
      ctx.report({
        message: `WSPCleanup in process ${p.pid} without a matching WSPStartupEx: ${p.lastCleanup ? `the final WSPCleanup already returned at ${when(p.lastCleanup)}` : 'no WSPStartupEx succeeded before it'}`,
        fault: 'switch',
        pid: p.pid,
        evidence: [['previous cleanup', p.lastCleanup], ['cleanup', call]],
      })
    }

    return {
      'call:*': (step) => {
        const ev = step.ev
        const k = keyOf(ev)
        let p = procs.get(k)
        if (!p) procs.set(k, (p = {pid: ev.pid, ref: 0, known: ev.fn === 'WSPStartupEx', open: []}))
        if (ev.fn === 'WSPStartupEx') return ctx.checked()
        if (p.ref > 0) return ctx.checked()
        if (!p.known) return ctx.inconclusive('the trace began after the process started using the provider (its first traced call is not WSPStartupEx)')
        ctx.checked()
        if (ev.fn === 'WSPCleanup') {
          orphanCleanups.add(ev)
          return cleanupWithoutStartup(p, ev)
        }
        if (!p.gap) p.gap = {first: ev, last: ev, count: 0, fns: new Set()}
        p.gap.last = ev
        p.gap.count++
        p.gap.fns.add(ev.fn)
      },
      'ret:WSPStartupEx': (step) => {
        const p = procs.get(keyOf(step.ev))
        const rc = num(step.ev.f.Rc)
        if (rc === undefined) return ctx.inconclusive('WSPStartupEx return without Rc')
        if (rc !== 0 || !p) return
        flushGap(p)
        p.ref++
        p.open.push(step.ev)
      },
      'ret:WSPCleanup': (step) => {
        const ev = step.ev
        const p = procs.get(keyOf(ev))
        const call = step.call?.ev
        const rc = num(ev.f.Rc)
        const err = num(ev.f.Errno)
        if (rc === undefined) return ctx.inconclusive('WSPCleanup return without Rc')
        if (rc !== 0 && err === WSAEINVAL) {
          ctx.report({
            message: `WSPCleanup failed with ${errorName(err)}, which is not a SAN result (the page allows only WSANOTINITIALISED and WSAENETDOWN)`,
            fault: 'provider',
            pid: ev.pid,
            evidence: [['cleanup', call], ['return', ev]],
          })
        }
        if (!p) return
        const orphan = call !== undefined && orphanCleanups.delete(call)
        if (rc !== 0) return
        if (!orphan && p.ref === 0) {
          if (!p.known) return ctx.inconclusive('the trace began after the process started using the provider (its first traced call is not WSPStartupEx)')
          // Concurrent cleanups: the count reached 0 while this one was in progress.
          cleanupWithoutStartup(p, call ?? ev)
        }
        if (orphan || p.ref === 0) {
          ctx.report({
            message: `WSPCleanup succeeded in process ${p.pid} although no WSPStartupEx was in effect; the provider should fail it with ${errorName(WSANOTINITIALISED)}`,
            fault: 'provider',
            pid: p.pid,
            evidence: [['cleanup', call], ['return', ev]],
          })
          return
        }
        p.ref--
        p.open.shift()
        if (p.ref === 0) p.lastCleanup = ev
      },
      end: () => {
        for (const p of procs.values()) {
          flushGap(p)
          if (p.ref > 0) {
            ctx.report({
              message: `process ${p.pid} still had ${p.ref} WSPStartupEx not matched by WSPCleanup when the trace ended (the trace may be truncated, or the switch never cleaned up)`,
              severity: 'warning',
              fault: 'switch',
              pid: p.pid,
              ts: ctx.model.lastTs,
              evidence: p.open.slice(-3).map((e): [string, Ev] => ['unmatched startup', e]),
              measured: {unmatched: p.ref},
            })
          }
        }
      },
    }
  },
}
