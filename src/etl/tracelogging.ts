/**
 * TraceLogging self-describing events (etl-format.md §9): parsing of the event metadata blob
 * (EVENT_SCHEMA_TL extended item) and the provider traits blob (PROV_TRAITS), a cache keyed by
 * the metadata bytes, and payload decoding for every InType, arrays and structs.
 */
import {formatGuid} from './guid.js'

export const TL_IN = {
  Null: 0,
  UnicodeString: 1,
  AnsiString: 2,
  Int8: 3,
  UInt8: 4,
  Int16: 5,
  UInt16: 6,
  Int32: 7,
  UInt32: 8,
  Int64: 9,
  UInt64: 10,
  Float: 11,
  Double: 12,
  Bool32: 13,
  Binary: 14,
  Guid: 15,
  Pointer: 16,
  FileTime: 17,
  SystemTime: 18,
  Sid: 19,
  HexInt32: 20,
  HexInt64: 21,
  CountedString: 22,
  CountedAnsiString: 23,
  Struct: 24,
  CountedBinary: 25,
} as const

export const TL_OUT = {
  Default: 0,
  NoPrint: 1,
  String: 2,
  Boolean: 3,
  Hex: 4,
  Pid: 5,
  Tid: 6,
  Port: 7,
  IPv4: 8,
  IPv6: 9,
  SocketAddress: 10,
  Xml: 11,
  Json: 12,
  Win32Error: 13,
  NTStatus: 14,
  HResult: 15,
  FileTime: 16,
  Signed: 17,
  Unsigned: 18,
  DateTimeCultureInsensitive: 33,
  Utf8: 35,
  Pkcs7WithTypeInfo: 36,
  CodePointer: 37,
  DateTimeUtc: 38,
} as const

export const ARITY_SCALAR = 0
export const ARITY_CCOUNT = 0x20
export const ARITY_VCOUNT = 0x40
export const ARITY_CUSTOM = 0x60

export interface TlField {
  name: string
  /** Property name in the decoded object (name, or name_2… for repeated names). */
  key: string
  inType: number
  outType: number
  /** 0 scalar, 0x20 constant count, 0x40 variable count, 0x60 custom. */
  arity: number
  /** Element count for constant-count arrays. */
  ccount: number
  /** Field tags (28-bit), 0 if none. */
  tags: number
  /** Whether the OutMeta byte was present in the metadata. */
  hasOutMeta: boolean
  /** Whether field tags were present. */
  hasTags: boolean
  /** Bytes the field tags took in the metadata (1..4; producers may pad). */
  tagBytes: number
  /** Index one past this field's member group (structs), else index + 1. */
  end: number
  /** Custom-serializer schema bytes (arity 0x60). */
  schema: Uint8Array | undefined
}

export interface TlEventMeta {
  name: string
  tags: number
  /** Bytes the event tags took in the metadata (1..4). */
  tagBytes: number
  fields: TlField[]
  /** The metadata blob (copy). */
  bytes: Uint8Array
  /** Set when the blob is malformed; `fields` then holds what parsed. */
  error: string | undefined
  /** @internal compiled object factories per member group (decoder cache) */
  _factories?: Array<((v: unknown[]) => Record<string, unknown>) | null | undefined>
  /** @internal per-consumer compiled plans (e.g. the SAN mapping) */
  _plan?: unknown
  /** @internal compiled decoder for metadata whose fields are all scalars */
  _scalar?: ((rv: (inType: number, outType: number) => unknown) => Record<string, unknown>) | null
  /** @internal number of payloads decoded with this metadata */
  _uses?: number
  /** @internal per-consumer compiled payload decoders (e.g. the SAN fast path) */
  _fast?: unknown
}

export interface TlProviderTrait {
  type: number
  data: Uint8Array
}

export interface TlProviderMeta {
  name: string
  /** Provider group GUID (trait type 1). */
  groupGuid: string | undefined
  traits: TlProviderTrait[]
  bytes: Uint8Array
  error: string | undefined
}

const utf8 = new TextDecoder('utf-8')

/** A plain Uint8Array copy (Buffer#slice would return a view that pins the whole buffer). */
export function copyBytes(b: Uint8Array, s: number, e: number): Uint8Array {
  const out = new Uint8Array(Math.max(0, e - s))
  out.set(b.subarray(s, e))
  return out
}

function readCString(b: Uint8Array, pos: number, end: number): [string, number] | undefined {
  let i = pos
  while (i < end && b[i] !== 0) i++
  if (i >= end) return undefined
  let ascii = true
  for (let k = pos; k < i; k++)
    if (b[k] >= 0x80) {
      ascii = false
      break
    }
  let s: string
  if (ascii) {
    s = ''
    for (let k = pos; k < i; k++) s += String.fromCharCode(b[k])
  } else s = utf8.decode(b.subarray(pos, i))
  return [s, i + 1]
}

function readTags(b: Uint8Array, pos: number, end: number): [number, number] | undefined {
  let v = 0
  for (let i = 0; i < 4; i++) {
    if (pos >= end) return undefined
    const x = b[pos++]
    v += (x & 0x7f) * 2 ** (21 - 7 * i)
    if ((x & 0x80) === 0) return [v, pos]
  }
  return undefined
}

/**
 * Parses an event metadata blob (§9.2) found at b[off, off+len). Never throws; problems are
 * reported in `error` together with the byte position (relative to `off`) where they occur.
 */
export function parseEventMetadata(b: Uint8Array, off: number, len: number): TlEventMeta & {errorAt?: number} {
  const bytes = copyBytes(b, off, off + len)
  const meta: TlEventMeta & {errorAt?: number} = {name: '', tags: 0, tagBytes: 1, fields: [], bytes, error: undefined, _factories: undefined, _plan: undefined, _scalar: undefined, _uses: 0, _fast: undefined, errorAt: undefined}
  const fail = (msg: string, at: number): TlEventMeta & {errorAt?: number} => {
    meta.error = msg
    meta.errorAt = at
    return meta
  }
  if (len < 4) return fail(`event metadata of ${len} bytes is too short`, 0)
  const size = bytes[0] | (bytes[1] << 8)
  if (size > len) return fail(`event metadata Size ${size} points outside its ${len}-byte blob`, 0)
  if (size < 4) return fail(`event metadata Size ${size} is too small`, 0)
  const end = size
  const t = readTags(bytes, 2, end)
  if (!t) return fail('event tags run past the metadata', 2)
  meta.tags = t[0]
  meta.tagBytes = t[1] - 2
  const nm = readCString(bytes, t[1], end)
  if (!nm) return fail('event name is not NUL-terminated inside the metadata', t[1])
  meta.name = intern(nm[0])
  let pos = nm[1]
  const fields = meta.fields
  while (pos < end) {
    const at = pos
    const fn = readCString(bytes, pos, end)
    if (!fn) return fail('field name is not NUL-terminated inside the metadata', at)
    pos = fn[1]
    if (pos >= end) return fail(`field "${fn[0]}" has no InType inside the metadata`, pos)
    const inMeta = bytes[pos++]
    const f: TlField = {
      name: fn[0],
      key: fn[0],
      inType: inMeta & 0x1f,
      outType: 0,
      arity: inMeta & 0x60,
      ccount: 0,
      tags: 0,
      hasOutMeta: false,
      hasTags: false,
      tagBytes: 0,
      end: 0,
      schema: undefined,
    }
    if (inMeta & 0x80) {
      if (pos >= end) return fail(`field "${f.name}" OutType runs past the metadata`, pos)
      const outMeta = bytes[pos++]
      f.outType = outMeta & 0x7f
      f.hasOutMeta = true
      if (outMeta & 0x80) {
        const ft = readTags(bytes, pos, end)
        if (!ft) return fail(`field "${f.name}" tags run past the metadata`, pos)
        f.tags = ft[0]
        f.hasTags = true
        f.tagBytes = ft[1] - pos
        pos = ft[1]
      }
    }
    if (f.arity === ARITY_CCOUNT) {
      if (pos + 2 > end) return fail(`field "${f.name}" element count runs past the metadata`, pos)
      f.ccount = bytes[pos] | (bytes[pos + 1] << 8)
      pos += 2
    } else if (f.arity === ARITY_CUSTOM) {
      if (pos + 2 > end) return fail(`field "${f.name}" schema size runs past the metadata`, pos)
      const cb = bytes[pos] | (bytes[pos + 1] << 8)
      pos += 2
      if (pos + cb > end) return fail(`field "${f.name}" schema of ${cb} bytes points outside the metadata`, pos)
      f.schema = copyBytes(bytes, pos, pos + cb)
      pos += cb
    }
    if (f.inType === 0 || f.inType > 25) return fail(`field "${f.name}" has unknown InType ${f.inType}`, at)
    if (f.inType === TL_IN.Struct && f.outType === 0) return fail(`struct field "${f.name}" declares no members`, at)
    fields.push(f)
  }
  // Struct member groups (iteratively, from the back: nested structs count as one member).
  for (let i = fields.length - 1; i >= 0; i--) {
    const f = fields[i]
    if (f.inType !== TL_IN.Struct) {
      f.end = i + 1
      continue
    }
    let j = i + 1
    for (let k = 0; k < f.outType; k++) {
      if (j >= fields.length) return fail(`struct "${f.name}" declares ${f.outType} members but the metadata ends`, size)
      j = fields[j].end
    }
    f.end = j
  }
  assignKeys(fields, 0, fields.length)
  return meta
}

function assignKeys(fields: TlField[], i0: number, iEnd: number): void {
  const seen = new Map<string, number>()
  let i = i0
  while (i < iEnd) {
    const f = fields[i]
    const n = seen.get(f.name)
    if (n === undefined) {
      seen.set(f.name, 1)
      f.key = f.name
    } else {
      let k = n + 1
      while (seen.has(`${f.name}_${k}`)) k++
      seen.set(f.name, k)
      f.key = `${f.name}_${k}`
      seen.set(f.key, 1)
    }
    if (f.inType === TL_IN.Struct) assignKeys(fields, i + 1, f.end)
    i = f.end
  }
}

/** Parses a provider traits blob (§9.3). Never throws. */
export function parseProviderTraits(b: Uint8Array, off: number, len: number): TlProviderMeta & {errorAt?: number} {
  const bytes = copyBytes(b, off, off + len)
  const meta: TlProviderMeta & {errorAt?: number} = {name: '', groupGuid: undefined, traits: [], bytes, error: undefined}
  if (len < 3) {
    meta.error = `provider traits of ${len} bytes are too short`
    meta.errorAt = 0
    return meta
  }
  const size = bytes[0] | (bytes[1] << 8)
  if (size > len || size < 3) {
    meta.error = `provider traits Size ${size} points outside its ${len}-byte blob`
    meta.errorAt = 0
    return meta
  }
  const nm = readCString(bytes, 2, size)
  if (!nm) {
    meta.error = 'provider name is not NUL-terminated inside the traits'
    meta.errorAt = 2
    return meta
  }
  meta.name = intern(nm[0])
  let pos = nm[1]
  while (pos < size) {
    if (pos + 3 > size) {
      meta.error = 'provider trait header runs past the traits'
      meta.errorAt = pos
      return meta
    }
    const ts = bytes[pos] | (bytes[pos + 1] << 8)
    const type = bytes[pos + 2]
    if (ts < 3 || pos + ts > size) {
      meta.error = `provider trait size ${ts} points outside the traits`
      meta.errorAt = pos
      return meta
    }
    const data = copyBytes(bytes, pos + 3, pos + ts)
    meta.traits.push({type, data})
    if (type === 1 && data.length >= 16) meta.groupGuid = formatGuid(data, 0)
    pos += ts
  }
  return meta
}

/**
 * The engine's unique copy of a string (property keys are kept unique): names and short values
 * that consumers compare and look up per event then compare by identity. Once per distinct value.
 */
export function intern(s: string): string {
  return Object.keys({[s]: 0})[0] ?? s
}

function word(b: Uint8Array, p: number): number {
  return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)
}

/**
 * Cheap bucket key: length and three sampled words. Entries are always verified by a full
 * byte comparison, so collisions only cost a compare.
 */
function sampleKey(b: Uint8Array, off: number, len: number): number {
  let h = len * 0x9e3779b1
  if (len >= 4) {
    h = Math.imul(h ^ word(b, off + len - 4), 0x85ebca6b)
    h = Math.imul(h ^ word(b, off + ((len >>> 1) & ~3)), 0xc2b2ae35)
    if (len >= 12) h = Math.imul(h ^ word(b, off + 8), 0x27d4eb2f)
  }
  // Small integers (Smis) key the Map without boxing a double per lookup.
  return (h >>> 0) & 0x3fffffff
}

/**
 * Full comparison of a cached copy with b[off, off+len). With `w` (an Int32Array over b's
 * memory starting at b.byteOffset) and a 4-aligned position it compares words.
 */
function sameBytes(e: CacheEntry<unknown>, b: Uint8Array, off: number, len: number, w: Int32Array | undefined): boolean {
  const a = e.bytes
  if (a.length !== len) return false
  let i = 0
  if (w !== undefined && (off & 3) === 0) {
    const aw = e.words
    const base = off >>> 2
    const nw = len >>> 2
    for (let k = 0; k < nw; k++) if (aw[k] !== w[base + k]) return false
    i = nw << 2
  }
  for (; i < len; i++) if (a[i] !== b[off + i]) return false
  return true
}

function entry<T>(bytes: Uint8Array, value: T): CacheEntry<T> {
  const words = new Int32Array(len4(bytes.length))
  new Uint8Array(words.buffer).set(bytes)
  return {bytes, words, value}
}

function len4(n: number): number {
  return (n + 3) >>> 2
}

interface CacheEntry<T> {
  bytes: Uint8Array
  /** The bytes as little-endian words (zero padded). */
  words: Int32Array
  value: T
}

/** Metadata cache keyed by the metadata bytes (sampled key + full compare). Bounded. */
export class TlMetadataCache {
  private events = new Map<number, CacheEntry<TlEventMeta & {errorAt?: number}>[]>()
  private providers = new Map<number, CacheEntry<TlProviderMeta & {errorAt?: number}>[]>()
  private lastProvider: CacheEntry<TlProviderMeta & {errorAt?: number}> | undefined
  size = 0
  /** Incremented each time the cache is cleared (entries looked up before belong to an older one). */
  generation = 0
  constructor(private readonly limit = 20000) {}

  event(b: Uint8Array, off: number, len: number, w?: Int32Array): TlEventMeta & {errorAt?: number} {
    const h = sampleKey(b, off, len)
    let bucket = this.events.get(h)
    if (bucket !== undefined) {
      for (let i = 0; i < bucket.length; i++) {
        const e = bucket[i]
        if (sameBytes(e, b, off, len, w)) return e.value
      }
    }
    const value = parseEventMetadata(b, off, len)
    this.makeRoom()
    if (bucket === undefined || this.size === 0) {
      bucket = []
      this.events.set(h, bucket)
    }
    bucket.push(entry(value.bytes, value))
    this.size++
    return value
  }

  provider(b: Uint8Array, off: number, len: number, w?: Int32Array): TlProviderMeta & {errorAt?: number} {
    const last = this.lastProvider
    if (last !== undefined && sameBytes(last, b, off, len, w)) return last.value
    const h = sampleKey(b, off, len)
    let bucket = this.providers.get(h)
    if (bucket !== undefined) {
      for (let i = 0; i < bucket.length; i++) {
        const e = bucket[i]
        if (sameBytes(e, b, off, len, w)) {
          this.lastProvider = e
          return e.value
        }
      }
    }
    const value = parseProviderTraits(b, off, len)
    this.makeRoom()
    if (bucket === undefined || this.size === 0) {
      bucket = []
      this.providers.set(h, bucket)
    }
    const e = entry(value.bytes, value)
    bucket.push(e)
    this.lastProvider = e
    this.size++
    return value
  }

  private makeRoom(): void {
    if (this.size < this.limit) return
    this.events.clear()
    this.providers.clear()
    this.lastProvider = undefined
    this.size = 0
    this.generation++
  }
}

// ---------------------------------------------------------------------------------------------
// Payload decoding. Module-level cursor state keeps the hot path free of per-call allocations.

let B: Uint8Array = new Uint8Array(0)
let DV: DataView = new DataView(new ArrayBuffer(0))
let P = 0
let END = 0
let PTR = 8
let WORK = 0
let WORK_LIMIT = 0

class Overrun extends Error {}
const OVERRUN = new Overrun('payload ends before the field')
const TOO_MUCH = new Overrun('element counts exceed what the payload can hold')
const TOO_DEEP = new Overrun('struct nesting too deep')

/** A SYSTEMTIME value (InType 18) as stored. */
export interface TlSystemTime {
  year: number
  month: number
  dayOfWeek: number
  day: number
  hour: number
  minute: number
  second: number
  milliseconds: number
}

const CP1252_HI = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
]

/** CP1252 decode (undefined bytes map to the C1 control of the same value, so it round-trips). */
export function decodeCp1252(b: Uint8Array, s: number, e: number): string {
  let out = ''
  for (let i = s; i < e; i++) {
    const c = b[i]
    out += String.fromCharCode(c >= 0x80 && c < 0xa0 ? CP1252_HI[c - 0x80] : c)
  }
  return out
}

/** CP1252 encode, inverse of {@link decodeCp1252} ('?' for characters outside CP1252). */
export function encodeCp1252(s: string): Uint8Array {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80 || (c >= 0xa0 && c < 0x100)) out[i] = c
    else {
      const k = CP1252_HI.indexOf(c)
      out[i] = k >= 0 ? 0x80 + k : 0x3f
    }
  }
  return out
}

// Short strings repeat a lot (function names, event kinds): intern them by their bytes so
// decoding them allocates nothing after the first time.
const INTERN_SLOTS = 4096
const INTERN_MAX = 64
const internBytes: Array<Uint8Array | undefined> = new Array(INTERN_SLOTS).fill(undefined)
const internKind = new Uint8Array(INTERN_SLOTS)
const internStr: string[] = new Array(INTERN_SLOTS).fill('')

function internLookup(s: number, e: number, h: number, kind: number): number {
  const slot = (h ^ (h >>> 13) ^ kind) & (INTERN_SLOTS - 1)
  const k = internBytes[slot]
  if (k !== undefined && internKind[slot] === kind && k.length === e - s) {
    let i = 0
    const n = e - s
    while (i < n && k[i] === B[s + i]) i++
    if (i === n) return slot
  }
  return -1 - slot
}

function internStore(slot: number, s: number, e: number, kind: number, str: string): string {
  internBytes[slot] = copyBytes(B, s, e)
  internKind[slot] = kind
  internStr[slot] = str
  return str
}

function utf16(s: number, e: number): string {
  const n = (e - s) >>> 1
  if (e - s <= INTERN_MAX) {
    let h = 0x811c9dc5
    for (let i = s; i < e; i++) h = Math.imul(h ^ B[i], 0x01000193)
    const r = internLookup(s, e, h, 1)
    if (r >= 0) return internStr[r]
    let out = ''
    for (let i = s; i + 1 < e; i += 2) out += String.fromCharCode(B[i] | (B[i + 1] << 8))
    return internStore(-1 - r, s, e, 1, out)
  }
  return Buffer.from(B.buffer, B.byteOffset + s, n * 2).toString('utf16le')
}

function ansi(s: number, e: number, utf8Out: boolean): string {
  let h = 0x811c9dc5
  let or = 0
  for (let i = s; i < e; i++) {
    const c = B[i]
    or |= c
    h = Math.imul(h ^ c, 0x01000193)
  }
  return ansiHashed(s, e, h, or < 0x80, utf8Out)
}

/** ANSI string of B[s, e) whose FNV hash and ASCII-ness the caller computed while scanning. */
function ansiHashed(s: number, e: number, h: number, ascii: boolean, utf8Out: boolean): string {
  const short = e - s <= INTERN_MAX
  const kind = utf8Out ? 3 : 2
  let r = 0
  if (short) {
    r = internLookup(s, e, h, kind)
    if (r >= 0) return internStr[r]
  }
  let out: string
  if (ascii) {
    if (short) {
      out = ''
      for (let i = s; i < e; i++) out += String.fromCharCode(B[i])
    } else out = Buffer.from(B.buffer, B.byteOffset + s, e - s).toString('latin1')
  } else if (utf8Out) out = Buffer.from(B.buffer, B.byteOffset + s, e - s).toString('utf8')
  else out = decodeCp1252(B, s, e)
  return short ? internStore(-1 - r, s, e, kind, out) : out
}

function isUtf8Out(outType: number): boolean {
  return outType === TL_OUT.Utf8 || outType === TL_OUT.Xml || outType === TL_OUT.Json
}

export function formatSid(b: Uint8Array, off: number): string {
  const rev = b[off]
  const n = b[off + 1]
  let auth = 0
  for (let i = 2; i < 8; i++) auth = auth * 256 + b[off + i]
  let s = `S-${rev}-${auth}`
  for (let i = 0; i < n; i++) {
    const p = off + 8 + i * 4
    s += '-' + ((b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0)
  }
  return s
}

function need(n: number): void {
  if (P + n > END) throw OVERRUN
}

function readValue(inType: number, outType: number): unknown {
  let v: unknown
  switch (inType) {
    case 10:
    case 21:
    case 17: {
      need(8)
      const lo = DV.getUint32(P, true)
      const hi = DV.getUint32(P + 4, true)
      v = hi < 0x200000 ? hi * 4294967296 + lo : DV.getBigUint64(P, true)
      P += 8
      return v
    }
    case 8:
    case 20:
      need(4)
      v = DV.getUint32(P, true)
      P += 4
      return outType === 3 && (v === 0 || v === 1) ? v === 1 : v
    case 13: {
      need(4)
      const x = DV.getInt32(P, true)
      P += 4
      return x === 0 ? false : x === 1 ? true : x
    }
    case 2: {
      // NUL-terminated 8-bit string: scan, hash and check ASCII in one pass
      let i = P
      let h = 0x811c9dc5
      let or = 0
      while (i < END) {
        const c = B[i]
        if (c === 0) break
        or |= c
        h = Math.imul(h ^ c, 0x01000193)
        i++
      }
      if (i >= END) {
        if (P >= END) throw OVERRUN
        v = ansiHashed(P, END, h, or < 0x80, isUtf8Out(outType))
        P = END
      } else {
        v = ansiHashed(P, i, h, or < 0x80, isUtf8Out(outType))
        P = i + 1
      }
      return v
    }
    case 7:
      need(4)
      v = DV.getInt32(P, true)
      P += 4
      return v
    case 9: {
      need(8)
      const lo = DV.getUint32(P, true)
      const hi = DV.getInt32(P + 4, true)
      v = hi > -0x200000 && hi < 0x200000 ? hi * 4294967296 + lo : DV.getBigInt64(P, true)
      P += 8
      return v
    }
    case 1: {
      // UnicodeString: NUL-terminated UTF-16LE (a missing terminator ends at the payload end)
      let i = P
      while (i + 1 < END && (B[i] | B[i + 1]) !== 0) i += 2
      if (i + 1 >= END) {
        if (P >= END) throw OVERRUN
        v = utf16(P, END)
        P = END
      } else {
        v = utf16(P, i)
        P = i + 2
      }
      return v
    }
    case 4:
      need(1)
      v = B[P]
      P += 1
      return outType === 3 && (v === 0 || v === 1) ? v === 1 : v
    case 3:
      need(1)
      v = DV.getInt8(P)
      P += 1
      return outType === 3 && (v === 0 || v === 1) ? v === 1 : v
    case 6:
      need(2)
      v = DV.getUint16(P, true)
      P += 2
      return v
    case 5:
      need(2)
      v = DV.getInt16(P, true)
      P += 2
      return v
    case 16:
      if (PTR === 4) {
        need(4)
        v = DV.getUint32(P, true)
        P += 4
      } else {
        need(8)
        const lo = DV.getUint32(P, true)
        const hi = DV.getUint32(P + 4, true)
        v = hi < 0x200000 ? hi * 4294967296 + lo : DV.getBigUint64(P, true)
        P += 8
      }
      return v
    case 15:
      need(16)
      v = formatGuid(B, P)
      P += 16
      return v
    case 22: {
      need(2)
      const n = B[P] | (B[P + 1] << 8)
      P += 2
      need(n)
      v = utf16(P, P + n)
      P += n
      return v
    }
    case 23: {
      need(2)
      const n = B[P] | (B[P + 1] << 8)
      P += 2
      need(n)
      v = ansi(P, P + n, isUtf8Out(outType))
      P += n
      return v
    }

    case 14:
    case 25: {
      need(2)
      const n = B[P] | (B[P + 1] << 8)
      P += 2
      need(n)
      v = copyBytes(B, P, P + n)
      P += n
      return v
    }
    case 12:
      need(8)
      v = DV.getFloat64(P, true)
      P += 8
      return v
    case 11:
      need(4)
      v = DV.getFloat32(P, true)
      P += 4
      return v
    case 18: {
      need(16)
      const st: TlSystemTime = {
        year: DV.getUint16(P, true),
        month: DV.getUint16(P + 2, true),
        dayOfWeek: DV.getUint16(P + 4, true),
        day: DV.getUint16(P + 6, true),
        hour: DV.getUint16(P + 8, true),
        minute: DV.getUint16(P + 10, true),
        second: DV.getUint16(P + 12, true),
        milliseconds: DV.getUint16(P + 14, true),
      }
      P += 16
      return st
    }
    case 19: {
      need(8)
      const n = 8 + 4 * B[P + 1]
      need(n)
      v = formatSid(B, P)
      P += n
      return v
    }
    default:
      throw new Overrun(`unknown InType ${inType}`)
  }
}

/** Returned by {@link tlReadValue} when the payload ends before the value. */
export const TL_FAIL: unique symbol = Symbol('tl-fail')
/** Position after the value read by the last {@link tlReadValue} call. */
export const tlCursor = {p: 0}

/**
 * One scalar value exactly as the payload decoder reads it (same strings, interning and
 * types), for compiled per-layout decoders: TL_FAIL on overrun; the next position in tlCursor.p.
 */
export function tlReadValue(b: Uint8Array, dv: DataView, p: number, end: number, pointerSize: number, inType: number, outType: number): unknown {
  B = b
  DV = dv
  P = p
  END = end
  PTR = pointerSize
  let v: unknown
  try {
    v = readValue(inType, outType)
  } catch {
    v = TL_FAIL
  }
  tlCursor.p = P
  B = EMPTY
  DV = EMPTY_DV
  return v
}

// Short 8-bit strings (function names, states, reasons): a 2-way cache indexed by the first four
// bytes, verified byte by byte (with the terminator) in one pass; decoded exactly as the payload
// decoder does.
const SSLOTS = 2048
const sBytes: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(SSLOTS).fill(undefined)
const sKind = new Uint8Array(SSLOTS)
/** The same bytes as little-endian words, zero padded (one word more when the length is a multiple of 4). */
const sWords: Array<Int32Array | undefined> = new Array<Int32Array | undefined>(SSLOTS).fill(undefined)
const sStr: string[] = new Array<string>(SSLOTS).fill('')

/** Slots of a field's own string table ({@link FieldStrings}). */
const FSLOTS = 16

/**
 * The strings of one field of one layout (function names, states: a few values that repeat),
 * by the same hash as the shared table; only strings that passed the field's value check. Keys
 * are the shared table's: the string's bytes as little-endian words (zero padded) and length.
 */
export interface FieldStrings {
  keys: Array<Int32Array | undefined>
  lens: Int32Array
  strs: string[]
}

export function newFieldStrings(): FieldStrings {
  return {keys: new Array<Int32Array | undefined>(FSLOTS).fill(undefined), lens: new Int32Array(FSLOTS), strs: new Array<string>(FSLOTS).fill('')}
}

/**
 * az() through the field's own table first; with `check`, a string it rejects is TL_FAIL (and
 * an accepted one is remembered as accepted, so the check runs once per distinct value).
 */
export function azf(b: Uint8Array, dv: DataView, p: number, end: number, kind: number, z: FieldStrings, check?: (s: string) => boolean): string | typeof TL_FAIL {
  const h = prefixHash(b, p, end, kind)
  const fs = h & (FSLOTS - 1)
  const kw = z.keys[fs]
  if (kw !== undefined) {
    const n = z.lens[fs]
    if (p + n < end && b[p + n] === 0) {
      // Word-wise (unaligned reads), then the last partial word byte by byte.
      const nw = n >>> 2
      let i = 0
      while (i < nw && dv.getInt32(p + 4 * i, true) === kw[i]) i++
      if (i === nw) {
        let j = nw << 2
        const last = kw[nw]
        while (j < n && b[p + j] === ((last >>> (8 * (j & 3))) & 0xff)) j++
        if (j === n) {
          tlCursor.p = p + n + 1
          return z.strs[fs]
        }
      }
    }
  }
  const s = azHashed(b, p, end, kind, h)
  if (s === TL_FAIL || (check !== undefined && !check(s))) return TL_FAIL
  if (lastKey !== undefined) {
    z.keys[fs] = lastWords
    z.lens[fs] = lastKey.length
    z.strs[fs] = s
  }
  return s
}

/** The shared table's key of the string the last az() call returned (undefined: not cached). */
let lastKey: Uint8Array | undefined
let lastWords: Int32Array | undefined

/** NUL-terminated 8-bit string at b[p…] (kind 2 CP1252, 3 UTF-8): TL_FAIL when unterminated. */
export function az(b: Uint8Array, p: number, end: number, kind: number): string | typeof TL_FAIL {
  return azHashed(b, p, end, kind, prefixHash(b, p, end, kind))
}

/** Hash of the first (up to) 16 bytes of the string at b[p…] (addresses share their first 8). */
function prefixHash(b: Uint8Array, p: number, end: number, kind: number): number {
  let h = 0x811c9dc5 ^ kind
  const lim = p + 16 < end ? p + 16 : end
  for (let j = p; j < lim; j++) {
    const c = b[j]
    if (c === 0) break
    h = Math.imul(h ^ c, 0x01000193)
  }
  return h ^ (h >>> 15)
}

/** az() with the hash of the first bytes already computed. */
function azHashed(b: Uint8Array, p: number, end: number, kind: number, h: number): string | typeof TL_FAIL {
  const slot = (h >>> 0) & (SSLOTS - 2)
  for (let way = slot; way < slot + 2; way++) {
    const k = sBytes[way]
    if (k === undefined || sKind[way] !== kind) continue
    const n = k.length
    if (p + n >= end || b[p + n] !== 0) continue
    let j = 0
    while (j < n && k[j] === b[p + j]) j++
    if (j === n) {
      tlCursor.p = p + n + 1
      lastKey = k
      lastWords = sWords[way]
      return sStr[way]
    }
  }
  lastKey = undefined
  let i = p
  let or = 0
  while (i < end) {
    const c = b[i]
    if (c === 0) break
    or |= c
    i++
  }
  if (i >= end) return TL_FAIL
  const n = i - p
  tlCursor.p = i + 1
  let s: string
  if (or < 0x80) {
    s = ''
    for (let j = p; j < i; j++) s += String.fromCharCode(b[j])
  } else if (kind === 3) s = Buffer.from(b.buffer, b.byteOffset + p, n).toString('utf8')
  else s = decodeCp1252(b, p, i)
  if (n <= 64) {
    // the newer entry first
    sBytes[slot + 1] = sBytes[slot]
    sWords[slot + 1] = sWords[slot]
    sKind[slot + 1] = sKind[slot]
    sStr[slot + 1] = sStr[slot]
    const words = new Int32Array((n + 4) >>> 2)
    const copy = new Uint8Array(words.buffer, 0, n)
    for (let j = 0; j < n; j++) copy[j] = b[p + j]
    sBytes[slot] = copy
    sWords[slot] = words
    lastWords = words
    sKind[slot] = kind
    sStr[slot] = s
    lastKey = copy
  }
  return s
}

/** Byte size of fixed-size InTypes (99 = pointer size), 0 for variable-size ones. */
const FIXED_SIZE = [0, 0, 0, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8, 4, 0, 16, 99, 8, 16, 0, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]

function decodeRange(fields: TlField[], i: number, iEnd: number, obj: Record<string, unknown>, depth: number): void {
  if (depth > 64) throw TOO_DEEP
  while (i < iEnd) {
    const f = fields[i]
    if (++WORK > WORK_LIMIT) throw TOO_MUCH
    const arity = f.arity
    if (f.inType === 24) {
      if (arity === 0) {
        const o: Record<string, unknown> = {}
        obj[f.key] = o
        decodeRange(fields, i + 1, f.end, o, depth + 1)
      } else {
        let n: number
        if (arity === ARITY_CCOUNT) n = f.ccount
        else {
          need(2)
          n = B[P] | (B[P + 1] << 8)
          P += 2
        }
        const arr: unknown[] = []
        obj[f.key] = arr
        for (let k = 0; k < n; k++) {
          if (++WORK > WORK_LIMIT) throw TOO_MUCH
          const o: Record<string, unknown> = {}
          arr.push(o)
          decodeRange(fields, i + 1, f.end, o, depth + 1)
        }
      }
      i = f.end
      continue
    }
    if (arity === 0) obj[f.key] = readValue(f.inType, f.outType)
    else if (arity === ARITY_CUSTOM) {
      need(2)
      const n = B[P] | (B[P + 1] << 8)
      P += 2
      need(n)
      obj[f.key] = copyBytes(B, P, P + n)
      P += n
    } else {
      let n: number
      if (arity === ARITY_CCOUNT) n = f.ccount
      else {
        need(2)
        n = B[P] | (B[P + 1] << 8)
        P += 2
      }
      const fixed = FIXED_SIZE[f.inType]
      if (fixed > 0 && P + n * (fixed === 99 ? PTR : fixed) > END) throw OVERRUN
      WORK += n
      if (WORK > WORK_LIMIT) throw TOO_MUCH
      const arr: unknown[] = []
      obj[f.key] = arr
      for (let k = 0; k < n; k++) arr.push(readValue(f.inType, f.outType))
    }
    i++
  }
}

export interface TlDecodeResult {
  fields: Record<string, unknown>
  /** Bytes consumed (relative to the payload start). */
  consumed: number
  error: string | undefined
}

/**
 * Decodes the payload at b[start, end) against the metadata. Bounds-checked; on overrun returns
 * the fields decoded so far plus an error (the raw remainder goes in `fields.__remainder`).
 */
export function decodeTlPayload(
  meta: TlEventMeta,
  b: Uint8Array,
  dv: DataView,
  start: number,
  end: number,
  pointerSize: number,
): TlDecodeResult {
  const fields = decodeTlFields(meta, b, dv, start, end, pointerSize)
  return {fields, consumed: lastConsumed, error: lastError}
}

/** Bytes consumed and error of the last {@link decodeTlFields} call. */
export let lastConsumed = 0
export let lastError: string | undefined

/** Allocation-light form of {@link decodeTlPayload}: details in lastConsumed / lastError. */
export function decodeTlFields(meta: TlEventMeta, b: Uint8Array, dv: DataView, start: number, end: number, pointerSize: number): Record<string, unknown> {
  B = b
  DV = dv
  P = start
  END = end
  PTR = pointerSize
  WORK = 0
  WORK_LIMIT = 64 * (end - start + 16)
  let fields: Record<string, unknown> | undefined
  let error: string | undefined
  try {
    let sc = meta._scalar
    // Compile only metadata that repeats (and within a process-wide budget), so files with
    // ever-new metadata can't turn decoding into code generation.
    if (sc === undefined && (meta._uses = (meta._uses ?? 0) + 1) >= COMPILE_AFTER_USES) sc = meta._scalar = compileScalar(meta)
    fields = sc != null ? sc(readValue) : sc === null || (meta._uses ?? 0) >= COMPILE_AFTER_USES ? decodeFast(meta, meta.fields, 0, meta.fields.length, 0) : decodeGeneric(meta)
  } catch (e) {
    // Slow path for the error case: decode again building objects field by field, so what
    // decoded before the problem is kept.
    error = e instanceof Error ? e.message : String(e)
    if (!(e instanceof Overrun)) error = `decode failed: ${error}`
    fields = {}
    P = start
    WORK = 0
    try {
      decodeRange(meta.fields, 0, meta.fields.length, fields, 0)
    } catch {
      // the same problem again
    }
    if (P < END) fields.__remainder = copyBytes(b, P, END)
  }
  lastConsumed = P - start
  lastError = error
  B = EMPTY
  DV = EMPTY_DV
  return fields
}

const EMPTY = new Uint8Array(0)
const EMPTY_DV = new DataView(EMPTY.buffer)

// Fast path: the values of a member group are decoded into an array and the object is made by a
// factory compiled once per metadata and group (an object literal with the field names), so
// every event of a kind gets objects of one shape without per-property keyed stores.

type Factory = (v: unknown[]) => Record<string, unknown>
const VALS: unknown[][] = []

/** Compiled functions made so far, and the process-wide cap. */
let compiled = 0
const MAX_COMPILED = 4096
export const COMPILE_AFTER_USES = 4

/** Decoding without compiled helpers (first uses of a metadata blob). */
function decodeGeneric(meta: TlEventMeta): Record<string, unknown> {
  const obj: Record<string, unknown> = {}
  decodeRange(meta.fields, 0, meta.fields.length, obj, 0)
  return obj
}

/** Runs a code generator within the process-wide budget. */
export function compileBudgeted<T>(make: () => T): T | null {
  if (compiled >= MAX_COMPILED) return null
  compiled++
  try {
    return make()
  } catch {
    return null
  }
}

function compileFactory(keys: string[]): Factory | null {
  if (keys.length === 0 || keys.length > 200 || keys.some((k) => k === '__proto__')) return null
  try {
    // Keys are JSON string literals (escaped); values are read by index.
    return new Function('v', `return {${keys.map((k, i) => `${JSON.stringify(k)}: v[${i}]`).join(', ')}}`) as Factory
  } catch {
    return null
  }
}

/**
 * For metadata whose fields are all scalars (the common case), one compiled function reads the
 * values in order straight into an object literal: `rv => ({"a": rv(8, 0), "b": rv(2, 35)})`.
 */
function compileScalar(meta: TlEventMeta): ((rv: (inType: number, outType: number) => unknown) => Record<string, unknown>) | null {
  const f = meta.fields
  if (f.length === 0 || f.length > 200) return null
  for (const x of f) if (x.arity !== 0 || x.inType === 24 || x.key === '__proto__') return null
  const body = f.map((x) => `${JSON.stringify(x.key)}: rv(${x.inType}, ${x.outType})`).join(', ')
  return compileBudgeted(() => new Function('rv', `return {${body}}`) as (rv: (inType: number, outType: number) => unknown) => Record<string, unknown>)
}

function factoryFor(meta: TlEventMeta, fields: TlField[], i0: number, iEnd: number): Factory | null {
  let arr = meta._factories
  if (arr === undefined) {
    arr = []
    meta._factories = arr
  }
  let f = arr[i0]
  if (f === undefined) {
    const keys: string[] = []
    for (let i = i0; i < iEnd; i = fields[i].end) keys.push(fields[i].key)
    f = compileFactory(keys)
    arr[i0] = f
  }
  return f
}

function decodeFast(meta: TlEventMeta, fields: TlField[], i0: number, iEnd: number, depth: number): Record<string, unknown> {
  if (depth > 64) throw TOO_DEEP
  const make = factoryFor(meta, fields, i0, iEnd)
  if (make === null) {
    const obj: Record<string, unknown> = {}
    decodeRange(fields, i0, iEnd, obj, depth)
    return obj
  }
  let vals = VALS[depth]
  if (vals === undefined) VALS[depth] = vals = []
  let n = 0
  let i = i0
  while (i < iEnd) {
    const f = fields[i]
    if (++WORK > WORK_LIMIT) throw TOO_MUCH
    const arity = f.arity
    let v: unknown
    if (f.inType === 24) {
      if (arity === 0) v = decodeFast(meta, fields, i + 1, f.end, depth + 1)
      else {
        let cnt: number
        if (arity === ARITY_CCOUNT) cnt = f.ccount
        else {
          need(2)
          cnt = B[P] | (B[P + 1] << 8)
          P += 2
        }
        const arr: unknown[] = []
        for (let k = 0; k < cnt; k++) {
          if (++WORK > WORK_LIMIT) throw TOO_MUCH
          arr.push(decodeFast(meta, fields, i + 1, f.end, depth + 1))
        }
        v = arr
      }
      vals[n++] = v
      i = f.end
      continue
    }
    if (arity === 0) v = readValue(f.inType, f.outType)
    else if (arity === ARITY_CUSTOM) {
      need(2)
      const cnt = B[P] | (B[P + 1] << 8)
      P += 2
      need(cnt)
      v = copyBytes(B, P, P + cnt)
      P += cnt
    } else {
      let cnt: number
      if (arity === ARITY_CCOUNT) cnt = f.ccount
      else {
        need(2)
        cnt = B[P] | (B[P + 1] << 8)
        P += 2
      }
      const fixed = FIXED_SIZE[f.inType]
      if (fixed > 0 && P + cnt * (fixed === 99 ? PTR : fixed) > END) throw OVERRUN
      WORK += cnt
      if (WORK > WORK_LIMIT) throw TOO_MUCH
      const arr: unknown[] = []
      for (let k = 0; k < cnt; k++) arr.push(readValue(f.inType, f.outType))
      v = arr
    }
    vals[n++] = v
    i++
  }
  const obj = make(vals)
  for (let k = 0; k < n; k++) vals[k] = undefined
  return obj
}
