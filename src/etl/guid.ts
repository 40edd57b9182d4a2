/**
 * GUID helpers: Windows GUID byte layout (Data1 u32 LE, Data2 u16 LE, Data3 u16 LE, Data4 raw),
 * formatting with a per-reader cache, and the TraceLogging/EventSource name-derived GUID
 * (etl-format.md §9.7).
 */
import {createHash} from 'node:crypto'

const HEX2: string[] = []
for (let i = 0; i < 256; i++) HEX2.push(i.toString(16).padStart(2, '0'))

/** Formats the 16 GUID bytes at `off` as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (lowercase). */
export function formatGuid(b: Uint8Array, off: number): string {
  return (
    HEX2[b[off + 3]] + HEX2[b[off + 2]] + HEX2[b[off + 1]] + HEX2[b[off]] + '-' +
    HEX2[b[off + 5]] + HEX2[b[off + 4]] + '-' +
    HEX2[b[off + 7]] + HEX2[b[off + 6]] + '-' +
    HEX2[b[off + 8]] + HEX2[b[off + 9]] + '-' +
    HEX2[b[off + 10]] + HEX2[b[off + 11]] + HEX2[b[off + 12]] + HEX2[b[off + 13]] + HEX2[b[off + 14]] + HEX2[b[off + 15]]
  )
}

/** Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (braces optional) into Windows GUID bytes. */
export function guidToBytes(s: string): Uint8Array {
  const h = s.replace(/[{}-]/g, '')
  if (!/^[0-9a-fA-F]{32}$/.test(h)) throw new Error(`not a GUID: ${s}`)
  const raw = new Uint8Array(16)
  for (let i = 0; i < 16; i++) raw[i] = parseInt(h.slice(i * 2, i * 2 + 2), 16)
  // Data1..Data3 are little-endian on disk.
  const out = new Uint8Array(16)
  out[0] = raw[3]; out[1] = raw[2]; out[2] = raw[1]; out[3] = raw[0]
  out[4] = raw[5]; out[5] = raw[4]
  out[6] = raw[7]; out[7] = raw[6]
  out.set(raw.subarray(8), 8)
  return out
}

export function isZeroGuid(b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (b[off + i] !== 0) return false
  return true
}

interface CacheNode {
  b: number
  c: number
  d: number
  s: string
}

/**
 * Allocation-free GUID → string cache: the 16 bytes are read as four u32 and looked up in a
 * two-level structure, so the common case (a handful of providers) costs four reads and a Map get.
 */
export class GuidCache {
  private readonly map = new Map<number, CacheNode[]>()
  private size = 0
  private la = -1
  private last: CacheNode = {b: 0, c: 0, d: 0, s: ''}
  constructor(private readonly limit = 65536) {}

  get(b: Uint8Array, dv: DataView, off: number): string {
    const a = dv.getUint32(off, true)
    const x = dv.getUint32(off + 4, true)
    const y = dv.getUint32(off + 8, true)
    const z = dv.getUint32(off + 12, true)
    const l = this.last
    if (a === this.la && l.b === x && l.c === y && l.d === z) return l.s
    let bucket = this.map.get(a)
    if (bucket !== undefined) {
      for (let i = 0; i < bucket.length; i++) {
        const n = bucket[i]
        if (n.b === x && n.c === y && n.d === z) {
          this.la = a
          this.last = n
          return n.s
        }
      }
    }
    const s = formatGuid(b, off)
    if (this.size >= this.limit) return s // unbounded distinct GUIDs (activity ids): don't cache
    if (bucket === undefined) {
      bucket = []
      this.map.set(a, bucket)
    }
    bucket.push({b: x, c: y, d: z, s})
    this.size++
    return s
  }
}

const TL_NAMESPACE = new Uint8Array([0x48, 0x2c, 0x2d, 0xb2, 0xc3, 0x90, 0x47, 0xc8, 0x87, 0xf8, 0x1a, 0x15, 0xbf, 0xc1, 0x30, 0xfb])

/** Bytes of the provider GUID TraceLogging/EventSource derive from a provider name (§9.7). */
export function providerGuidBytesFromName(name: string): Uint8Array {
  const upper = name.toUpperCase()
  const be = new Uint8Array(upper.length * 2)
  for (let i = 0; i < upper.length; i++) {
    const c = upper.charCodeAt(i)
    be[i * 2] = c >>> 8
    be[i * 2 + 1] = c & 0xff
  }
  const h = createHash('sha1').update(TL_NAMESPACE).update(be).digest()
  const g = new Uint8Array(h.subarray(0, 16))
  g[7] = (g[7] & 0x0f) | 0x50
  return g
}

/** Provider GUID string derived from a TraceLogging provider name (e.g. "MySource" → a61ea624-…). */
export function providerGuidFromName(name: string): string {
  return formatGuid(providerGuidBytesFromName(name), 0)
}
