/**
 * A latency histogram in bounded memory: logarithmic buckets 2% wide, so percentiles are
 * within 2% of the exact value whatever the number of samples. Min, max and sum are exact.
 */
const GROWTH = Math.log(1.02)

export class Histogram {
  private readonly buckets = new Map<number, number>()
  count = 0
  sum = 0
  min = Infinity
  max = -Infinity

  add(ns: number): void {
    const v = Math.max(1, ns)
    const b = Math.floor(Math.log(v) / GROWTH)
    this.buckets.set(b, (this.buckets.get(b) ?? 0) + 1)
    this.count++
    this.sum += ns
    if (ns < this.min) this.min = ns
    if (ns > this.max) this.max = ns
  }

  /** The q-quantile (0..1): the upper edge of the bucket holding it, clamped to [min, max]. */
  quantile(q: number): number {
    if (this.count === 0) return NaN
    const rank = Math.max(1, Math.ceil(q * this.count))
    const keys = [...this.buckets.keys()].sort((a, b) => a - b)
    let seen = 0
    for (const k of keys) {
      seen += this.buckets.get(k)!
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, Math.exp((k + 1) * GROWTH)))
    }
    return this.max
  }
}
