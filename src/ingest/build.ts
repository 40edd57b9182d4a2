/** Turns raw event objects (JSON, or records decoded from .etl) into normalized events. */
import {EVENT_KINDS, type Ev, type Src, type Value} from '../model/event.js'
import {normalizeFields} from '../model/fields.js'
import {InputError} from '../util/errors.js'
import type {Diagnostics} from './diagnostics.js'
import type {EventValidator} from './validate.js'

/**
 * The analysis-wide time origin. Absolute times (RFC 3339, ETW) are placed relative to the
 * first absolute time read; integer times count from their own file's start.
 */
export class TimeBase {
  origin?: bigint

  rel(abs: bigint): number {
    if (this.origin === undefined) this.origin = abs
    return Number(abs - this.origin)
  }

  private splitBase?: bigint
  private splitOff = 0
  private splitExact = false

  /**
   * rel(base + ns) without BigInt arithmetic per event (`ns` a safe integer): the same Number,
   * since both round the exact difference to the nearest double.
   */
  relSplit(base: bigint, ns: number): number {
    if (this.origin === undefined) return this.rel(base + BigInt(ns))
    if (base !== this.splitBase) {
      const d = base - this.origin
      this.splitBase = base
      this.splitExact = d >= -9007199254740991n && d <= 9007199254740991n
      this.splitOff = Number(d)
    }
    return this.splitExact ? this.splitOff + ns : Number(base + BigInt(ns) - this.origin)
  }

  /** ISO 8601 rendering of a relative time, when an absolute origin is known. */
  iso(ts: number): string | undefined {
    if (this.origin === undefined) return undefined
    const abs = this.origin + BigInt(Math.round(ts))
    const ms = abs / 1_000_000n
    const frac = (abs % 1_000_000_000n).toString().padStart(9, '0')
    return new Date(Number(ms)).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`)
  }
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/

/** Nanoseconds since the Unix epoch of an RFC 3339 time, or undefined when malformed. */
export function parseRfc3339(s: string): bigint | undefined {
  const m = RFC3339.exec(s)
  if (!m) return undefined
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])
  if (Number.isNaN(ms)) return undefined
  let ns = BigInt(ms) * 1_000_000n + BigInt((m[7] ?? '').padEnd(9, '0') || '0')
  if (m[9]) {
    const off = (Number(m[10]) * 60 + Number(m[11])) * 60_000_000_000
    ns -= BigInt(m[9] === '+' ? off : -off)
  }
  return ns
}

/** Dispatch keys, interned: one string per (kind, name) instead of one per event. */
const KEYS = new Map<string, Map<string, string>>()

function keyOf(kind: string, fn: string): string {
  let m = KEYS.get(kind)
  if (!m) KEYS.set(kind, (m = new Map()))
  let k = m.get(fn)
  if (k === undefined) {
    k = `${kind}:${fn}`
    // Names come from the input: keep the table bounded on hostile traces.
    if (m.size < 4096) m.set(fn, k)
  }
  return k
}

export class EventBuilder {
  private tsForm?: 'int' | 'abs'
  private ordinal = 0
  events = 0
  skipped = 0

  /** Absolute time of ts 0 for integer timestamps (from a header's startTime). */
  startAbs?: bigint
  private readonly diag: Diagnostics
  /** The context the validator is read from when first needed (.etl fast paths may never need it). */
  private readonly ctx: {validator: EventValidator}
  private readonly timebase: TimeBase
  /** SAN provider ids from the configuration: SPI events of other providers are skipped. */
  private readonly sanProviders?: Set<string>

  constructor(
    readonly file: string,
    ctx: {diag: Diagnostics; validator: EventValidator; timebase: TimeBase; sanProviders?: Set<string>},
  ) {
    this.diag = ctx.diag
    this.ctx = ctx
    this.timebase = ctx.timebase
    this.sanProviders = ctx.sanProviders
  }

  private fail(src: Src, reason: string, message: string, pointer?: string): undefined {
    this.skipped++
    const p = {file: src.file, line: src.line, offset: src.offset, pointer, reason, message}
    if (this.diag.strict) {
      throw new InputError(src.file, `${pointer !== undefined ? `${pointer || '/'}: ` : ''}${message}`, {line: src.line, offset: src.offset})
    }
    this.diag.skip(p)
    return undefined
  }

  /** Reports an unparsable line or element. */
  invalidJson(src: Src, message: string): void {
    this.fail(src, 'invalid JSON', message)
  }

  /** Validates and normalizes one JSON event object; undefined (counted) when it is skipped. */
  fromJson(raw: unknown, src: Src): Ev | undefined {
    const bad = this.ctx.validator.validate(raw)
    if (bad) {
      const reason = bad.pointer === '/event' && bad.message.startsWith('unknown event') ? 'unknown event' : bad.pointer === '/event' || /missing required/.test(bad.message) ? 'missing field' : 'invalid field'
      return this.fail(src, reason, bad.message, bad.pointer)
    }
    const r = raw as Record<string, unknown>
    let ts: number
    if (typeof r.ts === 'number') {
      if (this.tsForm === 'abs') return this.fail(src, 'mixed timestamp forms', 'integer ts in a file that uses RFC 3339 times (one file uses one form)', '/ts')
      this.tsForm = 'int'
      ts = this.startAbs !== undefined ? this.timebase.rel(this.startAbs + BigInt(r.ts)) : r.ts
    } else {
      if (this.tsForm === 'int') return this.fail(src, 'mixed timestamp forms', 'RFC 3339 ts in a file that uses integer times (one file uses one form)', '/ts')
      const abs = parseRfc3339(r.ts as string)
      if (abs === undefined) return this.fail(src, 'invalid field', `expected an RFC 3339 time, got ${JSON.stringify(r.ts)}`, '/ts')
      this.tsForm = 'abs'
      ts = this.timebase.rel(abs)
    }
    return this.make(r, ts, src)
  }

  /** A record decoded from .etl: already typed, with its absolute time from the ETW header. */
  fromRecord(r: Record<string, unknown>, tsAbsNs: bigint, src: Src): Ev | undefined {
    // ETW headers always carry a thread; 0 (the idle thread) means a trace written without one.
    if (r.tid === 0) r.tid = undefined
    // The schema requires a ts; the record's time comes from its ETW header instead.
    r.ts = 0
    const bad = this.ctx.validator.validate(r)
    if (bad) return this.fail(src, bad.pointer === '/event' ? 'unknown event' : 'invalid field', bad.message, bad.pointer)
    return this.make(r, this.timebase.rel(tsAbsNs), src)
  }

  /**
   * An event whose fields a trusted layout decoded straight to their normalized form (src/etl/
   * sanfast.ts): valid by construction, so it is what fromRecord + make would have produced.
   */
  fromFast(event: string, provider: string, pid: number, tid: number, cpu: number, f: Record<string, Value>, ts: number, src: Src): Ev {
    return this.ev(event, provider, pid, tid === 0 ? undefined : tid, cpu, f, ts, src)
  }

  private make(r: Record<string, unknown>, ts: number, src: Src): Ev | undefined {
    const event = r.event as string
    const pidv = r.ProviderId
    if (this.sanProviders && typeof pidv === 'string' && !this.sanProviders.has(pidv.toLowerCase())) {
      this.skipped++
      this.diag.skip({file: src.file, line: src.line, offset: src.offset, pointer: '/ProviderId', reason: 'not a SAN provider', message: `ProviderId ${pidv} is not among the configured sanProviders`})
      return undefined
    }
    const f = normalizeFields(r)
    const kind = EVENT_KINDS[event].kind
    const provider = (r.provider as string | undefined) ?? (kind === 'app' || kind === 'sw' || kind === 'tcp' ? 'WSD.SwitchShim' : 'WSD.SanSpi')
    return this.ev(event, provider, r.pid as number, r.tid as number | undefined, r.cpu as number | undefined, f, ts, src)
  }

  /** The normalized event: built in this one place, so every event has the same object shape. */
  private ev(event: string, provider: string, pid: number, tid: number | undefined, cpu: number | undefined, f: Record<string, Value>, ts: number, src: Src): Ev {
    const k = EVENT_KINDS[event]
    const fn = k.name ?? (typeof f.Fn === 'string' ? f.Fn : typeof f.Up === 'string' ? f.Up : event)
    this.events++
    return {
      i: this.ordinal++,
      ts,
      pid,
      tid,
      cpu,
      provider,
      event,
      kind: k.kind,
      fn,
      key: keyOf(k.kind, fn),
      seq: typeof f.Seq === 'number' ? f.Seq : undefined,
      f,
      src,
    }
  }
}
