/**
 * Time order. Each file is put in order through a bounded reorder window (writers on several
 * threads or CPUs interleave slightly); several files are merged by time, ties keeping file
 * order. Memory is bounded by the window, not by trace length.
 */
import type {Ev} from '../model/event.js'

export const REORDER_WINDOW = 4096

export class Reorderer {
  private buf: Ev[] = []
  private lastEmitted = -Infinity
  /** Events that arrived earlier than their predecessor in the file. */
  outOfOrder = 0
  /** Events older than something already passed on: processed late, at their file position. */
  late = 0

  constructor(private readonly window = REORDER_WINDOW) {}

  push(ev: Ev): void {
    const buf = this.buf
    const n = buf.length
    if (n === 0 || ev.ts >= buf[n - 1].ts) {
      buf.push(ev)
      return
    }
    this.outOfOrder++
    if (ev.ts < this.lastEmitted) {
      this.late++
      buf.unshift(ev)
      return
    }
    // Upper bound: after every buffered event with ts <= ev.ts, so ties keep file order.
    let lo = 0
    let hi = n
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (buf[mid].ts <= ev.ts) lo = mid + 1
      else hi = mid
    }
    buf.splice(lo, 0, ev)
  }

  /** Events that can no longer be overtaken by a later arrival within the window. */
  ready(): Ev[] | undefined {
    if (this.buf.length < this.window * 2) return undefined
    return this.emit(this.buf.splice(0, this.buf.length - this.window))
  }

  flush(): Ev[] {
    const out = this.buf
    this.buf = []
    return this.emit(out)
  }

  private emit(out: Ev[]): Ev[] {
    if (out.length) this.lastEmitted = Math.max(this.lastEmitted, out[out.length - 1].ts)
    return out
  }
}

interface Cursor {
  it: AsyncIterator<Ev[]>
  batch: Ev[]
  pos: number
  order: number
}

/** Merges time-ordered batch streams into one, renumbering `i` in analysis order. */
export async function* mergeByTime(sources: AsyncIterable<Ev[]>[], batchSize = 4096): AsyncGenerator<Ev[]> {
  let i = 0
  if (sources.length === 1) {
    for await (const b of sources[0]) {
      for (const ev of b) ev.i = i++
      if (b.length) yield b
    }
    return
  }
  const heap: Cursor[] = []
  const less = (a: Cursor, b: Cursor): boolean => {
    const x = a.batch[a.pos]
    const y = b.batch[b.pos]
    return x.ts < y.ts || (x.ts === y.ts && (a.order < b.order || (a.order === b.order && x.i < y.i)))
  }
  const up = (k: number): void => {
    while (k > 0) {
      const p = (k - 1) >> 1
      if (!less(heap[k], heap[p])) break
      ;[heap[k], heap[p]] = [heap[p], heap[k]]
      k = p
    }
  }
  const down = (k: number): void => {
    for (;;) {
      const l = 2 * k + 1
      const r = l + 1
      let m = k
      if (l < heap.length && less(heap[l], heap[m])) m = l
      if (r < heap.length && less(heap[r], heap[m])) m = r
      if (m === k) return
      ;[heap[k], heap[m]] = [heap[m], heap[k]]
      k = m
    }
  }
  const refill = async (c: Cursor): Promise<boolean> => {
    for (;;) {
      const n = await c.it.next()
      if (n.done) return false
      if (n.value.length) {
        c.batch = n.value
        c.pos = 0
        return true
      }
    }
  }
  for (let order = 0; order < sources.length; order++) {
    const c: Cursor = {it: sources[order][Symbol.asyncIterator](), batch: [], pos: 0, order}
    if (await refill(c)) {
      heap.push(c)
      up(heap.length - 1)
    }
  }
  let out: Ev[] = []
  while (heap.length) {
    const c = heap[0]
    const ev = c.batch[c.pos++]
    ev.i = i++
    out.push(ev)
    if (c.pos >= c.batch.length && !(await refill(c))) {
      const last = heap.pop()!
      if (heap.length) {
        heap[0] = last
        down(0)
      }
    } else {
      down(0)
    }
    if (out.length >= batchSize) {
      yield out
      out = []
    }
  }
  if (out.length) yield out
}
