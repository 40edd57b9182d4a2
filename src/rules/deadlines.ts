/**
 * Cancellable deadlines for one rule. The engine's timers (`ctx.at`) cannot be cancelled: a
 * timer keeps its closures, and whatever they reach (sockets, calls, events), until its time
 * comes, even when what it watches was resolved long before. With a threshold of a minute that
 * is a minute of trace of dead state. A rule's deadlines are kept here instead, in time order,
 * with a single engine timer armed for the earliest: a cancelled deadline is forgotten at once,
 * so memory follows what is still awaited.
 *
 * Deadlines fire exactly when engine timers would: before the first event later than their
 * time, or at the end of the analysis when the trace reached it; `unreached` runs for those
 * beyond the end of the trace. Deadlines of one rule keep their order (time, then scheduling).
 */
import type {RuleContext} from './types.js'

export interface Deadline {
  readonly ts: number
}

interface Entry extends Deadline {
  fn?: () => void
  unreached?: () => void
}

export class Deadlines {
  /** Pending deadlines, in time order (a Set keeps insertion order and deletes in O(1)). */
  private readonly queue = new Set<Entry>()
  /** Time of the latest deadline queued: later ones append in order. */
  private tail = -Infinity
  private armed = false

  constructor(private readonly ctx: Pick<RuleContext, 'at'>) {}

  /** Deadlines still pending (introspection for tests). */
  get size(): number {
    return this.queue.size
  }

  /** Calls `fn` at trace time `ts` (or `unreached` if the trace ends before it), unless cancelled first. */
  at(ts: number, fn: () => void, unreached?: () => void): Deadline {
    const e: Entry = {ts, fn, unreached}
    if (ts < this.tail) {
      // Out of order (a deadline earlier than one already queued): an engine timer of its own,
      // which holds only the entry, emptied by cancel().
      this.ctx.at(
        ts,
        () => e.fn?.(),
        () => e.unreached?.(),
      )
      return e
    }
    this.tail = ts
    this.queue.add(e)
    if (!this.armed) this.arm(ts)
    return e
  }

  /** Forgets a deadline that can no longer matter (its callbacks would do nothing). */
  cancel(d: Deadline | undefined): void {
    if (!d) return
    const e = d as Entry
    this.queue.delete(e)
    e.fn = e.unreached = undefined
  }

  private arm(ts: number): void {
    this.armed = true
    this.ctx.at(
      ts,
      () => this.fire(ts),
      () => this.end(),
    )
  }

  private first(): Entry | undefined {
    for (const e of this.queue) return e
    return undefined
  }

  /** The armed timer at `now` fired: run every deadline due, then arm for the next one. */
  private fire(now: number): void {
    for (let e = this.first(); e && e.ts <= now; e = this.first()) {
      this.queue.delete(e)
      const fn = e.fn
      e.fn = e.unreached = undefined
      fn?.()
    }
    this.armed = false
    const next = this.first()
    if (next) this.arm(next.ts)
  }

  /** The trace ended before the armed time: every deadline left is unreached. */
  private end(): void {
    this.armed = false
    for (let e = this.first(); e; e = this.first()) {
      this.queue.delete(e)
      const u = e.unreached
      e.fn = e.unreached = undefined
      u?.()
    }
  }
}
