/**
 * A small seeded pseudo-random generator (mulberry32) for the trace simulator: the same seed
 * gives the same trace on every platform and Node version. `fork(id)` derives an independent
 * stream from the generator's seed (not from its draws so far), so each simulated actor gets
 * its own stream and one actor's choices never shift another's.
 */

/** The 32-bit finalizer of splitmix/murmur3: spreads nearby inputs apart. */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return (x ^ (x >>> 16)) >>> 0
}

/** A 32-bit seed from a number (any safe integer) or a string (FNV-1a). */
export function seedFrom(seed: number | string): number {
  if (typeof seed === 'number') {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`)
    const lo = seed >>> 0
    const hi = Math.floor(seed / 4294967296) >>> 0
    return mix32(lo ^ mix32(hi ^ 0x5eed))
  }
  let h = 0x811c9dc5
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return mix32(h >>> 0)
}

export class Rng {
  private s: number
  /** The seed this stream started from (what `fork` derives from). */
  readonly base: number

  constructor(seed: number) {
    this.base = seed >>> 0
    this.s = this.base
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Integer in [lo, hi], both included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }

  /** Uniform real in [lo, hi). */
  real(lo: number, hi: number): number {
    return lo + this.next() * (hi - lo)
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]
  }

  /** Index into `weights` chosen with probability proportional to its weight. */
  weighted(weights: readonly number[]): number {
    let total = 0
    for (const w of weights) total += w
    let r = this.next() * total
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]
      if (r < 0) return i
    }
    return weights.length - 1
  }

  /** Fisher–Yates, in place. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1))
      const t = xs[i]
      xs[i] = xs[j]
      xs[j] = t
    }
    return xs
  }

  /** An independent stream for sub-stream `id`, derived from this stream's seed only. */
  fork(id: number): Rng {
    return new Rng(mix32(this.base ^ mix32(Math.imul(id + 1, 0x9e3779b1) >>> 0)))
  }
}
