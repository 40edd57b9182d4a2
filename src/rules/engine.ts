/** Runs rule checkers over the modelled event stream, in one pass, with trace-time timers. */
import type {TimeBase} from '../ingest/build.js'
import type {Ev} from '../model/event.js'
import {describe} from '../model/fields.js'
import {Model, type Sock, type Step} from '../model/state.js'
import {formatOffset} from '../util/duration.js'
import type {AnalyzeOptionsForRules, EvidenceItem, Finding, FindingInput, Handler, RuleContext, RuleListener, RuleModule, RuleStatus, Severity} from './types.js'

interface Timer {
  ts: number
  seq: number
  fn: () => void
  unreached?: () => void
  /** Position in the timer heap; -1 once fired or cancelled. */
  pos: number
}

interface RuleRun {
  rule: RuleModule
  listener: RuleListener
  findings: number
  checked: number
  inconclusive: Map<string, number>
}

/** Role and addresses, with the ephemeral side's port dropped: stable across captures. */
export function socketIdentity(k: Sock): string {
  const host = (a?: string): string => (a ? a.replace(/:\d+$/, '') : '')
  const role = k.role ?? (k.state === 'UNKNOWN' ? 'pre-existing' : 'unknown')
  // A connecting socket's local port is ephemeral; an accepted socket's remote port is.
  const local = role === 'CONNECT' ? host(k.local) : (k.local ?? '')
  const remote = role === 'ACCEPTED' ? host(k.remote) : (k.remote ?? '')
  return `${role} ${local}>${remote}`
}

/** Findings kept with their evidence in one analysis; beyond it they are counted only. */
export const MAX_FINDINGS = 100_000

export interface EngineOptions {
  /** Thresholds per rule id, in nanoseconds. */
  thresholds: Record<string, Record<string, number>>
  severity?: Record<string, Severity>
  rules: AnalyzeOptionsForRules
  /** Findings kept in full (default MAX_FINDINGS). */
  maxFindings?: number
  /** Sees every modelled step after the rules (timeline and statistics views). */
  observe?: (step: Step) => void
}

export class Engine {
  readonly model: Model
  readonly findings: Finding[] = []
  private readonly runs: RuleRun[] = []
  private readonly handlers = new Map<string, Handler[]>()
  private readonly timers: Timer[] = []
  /** Findings kept with their details; more are only counted (by severity) in `dropped`. */
  readonly maxFindings: number
  readonly dropped: Record<Severity, number> = {error: 0, warning: 0, info: 0}
  private timerSeq = 0

  constructor(
    rules: RuleModule[],
    readonly opts: EngineOptions,
    private readonly timebase?: TimeBase,
  ) {
    this.model = new Model({cancelImpliesAbort: opts.rules.cancelImpliesAbort})
    this.maxFindings = opts.maxFindings ?? MAX_FINDINGS
    for (const rule of rules) {
      const run: RuleRun = {rule, listener: {}, findings: 0, checked: 0, inconclusive: new Map()}
      run.listener = rule.create(this.contextFor(run))
      this.runs.push(run)
    }
  }

  private contextFor(run: RuleRun): RuleContext {
    const meta = run.rule.meta
    const engine = this
    return {
      model: this.model,
      t: this.opts.thresholds[meta.id] ?? {},
      options: this.opts.rules,
      report(f: FindingInput) {
        run.findings++
        if (engine.findings.length < engine.maxFindings) engine.findings.push(engine.toFinding(run.rule, f))
        else {
          // Past the limit findings are counted, not kept: memory stays bounded.
          const sev = f.severity ?? engine.opts.severity?.[run.rule.meta.id] ?? run.rule.meta.severity
          engine.dropped[sev]++
        }
      },
      checked(n = 1) {
        run.checked += n
      },
      inconclusive(reason: string) {
        run.inconclusive.set(reason, (run.inconclusive.get(reason) ?? 0) + 1)
      },
      at(ts: number, fn: () => void, unreached?: () => void) {
        const t: Timer = {ts, seq: engine.timerSeq++, fn, unreached, pos: -1}
        engine.pushTimer(t)
        return t
      },
      cancel(h) {
        return h !== undefined && engine.removeTimer(h as Timer)
      },
      replace(h, fn, unreached) {
        const t = h as Timer | undefined
        if (t === undefined || t.pos < 0 || engine.timers[t.pos] !== t) return false
        t.fn = fn
        t.unreached = unreached
        return true
      },
    }
  }

  private handlersFor(ev: Ev): Handler[] {
    let hs = this.handlers.get(ev.key)
    if (!hs) {
      hs = []
      for (const run of this.runs) {
        for (const k of [ev.key, `${ev.kind}:*`, '*']) {
          const h = run.listener[k]
          if (typeof h === 'function') hs.push(h as Handler)
        }
      }
      this.handlers.set(ev.key, hs)
    }
    return hs
  }

  feed(batch: Ev[]): void {
    for (const ev of batch) {
      while (this.timers.length && this.timers[0].ts < ev.ts) this.popTimer().fn()
      const step: Step = this.model.apply(ev)
      const hs = this.handlersFor(ev)
      for (let j = 0; j < hs.length; j++) hs[j](step)
      this.opts.observe?.(step)
      this.model.settle(step)
    }
  }

  finish(): {findings: Finding[]; statuses: RuleStatus[]} {
    const last = this.model.lastTs
    while (this.timers.length) {
      const t = this.popTimer()
      if (t.ts <= last) t.fn()
      else t.unreached?.()
    }
    for (const run of this.runs) run.listener.end?.()
    this.findings.sort((a, b) => a.ts - b.ts || a.pid - b.pid || a.rule.localeCompare(b.rule))
    return {findings: this.findings, statuses: this.runs.map((r) => this.status(r))}
  }

  private status(run: RuleRun): RuleStatus {
    const m = run.rule.meta
    const inconclusive = [...run.inconclusive.values()].reduce((a, b) => a + b, 0)
    const inconclusiveText = [...run.inconclusive].map(([r, n]) => `${n} not judged: ${r}`).join('; ')
    const base = {rule: m.id, title: m.title, severity: this.opts.severity?.[m.id] ?? m.severity, findings: run.findings, checked: run.checked, inconclusive}
    if (run.findings > 0) return {...base, status: 'violated', reason: inconclusiveText || undefined}
    const unmet = m.needs.find((g) => !g.keys.some((k) => this.seenKey(k)))
    if (unmet) return {...base, status: 'not-evaluated', reason: `the trace has no ${unmet.why}`}
    if (run.checked === 0) {
      return {...base, status: 'not-evaluated', reason: inconclusive ? inconclusiveText : `no ${m.instance} in the trace`}
    }
    return {...base, status: 'passed', reason: inconclusiveText || undefined}
  }

  private seenKey(k: string): boolean {
    if (!k.endsWith(':*')) return this.model.seen.has(k)
    const prefix = k.slice(0, -1)
    for (const s of this.model.seen) if (s.startsWith(prefix)) return true
    return false
  }

  evidence(role: string, ev: Ev): EvidenceItem {
    return {
      role,
      index: ev.i,
      event: ev.event,
      fn: ev.fn,
      ts: ev.ts,
      time: formatOffset(ev.ts),
      tid: ev.tid,
      file: ev.src.file,
      line: ev.src.line,
      offset: ev.src.offset,
      text: describe(ev),
    }
  }

  private toFinding(rule: RuleModule, f: FindingInput): Finding {
    const ev = f.evidence.filter((e): e is [string, Ev] => e[1] !== undefined)
    const ts = f.ts ?? ev[ev.length - 1]?.[1].ts ?? this.model.lastTs
    const pid = f.sock?.pid ?? f.pid ?? ev[0]?.[1].pid ?? 0
    return {
      rule: rule.meta.id,
      title: rule.meta.title,
      severity: f.severity ?? this.opts.severity?.[rule.meta.id] ?? rule.meta.severity,
      fault: f.fault ?? rule.meta.fault,
      message: f.message,
      pid,
      socket: f.sock?.s,
      generation: f.sock?.gen,
      switchHandle: f.sock?.switchHandle,
      identity: f.sock ? socketIdentity(f.sock) : undefined,
      ts,
      time: this.timebase?.iso(ts) ?? formatOffset(ts),
      evidence: ev.map(([role, e]) => this.evidence(role, e)),
      measured: f.measured,
    }
  }

  /** Timer heap order: time, then scheduling order. */
  private static before(a: Timer, b: Timer): boolean {
    return a.ts < b.ts || (a.ts === b.ts && a.seq < b.seq)
  }

  private pushTimer(t: Timer): void {
    this.timers.push(t)
    this.siftUp(t, this.timers.length - 1)
  }

  private popTimer(): Timer {
    const top = this.timers[0]
    this.removeAt(0)
    return top
  }

  /** Takes a pending timer out of the heap; false when it already fired or was cancelled. */
  private removeTimer(t: Timer): boolean {
    if (t.pos < 0 || this.timers[t.pos] !== t) return false
    this.removeAt(t.pos)
    return true
  }

  private removeAt(k: number): void {
    const h = this.timers
    h[k].pos = -1
    const last = h.pop()!
    if (k === h.length) return
    // The last timer fills the hole, then moves up or down to its place.
    if (k > 0 && Engine.before(last, h[(k - 1) >> 1])) this.siftUp(last, k)
    else this.siftDown(last, k)
  }

  private siftUp(t: Timer, k: number): void {
    const h = this.timers
    while (k > 0) {
      const p = (k - 1) >> 1
      if (!Engine.before(t, h[p])) break
      h[k] = h[p]
      h[k].pos = k
      k = p
    }
    h[k] = t
    t.pos = k
  }

  private siftDown(t: Timer, k: number): void {
    const h = this.timers
    for (;;) {
      const l = 2 * k + 1
      const r = l + 1
      let m = -1
      let best = t
      if (l < h.length && Engine.before(h[l], best)) {
        m = l
        best = h[l]
      }
      if (r < h.length && Engine.before(h[r], best)) {
        m = r
        best = h[r]
      }
      if (m < 0) break
      h[k] = h[m]
      h[k].pos = k
      k = m
    }
    h[k] = t
    t.pos = k
  }
}
