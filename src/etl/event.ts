/**
 * The event object the reader produces. Values every consumer needs are plain properties; the
 * rest (BigInt timestamps and keyword, activity id strings, extended item views, the payload
 * view, rarely used header fields) are read from the record bytes on access, so the hot path
 * allocates one small object per event.
 */
import {formatGuid, isZeroGuid} from './guid.js'
import type {Clock} from './logfile.js'
import type {TlEventMeta, TlProviderMeta} from './tracelogging.js'
import type {EtlEvent, EtlExtendedItem, EtlRecordKind} from './types.js'

export class EtlEventRecord implements EtlEvent {
  declare kind: EtlRecordKind
  declare size: number
  declare providerGuid: string
  declare providerName: string | undefined
  declare eventName: string | undefined
  declare id: number
  declare version: number
  declare level: number
  declare opcode: number
  declare pid: number
  declare tid: number
  declare cpu: number
  declare pointerSize: number
  declare tsNs: number
  declare offset: number
  declare bufferOffset: number
  declare userDataLength: number
  declare fields: Record<string, unknown> | undefined
  declare fieldsError: string | undefined
  declare tl: TlEventMeta | undefined
  declare tlProvider: TlProviderMeta | undefined
  /** @internal record bytes (the decoded buffer) and position */
  declare private readonly _b: Uint8Array
  declare private readonly _pos: number
  declare private readonly _lo: number
  declare private readonly _hi: number
  declare private readonly _clock: Clock

  constructor(kind: EtlRecordKind, size: number, b: Uint8Array, pos: number, lo: number, hi: number, clock: Clock, tsNs: number, cpu: number, offset: number, bufferOffset: number) {
    this.kind = kind
    this.size = size
    this.providerGuid = ''
    this.providerName = undefined
    this.eventName = undefined
    this.id = 0
    this.version = 0
    this.level = 0
    this.opcode = 0
    this.pid = 0xffffffff
    this.tid = 0xffffffff
    this.cpu = cpu
    this.pointerSize = 8
    this.tsNs = tsNs
    this.offset = offset
    this.bufferOffset = bufferOffset
    this.userDataLength = 0
    this.fields = undefined
    this.fieldsError = undefined
    this.tl = undefined
    this.tlProvider = undefined
    this._b = b
    this._pos = pos
    this._lo = lo
    this._hi = hi
    this._clock = clock
  }

  private u16(o: number): number {
    const p = this._pos + o
    return this._b[p] | (this._b[p + 1] << 8)
  }

  private u32(o: number): number {
    const p = this._pos + o
    const b = this._b
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0
  }

  get posInBuffer(): number {
    return this._pos
  }

  get headerType(): number {
    return this._b[this._pos + 2]
  }

  get flags(): number {
    return this.kind === 'event-header' ? this.u16(4) : this.kind === 'wpp' ? this.u16(6) : 0
  }

  get eventProperty(): number {
    return this.kind === 'event-header' ? this.u16(6) : 0
  }

  get channel(): number {
    return this.kind === 'event-header' ? this._b[this._pos + 43] : 0
  }

  get task(): number {
    return this.kind === 'event-header' ? this.u16(46) : 0
  }

  get keyword(): bigint {
    if (this.kind !== 'event-header') return 0n
    const lo = this.u32(48)
    const hi = this.u32(52)
    return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo)
  }

  get hookId(): number {
    return this.kind === 'system' || this.kind === 'compact' || this.kind === 'perfinfo' ? this.u16(6) : 0
  }

  get kernelTime(): number {
    switch (this.kind) {
      case 'event-header':
        return this.u32(56)
      case 'system':
        return this.u32(24)
      case 'full':
      case 'instance':
        return this.u32(40)
      default:
        return 0
    }
  }

  get userTime(): number {
    switch (this.kind) {
      case 'event-header':
        return this.u32(60)
      case 'system':
        return this.u32(28)
      case 'full':
      case 'instance':
        return this.u32(44)
      default:
        return 0
    }
  }

  get sequence(): number | undefined {
    return this.kind === 'wpp' && this.u16(6) & 1 && this.size >= 12 ? this.u32(8) : undefined
  }

  get timestampRaw(): bigint {
    return rawTimestamp(this._lo, this._hi)
  }

  get tsAbsNs(): bigint {
    if (Number.isSafeInteger(this.tsNs)) return this._clock.baseNs + BigInt(this.tsNs)
    return this._clock.absNsBig(this.timestampRaw)
  }

  get activityId(): string | undefined {
    if (this.kind !== 'event-header') return undefined
    const p = this._pos + 64
    return isZeroGuid(this._b, p) ? undefined : formatGuid(this._b, p)
  }

  get extended(): EtlExtendedItem[] | undefined {
    const b = this._b
    const pos = this._pos
    if (this.kind === 'instance') return [{type: 0x0004, data: b.subarray(pos + 0x30, pos + 0x48)}]
    if (this.kind !== 'event-header' || (this.u16(4) & 1) === 0) return undefined
    const ext: EtlExtendedItem[] = []
    const end = pos + this.size
    let q = pos + 0x50
    let linkage = 1
    while (linkage & 1 && q + 8 <= end) {
      const itemSize = b[q] | (b[q + 1] << 8)
      const type = b[q + 2] | (b[q + 3] << 8)
      linkage = b[q + 4] | (b[q + 5] << 8)
      const dataSize = b[q + 6] | (b[q + 7] << 8)
      if (itemSize < 8 || q + itemSize > end || 8 + dataSize > itemSize) break
      ext.push({type, data: b.subarray(q + 8, q + 8 + dataSize)})
      q += itemSize
    }
    return ext
  }

  get relatedActivityId(): string | undefined {
    const ext = this.extended
    if (!ext) return undefined
    for (const it of ext) if (it.type === 1 && it.data.length >= 16) return formatGuid(it.data, 0)
    return undefined
  }

  /** The user data (a view into the buffer; copy it to keep it past the batch). */
  get payloadBytes(): Uint8Array {
    const end = this._pos + this.size
    return this._b.subarray(end - this.userDataLength, end)
  }

  /** The whole record (header, extended items, user data), a view into the buffer. */
  get recordBytes(): Uint8Array {
    return this._b.subarray(this._pos, this._pos + this.size)
  }
}

/**
 * What the reader yields, with {@link EtlOptions.tlFast}, for a record a compiled decoder took:
 * the envelope and the decoder's result (`tlFast`), nothing else. Only consumers that pass
 * `tlFast` see these, and tell them apart by class (`instanceof EtlFastRecord`). With
 * `tlFastEmit` as well, the batches may also hold what that callback returned for them.
 */
/** A record's 64-bit raw timestamp from its two 32-bit halves (a Number on the way when exact). */
function rawTimestamp(lo: number, hi: number): bigint {
  return hi < 0x200000 ? BigInt(hi * 4294967296 + lo) : (BigInt(hi) << 32n) | BigInt(lo)
}

export class EtlFastRecord {
  declare readonly eventName: string
  declare readonly providerName: string | undefined
  declare readonly providerGuid: string
  declare readonly pid: number
  declare readonly tid: number
  declare readonly cpu: number
  declare readonly tsNs: number
  declare readonly offset: number
  declare readonly tlFast: unknown
  declare private readonly _clock: Clock
  /** The raw timestamp, kept only when tsNs is not exact (no per-event number otherwise). */
  declare private readonly _raw: bigint | undefined

  constructor(eventName: string, providerName: string | undefined, providerGuid: string, pid: number, tid: number, cpu: number, tsNs: number, offset: number, tlFast: unknown, clock: Clock, lo: number, hi: number) {
    this.eventName = eventName
    this.providerName = providerName
    this.providerGuid = providerGuid
    this.pid = pid
    this.tid = tid
    this.cpu = cpu
    this.tsNs = tsNs
    this.offset = offset
    this.tlFast = tlFast
    this._clock = clock
    this._raw = Number.isSafeInteger(tsNs) ? undefined : rawTimestamp(lo, hi)
  }

  get tsAbsNs(): bigint {
    if (this._raw === undefined) return this._clock.baseNs + BigInt(this.tsNs)
    return this._clock.absNsBig(this._raw)
  }
}

/** The reused envelope given to {@link EtlOptions.tlFastEmit} (one per reader, rewritten per event). */
export class EtlFastViewRecord {
  eventName = ''
  providerName: string | undefined = undefined
  providerGuid = ''
  pid = 0
  tid = 0
  cpu = 0
  tsNs = 0
  offset = 0
  tlFast: unknown = undefined
  lo = 0
  hi = 0

  constructor(private readonly clock: Clock) {}

  /** A record of its own, as the reader yields without tlFastEmit. */
  copy(): EtlFastRecord {
    return new EtlFastRecord(this.eventName, this.providerName, this.providerGuid, this.pid, this.tid, this.cpu, this.tsNs, this.offset, this.tlFast, this.clock, this.lo, this.hi)
  }

  get tsAbsNs(): bigint {
    if (Number.isSafeInteger(this.tsNs)) return this.clock.baseNs + BigInt(this.tsNs)
    return this.clock.absNsBig(rawTimestamp(this.lo, this.hi))
  }
}
