/** TRACE_LOGFILE_HEADER (etl-format.md §6) and timestamp conversion (§7). */
import type {EtlFileHeader} from './types.js'

export const FILETIME_UNIX_EPOCH = 116444736000000000n
export const EVENT_TRACE_COMPRESSED_MODE = 0x04000000

function utf16z(b: Uint8Array, pos: number, end: number): [string, number] {
  let i = pos
  while (i + 1 < end && (b[i] | b[i + 1]) !== 0) i += 2
  const s = Buffer.from(b.buffer, b.byteOffset + pos, Math.max(0, Math.min(i, end) - pos) & ~1).toString('utf16le')
  return [s, Math.min(i + 2, end)]
}

function wcharFixed(b: Uint8Array, pos: number, chars: number): string {
  const [s] = utf16z(b, pos, pos + chars * 2)
  return s
}

export function emptyHeader(): EtlFileHeader {
  return {
    present: false,
    bufferSize: 0,
    versionMajor: 0,
    versionMinor: 0,
    versionSub: 0,
    versionSubMinor: 0,
    version: 0,
    providerVersion: 0,
    numberOfProcessors: 0,
    endTime: 0n,
    timerResolution: 0,
    maximumFileSize: 0,
    logFileMode: 0,
    buffersWritten: 0,
    startBuffers: 0,
    pointerSize: 8,
    eventsLost: 0,
    cpuSpeedMHz: 0,
    timeZone: {bias: 0, standardName: '', standardBias: 0, daylightName: '', daylightBias: 0},
    bootTime: 0n,
    perfFreq: 0n,
    startTime: 0n,
    clockType: 0,
    buffersLost: 0,
    loggerName: '',
    logFileName: '',
    headerTimestamp: 0n,
    startTimeNs: 0n,
    clockFrequency: 10_000_000,
    compressed: false,
    compressionFormat: 0,
    dataLength: 0,
  }
}

/**
 * Parses the header payload at b[pos, pos+len). `ptr` = pointer size from the record type
 * (8 for SYSTEM64, 4 for SYSTEM32). Returns undefined (with a reason) if too short.
 */
export function parseLogfileHeader(b: Uint8Array, pos: number, len: number, ptr: number, headerTimestamp: bigint): EtlFileHeader | string {
  const min = ptr === 8 ? 0x118 : 0x110
  if (len < min) return `header record payload of ${len} bytes is shorter than the ${min}-byte TRACE_LOGFILE_HEADER`
  const dv = new DataView(b.buffer, b.byteOffset + pos, len)
  const h = emptyHeader()
  h.present = true
  h.dataLength = len
  h.bufferSize = dv.getUint32(0x00, true)
  h.version = dv.getUint32(0x04, true)
  h.versionMajor = dv.getUint8(0x04)
  h.versionMinor = dv.getUint8(0x05)
  h.versionSub = dv.getUint8(0x06)
  h.versionSubMinor = dv.getUint8(0x07)
  h.providerVersion = dv.getUint32(0x08, true)
  h.numberOfProcessors = dv.getUint32(0x0c, true)
  h.endTime = dv.getBigInt64(0x10, true)
  h.timerResolution = dv.getUint32(0x18, true)
  h.maximumFileSize = dv.getUint32(0x1c, true)
  h.logFileMode = dv.getUint32(0x20, true)
  h.buffersWritten = dv.getUint32(0x24, true)
  h.startBuffers = dv.getUint32(0x28, true)
  h.pointerSize = dv.getUint32(0x2c, true)
  h.eventsLost = dv.getUint32(0x30, true)
  h.cpuSpeedMHz = dv.getUint32(0x34, true)
  const tz = 0x38 + 2 * ptr
  h.timeZone = {
    bias: dv.getInt32(tz, true),
    standardName: wcharFixed(b, pos + tz + 4, 32),
    standardBias: dv.getInt32(tz + 4 + 64 + 16, true),
    daylightName: wcharFixed(b, pos + tz + 4 + 64 + 16 + 4, 32),
    daylightBias: dv.getInt32(tz + 4 + 64 + 16 + 4 + 64 + 16, true),
  }
  const after = tz + 176 // 172-byte TIME_ZONE_INFORMATION + 4 bytes padding
  h.bootTime = dv.getBigInt64(after, true)
  h.perfFreq = dv.getBigInt64(after + 8, true)
  h.startTime = dv.getBigInt64(after + 16, true)
  h.clockType = dv.getUint32(after + 24, true)
  h.buffersLost = dv.getUint32(after + 28, true)
  const [logger, p2] = utf16z(b, pos + after + 32, pos + len)
  h.loggerName = logger
  const [logfile] = utf16z(b, p2, pos + len)
  h.logFileName = logfile
  h.headerTimestamp = headerTimestamp
  h.startTimeNs = (h.startTime - FILETIME_UNIX_EPOCH) * 100n
  h.compressed = (h.logFileMode & EVENT_TRACE_COMPRESSED_MODE) !== 0
  return h
}

/** Converts raw timestamps to absolute nanoseconds (etl-format.md §7), avoiding BigInt where exact. */
export class Clock {
  readonly freq: number
  private readonly freqBig: bigint
  readonly ts0: bigint
  private readonly ts0Lo: number
  private readonly ts0Hi: number
  readonly baseNs: bigint
  /** 1e9 / freq when that is an integer (e.g. 100 for a 10 MHz clock), else 0. */
  private readonly mult: number

  constructor(ts0: bigint, baseNs: bigint, freq: number) {
    this.freq = freq > 0 && Number.isSafeInteger(freq) ? freq : 10_000_000
    this.freqBig = BigInt(this.freq)
    this.ts0 = BigInt.asUintN(64, ts0)
    this.ts0Lo = Number(this.ts0 & 0xffffffffn)
    this.ts0Hi = Number(this.ts0 >> 32n)
    this.baseNs = baseNs
    this.mult = 1e9 % this.freq === 0 ? 1e9 / this.freq : 0
  }

  /** ts − ts0 in clock ticks as a Number (exact while |Δ| < 2^53). */
  delta(lo: number, hi: number): number {
    return (hi - this.ts0Hi) * 4294967296 + (lo - this.ts0Lo)
  }

  /** Nanoseconds since ts0 (floor), as a Number when exact, else undefined. */
  relNs(delta: number): number | undefined {
    if (!Number.isSafeInteger(delta)) return undefined
    if (this.mult !== 0) {
      const ns = delta * this.mult
      return Number.isSafeInteger(ns) ? ns : undefined
    }
    const f = this.freq
    const q = Math.floor(delta / f)
    const r = delta - q * f
    const a = r * 1e9
    if (!Number.isSafeInteger(a) || !Number.isSafeInteger(q * 1e9)) return undefined
    let fr = Math.floor(a / f)
    if (fr * f > a) fr--
    else if ((fr + 1) * f <= a) fr++
    const ns = q * 1e9 + fr
    return Number.isSafeInteger(ns) ? ns : undefined
  }

  /** Absolute ns since the Unix epoch for a raw timestamp given as (lo, hi) u32 halves. */
  absNs(lo: number, hi: number): bigint {
    const rel = this.relNs(this.delta(lo, hi))
    if (rel !== undefined) return this.baseNs + BigInt(rel)
    return this.absNsBig(BigInt(hi) * 4294967296n + BigInt(lo))
  }

  absNsBig(raw: bigint): bigint {
    const num = (raw - this.ts0) * 1_000_000_000n
    let q = num / this.freqBig
    if (num % this.freqBig !== 0n && num < 0n) q -= 1n
    return this.baseNs + q
  }

  /** FILETIME (100 ns ticks) of a raw timestamp: StartTime + floor((ts−ts0)·10⁷/freq). */
  fileTime(raw: bigint, startTime: bigint): bigint {
    const num = (raw - this.ts0) * 10_000_000n
    let q = num / this.freqBig
    if (num % this.freqBig !== 0n && num < 0n) q -= 1n
    return startTime + q
  }
}

/** Converts absolute Unix nanoseconds to a FILETIME (floor to 100 ns). */
export function unixNsToFileTime(ns: bigint): bigint {
  let q = ns / 100n
  if (ns % 100n !== 0n && ns < 0n) q -= 1n
  return q + FILETIME_UNIX_EPOCH
}
