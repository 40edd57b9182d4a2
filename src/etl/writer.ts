/**
 * ETL writer: writes .etl files of TraceLogging (and raw) event records laid out as Windows
 * does (etl-format.md): a header buffer whose first record is the SYSTEM_TRACE_HEADER +
 * TRACE_LOGFILE_HEADER, per-CPU data buffers with 8-byte record alignment and 0xFF fill,
 * optionally XPRESS-compressed buffers (relogger layout: on-disk BufferSize = 72 + compressed
 * length, SavedOffset = uncompressed size). Memory: one open buffer per CPU.
 *
 * Also `writeSanEtl`, the inverse of san.ts for the SAN providers.
 */
import {open, type FileHandle} from 'node:fs/promises'
import {guidToBytes, providerGuidBytesFromName} from './guid.js'
import {FILETIME_UNIX_EPOCH} from './logfile.js'
import {SAN_FIELD_KINDS, type SanFieldKind} from './san.js'
import {ARITY_CCOUNT, ARITY_CUSTOM, ARITY_VCOUNT, TL_IN, TL_OUT, encodeCp1252, type TlField, type TlProviderTrait, type TlSystemTime} from './tracelogging.js'
import {compressXpress} from './xpress.js'

const H = 72

/** Growable little-endian byte sink. */
export class ByteSink {
  buf: Uint8Array
  dv: DataView
  len = 0
  constructor(cap = 256) {
    this.buf = new Uint8Array(cap)
    this.dv = new DataView(this.buf.buffer)
  }
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return
    let c = this.buf.length * 2
    while (c < this.len + n) c *= 2
    const nb = new Uint8Array(c)
    nb.set(this.buf.subarray(0, this.len))
    this.buf = nb
    this.dv = new DataView(nb.buffer)
  }
  u8(v: number): this {
    this.room(1)
    this.buf[this.len++] = v & 0xff
    return this
  }
  u16(v: number): this {
    this.room(2)
    this.dv.setUint16(this.len, v & 0xffff, true)
    this.len += 2
    return this
  }
  u32(v: number): this {
    this.room(4)
    this.dv.setUint32(this.len, v >>> 0, true)
    this.len += 4
    return this
  }
  u64(v: bigint): this {
    this.room(8)
    this.dv.setBigUint64(this.len, BigInt.asUintN(64, v), true)
    this.len += 8
    return this
  }
  f32(v: number): this {
    this.room(4)
    this.dv.setFloat32(this.len, v, true)
    this.len += 4
    return this
  }
  f64(v: number): this {
    this.room(8)
    this.dv.setFloat64(this.len, v, true)
    this.len += 8
    return this
  }
  raw(b: Uint8Array): this {
    this.room(b.length)
    this.buf.set(b, this.len)
    this.len += b.length
    return this
  }
  zeros(n: number): this {
    this.room(n)
    this.buf.fill(0, this.len, this.len + n)
    this.len += n
    return this
  }
  align(n: number): this {
    const pad = (n - (this.len % n)) % n
    return this.zeros(pad)
  }
  setU16(at: number, v: number): void {
    this.dv.setUint16(at, v, true)
  }
  bytes(): Uint8Array {
    return this.buf.slice(0, this.len)
  }
}

function cstr(s: ByteSink, t: string): void {
  s.raw(Buffer.from(t, 'utf8')).u8(0)
}

function tagBytes(s: ByteSink, value: number, n: number): void {
  if (n <= 0) {
    // minimal encoding
    n = 1
    for (let k = 1; k < 4; k++) if (value % 2 ** (21 - 7 * (k - 1)) !== 0) n = k + 1
  }
  for (let i = 0; i < n; i++) {
    const b = Math.floor(value / 2 ** (21 - 7 * i)) & 0x7f
    s.u8(i < n - 1 ? b | 0x80 : b)
  }
}

/** Field definition for the writer (TlField of a decoded event also fits). */
export interface TlFieldDef {
  name: string
  inType: number
  outType?: number
  /** 0 scalar, 0x20 constant count, 0x40 variable count, 0x60 custom. */
  arity?: number
  ccount?: number
  tags?: number
  /** Emit the OutMeta byte even when OutType is 0 (as decoded metadata says). */
  hasOutMeta?: boolean
  hasTags?: boolean
  tagBytes?: number
  schema?: Uint8Array
}

export interface TlEventDef {
  name: string
  tags?: number
  tagBytes?: number
  fields: TlFieldDef[]
}

/** Encodes an event metadata blob (EVENT_SCHEMA_TL, §9.2). */
export function encodeEventMetadata(def: TlEventDef): Uint8Array {
  const s = new ByteSink(64)
  s.u16(0)
  tagBytes(s, def.tags ?? 0, def.tagBytes ?? 0)
  cstr(s, def.name)
  for (const f of def.fields) {
    cstr(s, f.name)
    const out = f.outType ?? 0
    const hasTags = f.hasTags ?? (f.tags !== undefined && f.tags !== 0)
    const hasOut = f.hasOutMeta ?? (out !== 0 || hasTags || f.inType === TL_IN.Struct)
    s.u8((f.inType & 0x1f) | ((f.arity ?? 0) & 0x60) | (hasOut ? 0x80 : 0))
    if (hasOut) {
      s.u8((out & 0x7f) | (hasTags ? 0x80 : 0))
      if (hasTags) tagBytes(s, f.tags ?? 0, f.tagBytes ?? 0)
    }
    if ((f.arity ?? 0) === ARITY_CCOUNT) s.u16(f.ccount ?? 0)
    else if ((f.arity ?? 0) === ARITY_CUSTOM) {
      const sc = f.schema ?? new Uint8Array(0)
      s.u16(sc.length).raw(sc)
    }
  }
  s.setU16(0, s.len)
  return s.bytes()
}

/** Encodes a provider traits blob (PROV_TRAITS, §9.3). */
export function encodeProviderTraits(name: string, traits: TlProviderTrait[] = []): Uint8Array {
  const s = new ByteSink(64)
  s.u16(0)
  cstr(s, name)
  for (const t of traits) s.u16(3 + t.data.length).u8(t.type).raw(t.data)
  s.setU16(0, s.len)
  return s.bytes()
}

function isUtf8(out: number): boolean {
  return out === TL_OUT.Utf8 || out === TL_OUT.Xml || out === TL_OUT.Json
}

function toBig(v: unknown): bigint {
  if (typeof v === 'bigint') return v
  if (typeof v === 'boolean') return v ? 1n : 0n
  if (typeof v === 'string') return BigInt(v)
  return BigInt(Math.trunc(Number(v ?? 0)))
}

function toNum(v: unknown): number {
  if (typeof v === 'boolean') return v ? 1 : 0
  if (typeof v === 'bigint') return Number(BigInt.asUintN(32, v))
  if (typeof v === 'string') return v.startsWith('0x') ? Number(BigInt(v)) : Number(v)
  return Number(v ?? 0)
}

function sidBytes(s: string): Uint8Array {
  const m = /^S-(\d+)-(\d+)((?:-\d+)*)$/.exec(s)
  if (!m) throw new Error(`not a SID: ${s}`)
  const subs = m[3] ? m[3].slice(1).split('-').map(Number) : []
  const out = new ByteSink(8 + 4 * subs.length)
  out.u8(Number(m[1])).u8(subs.length)
  let auth = Number(m[2])
  const a: number[] = []
  for (let i = 0; i < 6; i++) {
    a.unshift(auth % 256)
    auth = Math.floor(auth / 256)
  }
  for (const x of a) out.u8(x)
  for (const x of subs) out.u32(x)
  return out.bytes()
}

function encodeValue(s: ByteSink, inType: number, outType: number, v: unknown, ptr: number): void {
  switch (inType) {
    case TL_IN.UnicodeString:
      s.raw(Buffer.from(String(v ?? ''), 'utf16le')).u16(0)
      return
    case TL_IN.AnsiString:
      s.raw(isUtf8(outType) ? Buffer.from(String(v ?? ''), 'utf8') : encodeCp1252(String(v ?? ''))).u8(0)
      return
    case TL_IN.Int8:
    case TL_IN.UInt8:
      s.u8(toNum(v))
      return
    case TL_IN.Int16:
    case TL_IN.UInt16:
      s.u16(toNum(v))
      return
    case TL_IN.Int32:
    case TL_IN.UInt32:
    case TL_IN.HexInt32:
    case TL_IN.Bool32:
      s.u32(typeof v === 'bigint' ? Number(BigInt.asUintN(32, v)) : toNum(v))
      return
    case TL_IN.Int64:
    case TL_IN.UInt64:
    case TL_IN.HexInt64:
    case TL_IN.FileTime:
      s.u64(toBig(v))
      return
    case TL_IN.Float:
      s.f32(Number(v))
      return
    case TL_IN.Double:
      s.f64(Number(v))
      return
    case TL_IN.Binary:
    case TL_IN.CountedBinary: {
      const b = v instanceof Uint8Array ? v : new Uint8Array(0)
      s.u16(b.length).raw(b)
      return
    }
    case TL_IN.Guid:
      s.raw(guidToBytes(String(v)))
      return
    case TL_IN.Pointer:
      if (ptr === 4) s.u32(toNum(v))
      else s.u64(toBig(v))
      return
    case TL_IN.SystemTime: {
      const t = v as TlSystemTime
      s.u16(t.year).u16(t.month).u16(t.dayOfWeek).u16(t.day).u16(t.hour).u16(t.minute).u16(t.second).u16(t.milliseconds)
      return
    }
    case TL_IN.Sid:
      s.raw(sidBytes(String(v)))
      return
    case TL_IN.CountedString: {
      const b = Buffer.from(String(v ?? ''), 'utf16le')
      s.u16(b.length).raw(b)
      return
    }
    case TL_IN.CountedAnsiString: {
      const b = isUtf8(outType) ? Buffer.from(String(v ?? ''), 'utf8') : encodeCp1252(String(v ?? ''))
      s.u16(b.length).raw(b)
      return
    }
    default:
      throw new Error(`cannot encode InType ${inType}`)
  }
}

/** Index one past each field's member group (structs), as the reader computes it. */
function groupEnds(fields: TlFieldDef[]): number[] {
  const end = new Array<number>(fields.length)
  for (let i = fields.length - 1; i >= 0; i--) {
    const f = fields[i]
    if (f.inType !== TL_IN.Struct) {
      end[i] = i + 1
      continue
    }
    let j = i + 1
    for (let k = 0; k < (f.outType ?? 0); k++) {
      if (j >= fields.length) throw new Error(`struct ${f.name} lacks members`)
      j = end[j]
    }
    end[i] = j
  }
  return end
}

function keyOf(f: TlFieldDef | TlField): string {
  return (f as TlField).key ?? f.name
}

function encodeRange(s: ByteSink, fields: TlFieldDef[], ends: number[], i: number, iEnd: number, obj: Record<string, unknown>, ptr: number): void {
  while (i < iEnd) {
    const f = fields[i]
    const v = obj[keyOf(f)]
    const arity = f.arity ?? 0
    if (f.inType === TL_IN.Struct) {
      if (arity === 0) encodeRange(s, fields, ends, i + 1, ends[i], (v ?? {}) as Record<string, unknown>, ptr)
      else {
        const arr = Array.isArray(v) ? v : []
        if (arity === ARITY_VCOUNT) s.u16(arr.length)
        const n = arity === ARITY_CCOUNT ? (f.ccount ?? 0) : arr.length
        for (let k = 0; k < n; k++) encodeRange(s, fields, ends, i + 1, ends[i], (arr[k] ?? {}) as Record<string, unknown>, ptr)
      }
      i = ends[i]
      continue
    }
    if (arity === 0) encodeValue(s, f.inType, f.outType ?? 0, v, ptr)
    else if (arity === ARITY_CUSTOM) {
      const b = v instanceof Uint8Array ? v : new Uint8Array(0)
      s.u16(b.length).raw(b)
    } else {
      const arr = Array.isArray(v) ? v : []
      if (arity === ARITY_VCOUNT) s.u16(arr.length)
      const n = arity === ARITY_CCOUNT ? (f.ccount ?? 0) : arr.length
      for (let k = 0; k < n; k++) encodeValue(s, f.inType, f.outType ?? 0, arr[k], ptr)
    }
    i++
  }
}

/** Encodes a TraceLogging payload from field values (the inverse of decodeTlPayload). */
export function encodeTlPayload(fields: TlFieldDef[], values: Record<string, unknown>, pointerSize = 8): Uint8Array {
  const s = new ByteSink(128)
  encodeRange(s, fields, groupEnds(fields), 0, fields.length, values, pointerSize)
  return s.bytes()
}

export interface ExtItem {
  type: number
  data: Uint8Array
}

/** An EVENT_HEADER record (§4.7) to encode. */
export interface EventRecordDef {
  /** 8 (EVENT_HEADER64, default) or 4 (EVENT_HEADER32). */
  pointerSize?: number
  /** On-disk flags other than EXTENDED_INFO (which is set when there are items). */
  flags?: number
  eventProperty?: number
  pid: number
  tid: number
  timestampRaw: bigint
  providerGuid: string | Uint8Array
  id?: number
  version?: number
  channel?: number
  level?: number
  opcode?: number
  task?: number
  keyword?: bigint
  kernelTime?: number
  userTime?: number
  activityId?: string
  extended?: ExtItem[]
  userData: Uint8Array
}

export function encodeEventRecord(d: EventRecordDef): Uint8Array {
  const items = d.extended ?? []
  let extLen = 0
  for (const it of items) extLen += (8 + it.data.length + 7) & ~7
  const size = 0x50 + extLen + d.userData.length
  if (size > 0xffff) throw new Error(`event record of ${size} bytes exceeds 64 KiB`)
  const s = new ByteSink(size)
  s.u16(size)
  s.u8(d.pointerSize === 4 ? 0x12 : 0x13).u8(0xc0)
  s.u16((d.flags ?? 0) | (items.length ? 1 : 0) & 0xffff).u16(d.eventProperty ?? 0)
  s.u32(d.tid).u32(d.pid).u64(d.timestampRaw)
  s.raw(typeof d.providerGuid === 'string' ? guidToBytes(d.providerGuid) : d.providerGuid)
  s.u16(d.id ?? 0).u8(d.version ?? 0).u8(d.channel ?? 11).u8(d.level ?? 5).u8(d.opcode ?? 0).u16(d.task ?? 0).u64(d.keyword ?? 0n)
  s.u32(d.kernelTime ?? 0).u32(d.userTime ?? 0)
  s.raw(d.activityId ? guidToBytes(d.activityId) : new Uint8Array(16))
  items.forEach((it, i) => {
    const itemSize = (8 + it.data.length + 7) & ~7
    s.u16(itemSize).u16(it.type).u16(i < items.length - 1 ? 1 : 0).u16(it.data.length).raw(it.data)
    s.zeros(itemSize - 8 - it.data.length)
  })
  s.raw(d.userData)
  return s.bytes()
}

/** A TraceLogging event to write. */
export interface TlWriteEvent extends Omit<EventRecordDef, 'providerGuid' | 'userData' | 'extended'> {
  providerName: string
  /** Default: the name-derived GUID (§9.7). */
  providerGuid?: string
  providerTraits?: TlProviderTrait[]
  event: TlEventDef
  values: Record<string, unknown>
  /** Extended items besides the TraceLogging ones; types < 0x0B go before them, others after. */
  extended?: ExtItem[]
}

export function encodeTlEventRecord(ev: TlWriteEvent): Uint8Array {
  const meta = encodeEventMetadata(ev.event)
  const traits = encodeProviderTraits(ev.providerName, ev.providerTraits)
  const extra = ev.extended ?? []
  const items = [...extra.filter((x) => x.type < 0x0b), {type: 0x0c, data: traits}, {type: 0x0b, data: meta}, ...extra.filter((x) => x.type > 0x0c)]
  return encodeEventRecord({
    ...ev,
    channel: ev.channel ?? 11,
    providerGuid: ev.providerGuid ?? providerGuidBytesFromName(ev.providerName),
    extended: items,
    userData: encodeTlPayload(ev.event.fields, ev.values, ev.pointerSize ?? 8),
  })
}

// ---------------------------------------------------------------------------------- file layout

export interface EtlWriterOptions {
  /** Session buffer size (default 64 KiB). */
  bufferSize?: number
  /** XPRESS-compress data buffers (relogger layout). */
  compress?: boolean
  /** FILETIME of the time-sync point (the header record). Default: now. */
  startTime?: bigint
  /** Raw timestamp of the header record (default 0). */
  headerTimestamp?: bigint
  /** Clock frequency of raw timestamps (default 10 MHz QPC). */
  perfFreq?: bigint
  /** ClockType (1 QPC, default; 2 system time). */
  clockType?: number
  loggerName?: string
  logFileName?: string
  providerVersion?: number
  numberOfProcessors?: number
}

interface OpenBuffer {
  cpu: number
  sink: ByteSink
  lastTs: bigint
}

function bufferHeader(bufferSize: number, used: number, ts: bigint, seq: number, cpu: number, flags: number, type: number): Uint8Array {
  const s = new ByteSink(H)
  s.u32(bufferSize).u32(used).u32(used).u32(0).u64(ts).u64(BigInt(seq)).u64(0n)
  s.u16(cpu).u16(1).u32(3).u32(used).u16(flags).u16(type).zeros(16)
  return s.bytes()
}

/** Streaming writer. Events of one CPU must be written in time order. */
export class EtlWriter {
  private readonly bufferSize: number
  private readonly bufs = new Map<number, OpenBuffer>()
  private seq = 1
  private pos = 0
  private buffersWritten = 1
  private maxCpu = 0
  private lastTs = 0n
  private headerLen = 0
  private readonly o: Required<Omit<EtlWriterOptions, 'compress'>> & {compress: boolean}

  private constructor(
    private readonly fh: FileHandle,
    opts: EtlWriterOptions,
  ) {
    this.bufferSize = opts.bufferSize ?? 65536
    if (this.bufferSize < 1024 || this.bufferSize > 64 * 1024 * 1024) throw new Error(`bufferSize ${this.bufferSize} out of range`)
    this.o = {
      bufferSize: this.bufferSize,
      compress: opts.compress === true,
      startTime: opts.startTime ?? BigInt(Date.now()) * 10000n + FILETIME_UNIX_EPOCH,
      headerTimestamp: opts.headerTimestamp ?? 0n,
      perfFreq: opts.perfFreq ?? 10_000_000n,
      clockType: opts.clockType ?? 1,
      loggerName: opts.loggerName ?? 'santrace',
      logFileName: opts.logFileName ?? 'santrace.etl',
      providerVersion: opts.providerVersion ?? 22631,
      numberOfProcessors: opts.numberOfProcessors ?? 0,
    }
    this.lastTs = this.o.headerTimestamp
  }

  static async create(path: string, opts: EtlWriterOptions = {}): Promise<EtlWriter> {
    const fh = await open(path, 'w')
    const w = new EtlWriter(fh, opts)
    await w.writeHeaderBuffer()
    return w
  }

  private headerRecord(): Uint8Array {
    const o = this.o
    const p = new ByteSink(512)
    p.u32(this.bufferSize).u8(10).u8(0).u8(1).u8(5).u32(o.providerVersion)
    p.u32(Math.max(o.numberOfProcessors, this.maxCpu + 1))
    const endFt = o.startTime + ((this.lastTs - o.headerTimestamp) * 10_000_000n) / o.perfFreq
    p.u64(endFt).u32(156250).u32(0)
    p.u32(0x00000001 | (o.compress ? 0x04000000 : 0)) // FILE_MODE_SEQUENTIAL (| COMPRESSED)
    p.u32(this.buffersWritten).u32(1).u32(8).u32(0).u32(0)
    p.u64(0n).u64(0n) // LoggerName, LogFileName pointers
    p.zeros(176) // TIME_ZONE_INFORMATION (UTC) + padding
    p.u64(0n).u64(o.perfFreq).u64(o.startTime).u32(o.clockType).u32(0)
    p.raw(Buffer.from(o.loggerName, 'utf16le')).u16(0)
    p.raw(Buffer.from(o.logFileName, 'utf16le')).u16(0)
    const payload = p.bytes()
    const r = new ByteSink(0x20 + payload.length)
    r.u16(2).u8(0x02).u8(0xc0).u16(0x20 + payload.length).u8(0).u8(0)
    r.u32(0).u32(0).u64(o.headerTimestamp).u32(0).u32(0).raw(payload)
    return r.bytes()
  }

  /** Header buffer: the session buffer size, or (compressed logs) just large enough, 512-aligned. */
  private async writeHeaderBuffer(): Promise<void> {
    const rec = this.headerRecord()
    const used = H + ((rec.length + 7) & ~7)
    const size = this.o.compress ? (used + 511) & ~511 : this.bufferSize
    if (used > size) throw new Error('header record does not fit the buffer')
    const b = new Uint8Array(size).fill(0xff)
    b.set(bufferHeader(size, used, this.o.headerTimestamp, 0, 0, 0x20, 4), 0)
    b.set(rec, H)
    b.fill(0, H + rec.length, used)
    if (this.headerLen === 0) this.headerLen = size
    await this.fh.write(b, 0, b.length, 0)
    if (this.pos === 0) this.pos = size
  }

  /** Appends a raw record (any header kind) logged on `cpu` at raw time `timestampRaw`. */
  async writeRecord(cpu: number, record: Uint8Array, timestampRaw: bigint): Promise<void> {
    const need = (record.length + 7) & ~7
    if (H + need > this.bufferSize) throw new Error(`record of ${record.length} bytes does not fit a ${this.bufferSize}-byte buffer`)
    let ob = this.bufs.get(cpu)
    if (ob && H + ob.sink.len + need > this.bufferSize) {
      await this.flush(ob)
      ob = undefined
    }
    if (!ob) {
      ob = {cpu, sink: new ByteSink(Math.min(this.bufferSize, 65536)), lastTs: timestampRaw}
      this.bufs.set(cpu, ob)
    }
    ob.sink.raw(record).align(8)
    ob.lastTs = timestampRaw
    if (cpu > this.maxCpu) this.maxCpu = cpu
    if (timestampRaw > this.lastTs) this.lastTs = timestampRaw
  }

  async writeTraceLogging(cpu: number, ev: TlWriteEvent): Promise<void> {
    await this.writeRecord(cpu, encodeTlEventRecord(ev), ev.timestampRaw)
  }

  private async flush(ob: OpenBuffer): Promise<void> {
    this.bufs.delete(ob.cpu)
    const payload = ob.sink.bytes()
    const used = H + payload.length
    let out: Uint8Array
    if (this.o.compress) {
      const c = compressXpress(payload)
      out = new Uint8Array(H + c.length)
      out.set(bufferHeader(H + c.length, used, ob.lastTs, this.seq, ob.cpu, 0x60, 0), 0)
      out.set(c, H)
    } else {
      out = new Uint8Array(this.bufferSize).fill(0xff)
      out.set(bufferHeader(this.bufferSize, used, ob.lastTs, this.seq, ob.cpu, 0x20, 0), 0)
      out.set(payload, H)
    }
    this.seq++
    this.buffersWritten++
    await this.fh.write(out, 0, out.length, this.pos)
    this.pos += out.length
  }

  /** Flushes every open buffer and rewrites the header with the final counts. */
  async close(): Promise<void> {
    for (const ob of [...this.bufs.values()].sort((a, b) => a.cpu - b.cpu)) await this.flush(ob)
    await this.writeHeaderBuffer()
    await this.fh.close()
  }
}

// ---------------------------------------------------------------------------------- SAN writer

/** The first TraceLogging type trace-format.md names for each kind of field. */
function sanFieldDef(name: string, kind: SanFieldKind | undefined, v: unknown): TlFieldDef[] {
  switch (kind) {
    case 'handle':
      return [{name, inType: TL_IN.HexInt64, arity: Array.isArray(v) ? ARITY_VCOUNT : 0}]
    case 'id':
      return [{name, inType: TL_IN.UInt64}]
    case 'rc':
      return [{name, inType: TL_IN.Int64}]
    case 'error':
      return [{name, inType: TL_IN.Int32}]
    case 'count':
      return [{name, inType: TL_IN.UInt32}]
    case 'bool':
      return [{name, inType: TL_IN.Bool32}]
    case 'text':
      return [{name, inType: TL_IN.AnsiString, outType: TL_OUT.Utf8}]
    case 'blob':
      return [{name, inType: TL_IN.Binary}]
    case 'guid':
      return [{name, inType: TL_IN.Guid}]
    case 'ints':
      return [{name, inType: TL_IN.Int32, arity: ARITY_VCOUNT}]
    case 'buffers': {
      const members = new Set<string>()
      for (const o of Array.isArray(v) ? v : []) if (o && typeof o === 'object') for (const k of Object.keys(o)) members.add(k)
      if (members.size === 0) members.add('Addr').add('Len')
      const order = ['Addr', 'Len', 'Handle', ...[...members].filter((k) => k !== 'Addr' && k !== 'Len' && k !== 'Handle')].filter((k) => members.has(k))
      return [
        {name, inType: TL_IN.Struct, outType: order.length, arity: ARITY_VCOUNT},
        ...order.map((k) => (k === 'Len' ? {name: k, inType: TL_IN.UInt32} : k === 'Addr' || k === 'Handle' ? {name: k, inType: TL_IN.HexInt64} : genericDef(k, undefined))),
      ]
    }
    default:
      return [genericDef(name, v)]
  }
}

function genericDef(name: string, v: unknown): TlFieldDef {
  if (typeof v === 'boolean') return {name, inType: TL_IN.Bool32}
  if (typeof v === 'number') return Number.isInteger(v) ? {name, inType: TL_IN.Int64} : {name, inType: TL_IN.Double}
  return {name, inType: TL_IN.AnsiString, outType: TL_OUT.Utf8}
}

function hexToBytes(s: string): Uint8Array {
  const h = s.replace(/^0x/i, '')
  return Uint8Array.from(Buffer.from(h.length % 2 ? '0' + h : h, 'hex'))
}

function sanValue(kind: SanFieldKind | undefined, v: unknown): unknown {
  const handleVal = (x: unknown): bigint => (typeof x === 'string' ? BigInt(x.startsWith('0x') || x.startsWith('0X') ? x : /^\d+$/.test(x) ? x : '0') : toBig(x))
  switch (kind) {
    case 'handle':
      return Array.isArray(v) ? v.map(handleVal) : handleVal(v)
    case 'id':
    case 'rc':
      return toBig(typeof v === 'string' && !/^-?\d+$/.test(v) ? 0 : v)
    case 'error':
    case 'count':
      return toNum(v)
    case 'bool':
      return v === true || (typeof v === 'number' && v !== 0)
    case 'text':
      return String(v ?? '')
    case 'blob':
      return typeof v === 'string' ? hexToBytes(v) : v
    case 'guid':
      return typeof v === 'string' ? v.replace(/[{}]/g, '') : v
    case 'ints':
      return Array.isArray(v) ? v.map(toNum) : []
    case 'buffers':
      return Array.isArray(v)
        ? v.map((o) => {
            const r: Record<string, unknown> = {}
            for (const [k, x] of Object.entries((o ?? {}) as Record<string, unknown>)) r[k] = k === 'Len' ? toNum(x) : k === 'Addr' || k === 'Handle' ? handleVal(x) : x
            return r
          })
        : []
    default:
      return typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : typeof v === 'boolean' || typeof v === 'number' ? v : String(v ?? '')
  }
}

const ENVELOPE = new Set(['ts', 'pid', 'tid', 'cpu', 'provider', 'event'])
const START_OPCODE: Record<string, number> = {SpiCall: 1, Upcall: 1, ConditionCall: 1, SpiReturn: 2, UpcallReturn: 2, ConditionReturn: 2}

/** One SAN event to write: a JSON-trace-shaped record (no `ts`) and its absolute time. */
export interface SanWriteEvent {
  record: Record<string, unknown>
  tsAbsNs: bigint
}

/**
 * Raw timestamp of the header record, in 100 ns ticks: events up to this long (one hour)
 * before the start time stay representable, for a stream whose first event is not its earliest.
 */
const H0 = 36_000_000_000n

/** 100 ns ticks of an absolute time, floored (negative times included). */
const ticksOf = (ns: bigint): bigint => (ns >= 0n ? ns / 100n : (ns - 99n) / 100n)

/**
 * Streaming SAN writer: events go out as they come, in the order given (one CPU's events must
 * come in time order), as TraceLogging events of WSD.SanSpi / WSD.SwitchShim, using the first
 * TraceLogging type trace-format.md names for each field kind. Time resolution: 100 ns.
 * Memory holds one open buffer per CPU and the distinct event layouts, not the events.
 */
export class SanEtlWriter {
  private readonly defs = new Map<string, TlEventDef>()
  private readonly baseTick: bigint

  private constructor(
    private readonly w: EtlWriter,
    baseTick: bigint,
  ) {
    this.baseTick = baseTick
  }

  /**
   * `startNs` is the trace's start, ns since the Unix epoch: no event may be more than an hour
   * earlier than it.
   */
  static async create(path: string, startNs: bigint, opts: Omit<EtlWriterOptions, 'startTime' | 'headerTimestamp' | 'perfFreq' | 'clockType'> = {}): Promise<SanEtlWriter> {
    // Floor to 100 ns so the start maps to a whole tick.
    const baseTick = ticksOf(startNs)
    const w = await EtlWriter.create(path, {...opts, startTime: baseTick + FILETIME_UNIX_EPOCH, headerTimestamp: H0, perfFreq: 10_000_000n, clockType: 1})
    return new SanEtlWriter(w, baseTick)
  }

  async write(e: SanWriteEvent): Promise<void> {
    const r = e.record
    const eventName = String(r.event)
    const providerName = r.provider === 'WSD.SwitchShim' ? 'WSD.SwitchShim' : 'WSD.SanSpi'
    const fields: TlFieldDef[] = []
    const values: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(r)) {
      if (ENVELOPE.has(k) || v === undefined || v === null) continue
      const kind = SAN_FIELD_KINDS[k]
      fields.push(...sanFieldDef(k, kind, v))
      values[k] = sanValue(kind, v)
    }
    const sig = eventName + '\0' + fields.map((f) => `${f.name}:${f.inType}:${f.arity ?? 0}:${f.outType ?? 0}`).join(',')
    let def = this.defs.get(sig)
    if (!def) {
      def = {name: eventName, fields}
      this.defs.set(sig, def)
    }
    const raw = H0 + ticksOf(e.tsAbsNs) - this.baseTick
    if (raw < 0n) throw new Error(`event at ${e.tsAbsNs} ns is more than an hour before the trace start`)
    await this.w.writeTraceLogging(Number(r.cpu ?? 0), {
      providerName,
      event: def,
      values,
      pid: Number(r.pid ?? 0),
      tid: Number(r.tid ?? 0),
      timestampRaw: raw,
      opcode: START_OPCODE[eventName] ?? 0,
      level: 5,
    })
  }

  close(): Promise<void> {
    return this.w.close()
  }
}

/**
 * Writes SAN events (`{record, tsAbsNs}` as produced by san.ts, or JSON-trace objects with an
 * absolute time) in time order, whatever order they are given in. Holds them all: for long
 * traces stream them through {@link SanEtlWriter}.
 */
export async function writeSanEtl(
  path: string,
  events: Iterable<SanWriteEvent>,
  opts: Omit<EtlWriterOptions, 'startTime' | 'headerTimestamp' | 'perfFreq' | 'clockType'> = {},
): Promise<void> {
  const list = [...events]
  let minNs: bigint | undefined
  for (const e of list) if (minNs === undefined || e.tsAbsNs < minNs) minNs = e.tsAbsNs
  const order = list.map((e, i) => ({e, i})).sort((a, b) => (a.e.tsAbsNs < b.e.tsAbsNs ? -1 : a.e.tsAbsNs > b.e.tsAbsNs ? 1 : a.i - b.i))
  const w = await SanEtlWriter.create(path, minNs ?? BigInt(Date.now()) * 1_000_000n, opts)
  try {
    for (const {e} of order) await w.write(e)
  } finally {
    await w.close()
  }
}
