/**
 * A small, independent byte builder for synthetic .etl files in tests: TraceLogging metadata,
 * EVENT_HEADER records, a header buffer with the TRACE_LOGFILE_HEADER and per-CPU data buffers.
 * Written from etl-format.md, deliberately not sharing code with src/etl.
 */
import {createHash} from 'node:crypto'

export class Bytes {
  private parts: number[] = []
  u8(v: number): this {
    this.parts.push(v & 0xff)
    return this
  }
  u16(v: number): this {
    return this.u8(v).u8(v >>> 8)
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16)
  }
  u64(v: bigint | number): this {
    const b = BigInt.asUintN(64, BigInt(v))
    return this.u32(Number(b & 0xffffffffn)).u32(Number(b >> 32n))
  }
  i32(v: number): this {
    return this.u32(v >>> 0)
  }
  raw(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.parts.push(b[i] & 0xff)
    return this
  }
  cstr(s: string): this {
    return this.raw(Buffer.from(s, 'utf8')).u8(0)
  }
  wstr(s: string): this {
    return this.raw(Buffer.from(s, 'utf16le')).u16(0)
  }
  guid(g: string): this {
    return this.raw(guidBytes(g))
  }
  pad(to: number, fill = 0): this {
    while (this.parts.length % to) this.parts.push(fill)
    return this
  }
  get length(): number {
    return this.parts.length
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts)
  }
}

export function guidBytes(g: string): Uint8Array {
  const h = g.replace(/[{}-]/g, '')
  const r = Buffer.from(h, 'hex')
  return Uint8Array.from([r[3], r[2], r[1], r[0], r[5], r[4], r[7], r[6], ...r.subarray(8)])
}

/** TraceLogging name hash (etl-format.md §9.7), computed independently for tests. */
export function tlGuid(name: string): string {
  const ns = Buffer.from('482c2db2c39047c887f81a15bfc130fb', 'hex')
  const nm = Buffer.from(name.toUpperCase(), 'utf16le').swap16()
  const h = createHash('sha1').update(ns).update(nm).digest()
  h[7] = (h[7] & 0x0f) | 0x50
  const x = h.subarray(0, 16)
  const hex = (a: number, b: number): string => Buffer.from(x.subarray(a, b)).toString('hex')
  const rev = (a: number, b: number): string => Buffer.from(x.subarray(a, b)).reverse().toString('hex')
  return `${rev(0, 4)}-${rev(4, 6)}-${rev(6, 8)}-${hex(8, 10)}-${hex(10, 16)}`
}

export interface FieldDef {
  name: string
  inType: number
  outType?: number
  /** 0 scalar, 0x20 ccount, 0x40 vcount, 0x60 custom */
  arity?: number
  ccount?: number
  tags?: number
}

export function tlEventMeta(name: string, fields: FieldDef[], tags = 0): Uint8Array {
  const body = new Bytes()
  if (tags) {
    body.u8(((tags >>> 21) & 0x7f) | 0x80).u8(((tags >>> 14) & 0x7f) | 0x80).u8(((tags >>> 7) & 0x7f) | 0x80).u8(tags & 0x7f)
  } else body.u8(0)
  body.cstr(name)
  for (const f of fields) {
    body.cstr(f.name)
    const hasOut = f.outType !== undefined || f.tags !== undefined
    body.u8(f.inType | (f.arity ?? 0) | (hasOut ? 0x80 : 0))
    if (hasOut) {
      body.u8((f.outType ?? 0) | (f.tags ? 0x80 : 0))
      if (f.tags) body.u8(((f.tags >>> 21) & 0x7f) | 0x80).u8(((f.tags >>> 14) & 0x7f) | 0x80).u8(((f.tags >>> 7) & 0x7f) | 0x80).u8(f.tags & 0x7f)
    }
    if ((f.arity ?? 0) === 0x20) body.u16(f.ccount ?? 0)
  }
  const b = body.bytes()
  return new Bytes().u16(b.length + 2).raw(b).bytes()
}

export function tlProviderTraits(name: string, groupGuid?: string): Uint8Array {
  const body = new Bytes().cstr(name)
  if (groupGuid) body.u16(19).u8(1).guid(groupGuid)
  const b = body.bytes()
  return new Bytes().u16(b.length + 2).raw(b).bytes()
}

export interface EventRecordDef {
  pid?: number
  tid?: number
  ts: bigint
  provider: string
  id?: number
  version?: number
  channel?: number
  level?: number
  opcode?: number
  task?: number
  keyword?: bigint
  activityId?: string
  ext?: Array<{type: number; data: Uint8Array}>
  userData: Uint8Array
  /** 0x13 (EVENT_HEADER64, default) or 0x12 */
  headerType?: number
  flags?: number
}

export function eventRecord(d: EventRecordDef): Uint8Array {
  const ext = new Bytes()
  const items = d.ext ?? []
  items.forEach((it, i) => {
    const itemSize = (8 + it.data.length + 7) & ~7
    ext.u16(itemSize).u16(it.type).u16(i < items.length - 1 ? 1 : 0).u16(it.data.length).raw(it.data)
    ext.pad(8)
  })
  const size = 0x50 + ext.length + d.userData.length
  const r = new Bytes()
    .u16(size)
    .u8(d.headerType ?? 0x13)
    .u8(0xc0)
    .u16((d.flags ?? 0) | (items.length ? 1 : 0))
    .u16(0)
    .u32(d.tid ?? 1)
    .u32(d.pid ?? 1)
    .u64(d.ts)
    .guid(d.provider)
    .u16(d.id ?? 0)
    .u8(d.version ?? 0)
    .u8(d.channel ?? 11)
    .u8(d.level ?? 5)
    .u8(d.opcode ?? 0)
    .u16(d.task ?? 0)
    .u64(d.keyword ?? 0n)
    .u32(0)
    .u32(0)
    .guid(d.activityId ?? '00000000-0000-0000-0000-000000000000')
    .raw(ext.bytes())
    .raw(d.userData)
  return r.bytes()
}

/** A TraceLogging event record (provider traits then event schema as extended items). */
export function tlRecord(opts: Omit<EventRecordDef, 'provider' | 'ext'> & {providerName: string; provider?: string; meta: Uint8Array; traits?: Uint8Array}): Uint8Array {
  return eventRecord({
    ...opts,
    provider: opts.provider ?? tlGuid(opts.providerName),
    ext: [
      {type: 0x0c, data: opts.traits ?? tlProviderTraits(opts.providerName)},
      {type: 0x0b, data: opts.meta},
    ],
  })
}

export interface FileDef {
  /** 8 (SYSTEM64 header record, default) or 4 (SYSTEM32, 32-bit layout). */
  pointerSize?: number
  cpuSpeedMHz?: number
  bufferSize?: number
  startTime?: bigint
  perfFreq?: bigint
  clockType?: number
  headerTs?: bigint
  numberOfProcessors?: number
  /** Records per CPU; each CPU's records are packed into consecutive buffers in order. */
  cpus: Record<number, Uint8Array[]>
  /** Interleave buffers of CPUs in this order of (cpu, buffer index) — default round robin. */
  loggerName?: string
}

function bufferHeader(size: number, used: number, seq: number, cpu: number, type: number): Uint8Array {
  return new Bytes()
    .u32(size)
    .u32(used)
    .u32(used)
    .u32(0)
    .u64(0n)
    .u64(BigInt(seq))
    .u64(0n)
    .u16(cpu)
    .u16(1)
    .u32(3)
    .u32(used)
    .u16(0x21)
    .u16(type)
    .raw(new Uint8Array(16))
    .bytes()
}

export function headerRecord(def: FileDef): Uint8Array {
  const ptr = def.pointerSize ?? 8
  const p = new Bytes()
    .u32(def.bufferSize ?? 4096)
    .raw([10, 0, 1, 5])
    .u32(22631)
    .u32(def.numberOfProcessors ?? 2)
    .u64(0n)
    .u32(156250)
    .u32(0)
    .u32(0x1)
    .u32(0)
    .u32(1)
    .u32(ptr)
    .u32(0)
    .u32(def.cpuSpeedMHz ?? 3000)
  if (ptr === 8) p.u64(0n).u64(0n)
  else p.u32(0).u32(0)
  // TIME_ZONE_INFORMATION (172) + padding (4)
  p.i32(0).raw(new Uint8Array(64)).raw(new Uint8Array(16)).i32(0).raw(new Uint8Array(64)).raw(new Uint8Array(16)).i32(0).u32(0)
  p.u64(0n) // BootTime
    .u64(def.perfFreq ?? 10_000_000n)
    .u64(def.startTime ?? 133000000000000000n)
    .u32(def.clockType ?? 1)
    .u32(0)
    .wstr(def.loggerName ?? 'test')
    .wstr('C:\\test.etl')
  const payload = p.bytes()
  return new Bytes()
    .u16(2)
    .u8(ptr === 8 ? 0x02 : 0x01)
    .u8(0xc0)
    .u16(0x20 + payload.length)
    .u8(0)
    .u8(0)
    .u32(1)
    .u32(1)
    .u64(def.headerTs ?? 1000n)
    .u32(0)
    .u32(0)
    .raw(payload)
    .bytes()
}

function packBuffer(records: Uint8Array[], size: number, seq: number, cpu: number, type: number): Uint8Array {
  const payload = new Bytes()
  for (const r of records) payload.raw(r).pad(8)
  const used = 72 + payload.length
  if (used > size) throw new Error(`records (${used}) do not fit a ${size}-byte buffer`)
  const out = new Uint8Array(size).fill(0xff)
  out.set(bufferHeader(size, used, seq, cpu, type), 0)
  out.set(payload.bytes(), 72)
  return out
}

/** Builds a whole file: header buffer, then each CPU's records packed into buffers (round robin over CPUs). */
export function etlFile(def: FileDef): Uint8Array {
  const size = def.bufferSize ?? 4096
  const bufs: Uint8Array[] = [packBuffer([headerRecord(def)], size, 0, 0, 4)]
  let seq = 1
  const perCpu: Array<[number, Uint8Array[][]]> = []
  for (const [cpuS, recs] of Object.entries(def.cpus)) {
    const groups: Uint8Array[][] = [[]]
    let used = 72
    for (const r of recs) {
      const a = (r.length + 7) & ~7
      if (used + a > size) {
        groups.push([])
        used = 72
      }
      groups[groups.length - 1].push(r)
      used += a
    }
    perCpu.push([Number(cpuS), groups])
  }
  for (let i = 0; perCpu.some(([, g]) => i < g.length); i++) {
    for (const [cpu, groups] of perCpu) if (i < groups.length) bufs.push(packBuffer(groups[i], size, seq++, cpu, 0))
  }
  const total = bufs.reduce((a, b) => a + b.length, 0)
  const out = new Uint8Array(total)
  let o = 0
  for (const b of bufs) {
    out.set(b, o)
    o += b.length
  }
  return out
}

/** A TraceLogging field with its value, for building payloads in tests. */
export interface TlValue extends FieldDef {
  value: unknown
  /** Struct members (for inType 24): definitions; `value` then holds objects (or arrays of them). */
  members?: TlValue[]
}

function encodeScalar(b: Bytes, inType: number, v: unknown, outType = 0, ptr = 8): void {
  switch (inType) {
    case 1:
      b.wstr(v as string)
      break
    case 2:
      b.raw(outType === 35 ? Buffer.from(v as string, 'utf8') : Buffer.from(v as string, 'latin1')).u8(0)
      break
    case 3:
    case 4:
      b.u8(typeof v === 'boolean' ? (v ? 1 : 0) : (v as number))
      break
    case 5:
    case 6:
      b.u16(v as number)
      break
    case 7:
    case 8:
    case 20:
    case 13:
      b.u32(typeof v === 'boolean' ? (v ? 1 : 0) : Number(v) >>> 0)
      break
    case 9:
    case 10:
    case 21:
    case 17:
      b.u64(BigInt(v as number | bigint))
      break
    case 16:
      if (ptr === 4) b.u32(Number(v) >>> 0)
      else b.u64(BigInt(v as number | bigint))
      break
    case 14:
    case 25: {
      const x = v as Uint8Array
      b.u16(x.length).raw(x)
      break
    }
    case 15:
      b.guid(v as string)
      break
    case 22: {
      const x = Buffer.from(v as string, 'utf16le')
      b.u16(x.length).raw(x)
      break
    }
    case 23: {
      const x = Buffer.from(v as string, 'utf8')
      b.u16(x.length).raw(x)
      break
    }
    case 11: {
      const x = Buffer.alloc(4)
      x.writeFloatLE(v as number)
      b.raw(x)
      break
    }
    case 12: {
      const x = Buffer.alloc(8)
      x.writeDoubleLE(v as number)
      b.raw(x)
      break
    }
    default:
      throw new Error(`test encoder: InType ${inType}`)
  }
}

function flatten(fields: TlValue[]): FieldDef[] {
  const out: FieldDef[] = []
  for (const f of fields) {
    out.push({name: f.name, inType: f.inType, outType: f.inType === 24 ? f.members!.length : f.outType, arity: f.arity, ccount: f.ccount, tags: f.tags})
    if (f.inType === 24) out.push(...flatten(f.members!))
  }
  return out
}

function encodeFields(b: Bytes, fields: TlValue[], values: Record<string, unknown> | undefined, ptr: number): void {
  for (const f of fields) {
    const v = values ? values[f.name] : f.value
    const arity = f.arity ?? 0
    const items = arity ? (v as unknown[]) : [v]
    if (arity === 0x40) b.u16(items.length)
    for (const it of items) {
      if (f.inType === 24) encodeFields(b, f.members!, it as Record<string, unknown>, ptr)
      else encodeScalar(b, f.inType, it, f.outType, ptr)
    }
  }
}

/** Metadata + payload for a list of valued fields. */
export function tlEvent(name: string, fields: TlValue[], ptr = 8, opcode = 0): {meta: Uint8Array; payload: Uint8Array; opcode: number} {
  const payload = new Bytes()
  encodeFields(payload, fields, undefined, ptr)
  return {meta: tlEventMeta(name, flatten(fields)), payload: payload.bytes(), opcode}
}
