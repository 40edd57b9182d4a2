/**
 * The event object the reader produces. Cheap fields are plain properties; values that cost an
 * allocation (BigInt timestamps, GUID strings of activity ids, extended item views, payload
 * view) are computed on first access from the record bytes the event keeps a reference to.
 */
import {formatGuid, isZeroGuid} from './guid.js'
import type {Clock} from './logfile.js'
import type {TlEventMeta, TlProviderMeta} from './tracelogging.js'
import type {EtlEvent, EtlExtendedItem, EtlRecordKind} from './types.js'

export class EtlEventRecord implements EtlEvent {
  kind: EtlRecordKind
  headerType: number
  size: number
  providerGuid: string
  providerName: string | undefined
  eventName: string | undefined
  id: number
  version: number
  channel: number
  level: number
  opcode: number
  task: number
  keyword: bigint
  flags: number
  eventProperty: number
  hookId: number
  pid: number
  tid: number
  cpu: number
  pointerSize: number
  kernelTime: number
  userTime: number
  tsNs: number
  offset: number
  bufferOffset: number
  posInBuffer: number
  userDataLength: number
  fields: Record<string, unknown> | undefined
  fieldsError: string | undefined
  tl: TlEventMeta | undefined
  tlProvider: TlProviderMeta | undefined
  sequence: number | undefined
  /** @internal record bytes */
  private readonly _b: Uint8Array
  /** @internal */
  private readonly _lo: number
  /** @internal */
  private readonly _hi: number
  /** @internal */
  private readonly _clock: Clock
  /** @internal */
  private _ext: EtlExtendedItem[] | undefined | null = null

  constructor(
    kind: EtlRecordKind,
    headerType: number,
    size: number,
    b: Uint8Array,
    pos: number,
    udStart: number,
    lo: number,
    hi: number,
    clock: Clock,
    tsNs: number,
    cpu: number,
    offset: number,
    bufferOffset: number,
  ) {
    this.kind = kind
    this.headerType = headerType
    this.size = size
    this.providerGuid = ''
    this.providerName = undefined
    this.eventName = undefined
    this.id = 0
    this.version = 0
    this.channel = 0
    this.level = 0
    this.opcode = 0
    this.task = 0
    this.keyword = 0n
    this.flags = 0
    this.eventProperty = 0
    this.hookId = 0
    this.pid = 0xffffffff
    this.tid = 0xffffffff
    this.cpu = cpu
    this.pointerSize = 8
    this.kernelTime = 0
    this.userTime = 0
    this.tsNs = tsNs
    this.offset = offset
    this.bufferOffset = bufferOffset
    this.posInBuffer = pos
    this.userDataLength = pos + size - udStart
    this.fields = undefined
    this.fieldsError = undefined
    this.tl = undefined
    this.tlProvider = undefined
    this.sequence = undefined
    this._b = b
    this._lo = lo
    this._hi = hi
    this._clock = clock
  }

  get timestampRaw(): bigint {
    const hi = this._hi
    return hi < 0x200000 ? BigInt(hi * 4294967296 + this._lo) : (BigInt(hi) << 32n) | BigInt(this._lo)
  }

  get tsAbsNs(): bigint {
    if (Number.isSafeInteger(this.tsNs)) return this._clock.baseNs + BigInt(this.tsNs)
    return this._clock.absNsBig(this.timestampRaw)
  }

  get activityId(): string | undefined {
    if (this.kind !== 'event-header') return undefined
    const p = this.posInBuffer + 64
    return isZeroGuid(this._b, p) ? undefined : formatGuid(this._b, p)
  }

  get extended(): EtlExtendedItem[] | undefined {
    if (this._ext !== null) return this._ext
    const b = this._b
    const pos = this.posInBuffer
    let ext: EtlExtendedItem[] | undefined
    if (this.kind === 'event-header' && this.flags & 1) {
      ext = []
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
    } else if (this.kind === 'instance') ext = [{type: 0x0004, data: b.subarray(pos + 0x30, pos + 0x48)}]
    this._ext = ext
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
    const end = this.posInBuffer + this.size
    return this._b.subarray(end - this.userDataLength, end)
  }

  /** The whole record (header, extended items, user data), a view into the buffer. */
  get recordBytes(): Uint8Array {
    return this._b.subarray(this.posInBuffer, this.posInBuffer + this.size)
  }
}
