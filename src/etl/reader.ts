/**
 * Native .etl reader: container (WMI buffers, compression), record headers, extended items,
 * TraceLogging decoding and the per-CPU k-way merge (etl-format.md §1–§9).
 *
 * Memory: an index pass reads only the 72-byte buffer headers; the data pass holds one decoded
 * buffer per CPU (bounded further by `memoryBudget`). Bad data never throws out of the
 * iteration: it produces diagnostics, and the reader skips to the next record or buffer.
 */
import {readSync} from 'node:fs'
import {open, type FileHandle} from 'node:fs/promises'
import {GuidCache} from './guid.js'
import {EtlEventRecord, EtlFastRecord, EtlFastViewRecord} from './event.js'
import {kernelGroupGuid, kernelGroupName} from './kernel.js'
import {Clock, emptyHeader, parseLogfileHeader} from './logfile.js'
import * as tlDecode from './tracelogging.js'
import {TlMetadataCache, type TlEventMeta} from './tracelogging.js'
import {RECORD_KINDS, type EtlDiagnostic, type EtlEvent, type EtlFileHeader, type EtlOptions, type EtlRecordKind, type EtlStats} from './types.js'
import {COMPRESSION_FORMAT_LZNT1, COMPRESSION_FORMAT_XPRESS, COMPRESSION_FORMAT_XPRESS_HUFF, decompress, type DecompressResult} from './xpress.js'

export const WMI_BUFFER_HEADER_SIZE = 72
/** Outcomes of walking a record's extended data items. */
const EXT_OK = 0
const EXT_HEADER_PAST_END = 1
const EXT_BAD_SIZES = 2

const DEFAULT_MAX_BUFFER = 64 * 1024 * 1024
/** Slots of the layout table of {@link EtlReader.tryFast} (direct-mapped). */
const LAYOUT_SLOTS = 1024

/** One TraceLogging record layout of the fast path: the bytes that identify it and what they mean. */
interface LayoutEntry {
  /** Length of the extended data items. */
  len: number
  /** {@link TlMetadataCache.generation} of meta. */
  gen: number
  /** Provider GUID as four words. */
  g0: number
  g1: number
  g2: number
  g3: number
  /** Last word of the extended items (checked before the full comparison). */
  tail: number
  /** The extended items' bytes as little-endian words (zero padded). */
  words: Int32Array
  meta: TlEventMeta
  providerName: string | undefined
  guid: string
  /** The decoders the tlFast hook gave for this layout, by pointer size. */
  dec4: ((b: Uint8Array, dv: DataView, start: number, end: number) => unknown) | undefined
  dec8: ((b: Uint8Array, dv: DataView, start: number, end: number) => unknown) | undefined
}

/** Whether b[off, off+len) equals the bytes held in `words` (w: an Int32Array over b's memory, if 4-aligned). */
/** Longest extended items a layout entry keeps a copy of (1,024 entries at most). */
const MAX_LAYOUT_BYTES = 4096
const NO_WORDS = new Int32Array(0)

function sameRegion(words: Int32Array, b: Uint8Array, dv: DataView, off: number, len: number, w: Int32Array | undefined): boolean {
  const nw = len >>> 2
  if (w !== undefined && (off & 3) === 0) {
    const base = off >>> 2
    for (let k = 0; k < nw; k++) if (words[k] !== w[base + k]) return false
  } else {
    for (let k = 0; k < nw; k++) if (words[k] !== dv.getInt32(off + 4 * k, true)) return false
  }
  const rest = len & 3
  if (rest !== 0) {
    const last = words[nw]
    for (let i = 0; i < rest; i++) if (((last >>> (8 * i)) & 0xff) !== b[off + 4 * nw + i]) return false
  }
  return true
}

/** Whether entry x is the layout of the extended items at b[q0…q0+len) of this provider (g0…g3). */
function isLayout(x: LayoutEntry | undefined, b: Uint8Array, dv: DataView, q0: number, len: number, tail: number, gen: number, g0: number, g1: number, g2: number, g3: number, w: Int32Array | undefined): x is LayoutEntry {
  return x !== undefined && x.len === len && x.tail === tail && x.gen === gen && x.g0 === g0 && x.g1 === g1 && x.g2 === g2 && x.g3 === g3 && sameRegion(x.words, b, dv, q0, len, w)
}

const MAX_DIAG_SAMPLE = 100
const CHUNK_SIZE = 1 << 20

export const BUFFER_FLAG_EVENTS_LOST = 0x0002
export const BUFFER_FLAG_BUFFER_LOST = 0x0004
export const BUFFER_FLAG_PROC_INDEX = 0x0020
export const BUFFER_FLAG_COMPRESSED = 0x0040

/** One entry of the buffer index (from the 72-byte WMI_BUFFER_HEADER, §2). */
export interface BufferInfo {
  /** File offset of the buffer header. */
  offset: number
  /** BufferSize (on disk). */
  size: number
  /** Bytes of the buffer actually present in the file (< size when truncated). */
  avail: number
  savedOffset: number
  offsetField: number
  /** End of valid data relative to the buffer start (uncompressed buffers). */
  end: number
  seq: number
  proc: number
  flags: number
  type: number
  state: number
  compressed: boolean
  /** Order in the file. */
  index: number
}

interface Cursor {
  bufs: BufferInfo[]
  next: number
  info: BufferInfo | undefined
  payload: Uint8Array | undefined
  dv: DataView | undefined
  end: number
  pos: number
  /** File offset of payload position 0, or -1 for compressed buffers. */
  base: number
  head: EtlEvent | undefined
  key: number
  tie: number
  lastLo: number
  lastHi: number
  /** Payload dropped to respect the memory budget; reload before advancing. */
  evicted: boolean
  /** Int32 view of the payload (when 4-aligned in memory), for word-wise metadata compares. */
  w: Int32Array | undefined
  /** Read-ahead of the next buffers. */
  pfq: Array<{info: BufferInfo; p: Promise<Buffer>}>
  /** With tlFastEmit: the reused envelope of a fast head event. */
  view: EtlFastViewRecord | undefined
}

const ZERO_GUID = '00000000-0000-0000-0000-000000000000'

function emptyKindCounts(): Record<EtlRecordKind, number> {
  const o = {} as Record<EtlRecordKind, number>
  for (const k of RECORD_KINDS) o[k] = 0
  return o
}

export function emptyStats(): EtlStats {
  return {
    fileSize: 0,
    buffers: 0,
    compressedBuffers: 0,
    buffersParsedToEnd: 0,
    buffersWithEventsLostFlag: 0,
    buffersWithBufferLostFlag: 0,
    records: 0,
    recordsByKind: emptyKindCounts(),
    skippedRecords: 0,
    skippedBytes: 0,
    diagnostics: 0,
    diagnosticsSample: [],
    traceLoggingEvents: 0,
    metadataCacheEntries: 0,
    bytesRead: 0,
    maxLiveBuffers: 0,
  }
}

export class EtlReader {
  header: EtlFileHeader = emptyHeader()
  readonly stats: EtlStats = emptyStats()
  readonly index: BufferInfo[] = []
  private fh: FileHandle | undefined
  private fileSize = 0
  private clock = new Clock(0n, 0n, 10_000_000)
  private readonly guids = new GuidCache()
  private readonly tl = new TlMetadataCache()
  private readonly reportedMeta = new WeakSet<object>()
  private readonly maxBuffer: number
  private readonly budget: number
  private readonly batchSize: number
  private readonly decodeTl: boolean
  private readonly fastHook: EtlOptions['tlFast']
  private readonly fastEmit: EtlOptions['tlFastEmit']
  private compressionFormat = COMPRESSION_FORMAT_XPRESS
  private liveBytes = 0
  private prefetchDepth = 1
  private chunks: Array<{start: number; end: number; p: Promise<Buffer>}> = []
  private chunkSlots = 4
  private liveBuffers = 0

  constructor(
    readonly file: string,
    private readonly opts: EtlOptions = {},
  ) {
    this.maxBuffer = opts.maxBufferSize ?? DEFAULT_MAX_BUFFER
    this.budget = opts.memoryBudget ?? 256 * 1024 * 1024
    this.batchSize = Math.max(1, opts.batchSize ?? 1024)
    this.decodeTl = opts.decodeTraceLogging !== false
    this.fastHook = this.decodeTl ? opts.tlFast : undefined
    this.fastEmit = this.fastHook !== undefined ? opts.tlFastEmit : undefined
  }

  // ------------------------------------------------------------------ diagnostics & I/O

  diag(offset: number, message: string, expected?: string, skippedBytes?: number): void {
    const d: EtlDiagnostic = {file: this.file, offset, message}
    if (expected !== undefined) d.expected = expected
    if (skippedBytes !== undefined && skippedBytes > 0) {
      d.skippedBytes = skippedBytes
      this.stats.skippedBytes += skippedBytes
    }
    this.stats.diagnostics++
    if (this.stats.diagnosticsSample.length < MAX_DIAG_SAMPLE) this.stats.diagnosticsSample.push(d)
    const cb = this.opts.onDiagnostic
    if (cb !== undefined) {
      try {
        cb(d)
      } catch (e) {
        // The caller's own error (e.g. a strict mode that stops at the first problem): let it
        // propagate unchanged through the reader's safety nets.
        this.callbackError = e
        throw e
      }
    }
  }

  /** Last error thrown by the onDiagnostic callback. */
  private callbackError: unknown = undefined

  private async readAt(pos: number, len: number, into?: Buffer): Promise<Buffer> {
    if (!this.fh) throw new Error(`${this.file}: the .etl file is closed`)
    const buf = into ?? Buffer.allocUnsafe(len)
    let got = 0
    while (got < len) {
      const {bytesRead} = await this.fh!.read(buf, got, len - got, pos + got)
      if (bytesRead === 0) break
      got += bytesRead
    }
    this.stats.bytesRead += got
    return got === len ? buf : buf.subarray(0, got)
  }

  /**
   * Small synchronous positional read on the FileHandle's descriptor, used only for the 72-byte
   * buffer headers of the index pass (a thread-pool round trip per header costs 10x more).
   */
  private readHeaderSync(pos: number, len: number): Buffer {
    const buf = Buffer.allocUnsafe(len)
    let got = 0
    while (got < len) {
      const n = readSync(this.fh!.fd, buf, got, len - got, pos + got)
      if (n === 0) break
      got += n
    }
    this.stats.bytesRead += got
    return got === len ? buf : buf.subarray(0, got)
  }

  async open(): Promise<void> {
    this.fh = await open(this.file, 'r')
    const st = await this.fh.stat()
    this.fileSize = st.size
    this.stats.fileSize = st.size
    await this.buildIndex()
    await this.readHeader()
  }

  async close(): Promise<void> {
    const fh = this.fh
    this.fh = undefined
    if (fh) await fh.close()
  }

  // ------------------------------------------------------------------ buffer index (§1, §2)

  /** Plausibility of a buffer header found while re-synchronizing after corruption. */
  private plausible(h: Buffer, p: number, strict: boolean): boolean {
    if (p + WMI_BUFFER_HEADER_SIZE > h.length) return false
    const size = h.readUInt32LE(p)
    if (size < WMI_BUFFER_HEADER_SIZE || size > this.maxBuffer) return false
    const saved = h.readUInt32LE(p + 4)
    const off = h.readUInt32LE(p + 0x30)
    const flags = h.readUInt16LE(p + 0x34)
    const type = h.readUInt16LE(p + 0x36)
    if (!strict) return true
    if ((flags & ~0x7f) !== 0 || type > 7) return false
    if (flags & BUFFER_FLAG_COMPRESSED) return saved >= WMI_BUFFER_HEADER_SIZE && saved <= this.maxBuffer
    if (!((off >= WMI_BUFFER_HEADER_SIZE && off <= size) || (saved >= WMI_BUFFER_HEADER_SIZE && saved <= size))) return false
    const proc = flags & BUFFER_FLAG_PROC_INDEX ? h.readUInt16LE(p + 0x28) : h[p + 0x28]
    if (proc > 4096) return false
    // First record marker, when in the window: a trace header (0xC0) or a WPP message (0x90).
    if (p + 76 <= h.length && (off > 76 || saved > 76)) {
      const b3 = h[p + 75]
      const m = h.readUInt32LE(p + 72)
      if (m !== 0xffffffff && (b3 & 0xc0) !== 0xc0 && (b3 & 0xd0) !== 0x90) return false
    }
    return true
  }

  private async resync(from: number, stride: number): Promise<number> {
    // 1. Regular files: buffers sit at multiples of the session buffer size.
    if (stride >= WMI_BUFFER_HEADER_SIZE && !this.header.compressed) {
      for (let p = from + stride; p + WMI_BUFFER_HEADER_SIZE <= this.fileSize; p += stride) {
        const h = this.readHeaderSync(p, 80)
        if (this.plausible(h, 0, true)) return p
      }
    }
    // 2. Byte-wise scan (compressed/relogged files have unaligned buffers).
    const CH = 1 << 20
    for (let start = from + 1; start + WMI_BUFFER_HEADER_SIZE <= this.fileSize; start += CH - 80) {
      const win = await this.readAt(start, Math.min(CH, this.fileSize - start))
      for (let i = 0; i + WMI_BUFFER_HEADER_SIZE <= win.length; i++) if (this.plausible(win, i, true)) return start + i
    }
    return -1
  }

  private async buildIndex(): Promise<void> {
    const fileSize = this.fileSize
    let win: Buffer = Buffer.alloc(0)
    let winStart = 0
    let lastSize = 0
    let stride = 0
    let off = 0
    while (off < fileSize) {
      if (off + WMI_BUFFER_HEADER_SIZE > fileSize) {
        this.diag(off, `${fileSize - off} trailing bytes are too short for a buffer header`, 'a 72-byte WMI_BUFFER_HEADER', fileSize - off)
        break
      }
      if (!(off >= winStart && off + 80 <= winStart + win.length)) {
        const len = lastSize !== 0 && lastSize < 16384 ? Math.min(1 << 18, fileSize - off) : Math.min(80, fileSize - off)
        win = this.readHeaderSync(off, len)
        winStart = off
      }
      const p = off - winStart
      const size = win.readUInt32LE(p)
      if (size < WMI_BUFFER_HEADER_SIZE || size > this.maxBuffer) {
        const next = await this.resync(off, stride)
        const skipped = (next < 0 ? fileSize : next) - off
        this.diag(off, `invalid BufferSize ${size}`, `${WMI_BUFFER_HEADER_SIZE}..${this.maxBuffer}`, skipped)
        if (next < 0) break
        off = next
        continue
      }
      const flags = win.readUInt16LE(p + 0x34)
      const compressed = (flags & BUFFER_FLAG_COMPRESSED) !== 0
      const saved = win.readUInt32LE(p + 4)
      const offsetField = win.readUInt32LE(p + 0x30)
      const info: BufferInfo = {
        offset: off,
        size,
        avail: Math.min(size, fileSize - off),
        savedOffset: saved,
        offsetField,
        end: 0,
        seq: win.readUInt32LE(p + 0x18) + win.readInt32LE(p + 0x1c) * 4294967296,
        proc: flags & BUFFER_FLAG_PROC_INDEX ? win.readUInt16LE(p + 0x28) : win[p + 0x28],
        flags,
        type: win.readUInt16LE(p + 0x36),
        state: win.readUInt32LE(p + 0x2c),
        compressed,
        index: this.index.length,
      }
      if (compressed) {
        info.end = saved
        if (saved < WMI_BUFFER_HEADER_SIZE || saved > this.maxBuffer) {
          this.diag(off, `compressed buffer declares an uncompressed size (SavedOffset) of ${saved}`, `${WMI_BUFFER_HEADER_SIZE}..${this.maxBuffer}`, size - WMI_BUFFER_HEADER_SIZE)
          info.end = WMI_BUFFER_HEADER_SIZE
        }
      } else if (offsetField >= WMI_BUFFER_HEADER_SIZE && offsetField <= size) info.end = offsetField
      else if (saved >= WMI_BUFFER_HEADER_SIZE && saved <= size) info.end = saved
      else {
        info.end = size
        this.diag(off + 0x30, `buffer Offset ${offsetField} and SavedOffset ${saved} are both outside the buffer; walking records to the 0xFF fill`, `a value in ${WMI_BUFFER_HEADER_SIZE}..${size}`)
      }
      if (info.avail < size) {
        this.diag(off, `buffer of ${size} bytes is truncated at end of file after ${info.avail} bytes`, `${size} bytes`, size - info.avail)
      }
      this.index.push(info)
      this.stats.buffers++
      if (compressed) this.stats.compressedBuffers++
      if (flags & BUFFER_FLAG_EVENTS_LOST) this.stats.buffersWithEventsLostFlag++
      if (flags & BUFFER_FLAG_BUFFER_LOST) this.stats.buffersWithBufferLostFlag++
      if (this.index.length === 1) stride = 0
      else if (stride === 0 || size === stride) stride = size
      lastSize = size
      off += size
    }
  }

  // ------------------------------------------------------------------ header record (§6, §7)

  private async readHeader(): Promise<void> {
    const first = this.index[0]
    if (!first) {
      this.diag(0, 'no buffer found; the file holds no trace header', 'a WMI_BUFFER_HEADER at offset 0')
      return
    }
    if (first.offset !== 0) this.diag(0, 'the first buffer is unreadable; no trace header', 'a header buffer at offset 0')
    // Compression format: State & 0xFFFF of buffer 0 when the log is compressed (§2, §3).
    const {payload, end} = await this.loadBuffer(first, false)
    const dv = new DataView(payload.buffer, payload.byteOffset, payload.length)
    const at = first.offset + WMI_BUFFER_HEADER_SIZE
    if (end < 0x20) {
      this.diag(at, 'header buffer holds no record', 'a SYSTEM_TRACE_HEADER with the TRACE_LOGFILE_HEADER')
      return
    }
    const ht = payload[2]
    const size = dv.getUint16(4, true)
    const hook = dv.getUint16(6, true)
    if (payload[3] !== 0xc0 || (ht !== 1 && ht !== 2) || hook !== 0) {
      this.diag(at, `first record is not a trace header record (marker ${dv.getUint32(0, true).toString(16)}, hook ${hook})`, 'SYSTEM_TRACE_HEADER, HeaderType 1/2, hook 0x0000')
      return
    }
    if (size < 0x20 || size > end) {
      this.diag(at, `header record size ${size} is outside its buffer`, `0x20..${end}`)
      return
    }
    const tsRaw = dv.getBigUint64(0x10, true)
    const h = parseLogfileHeader(payload, 0x20, size - 0x20, ht === 2 ? 8 : 4, tsRaw)
    if (typeof h === 'string') {
      this.diag(at + 0x20, h, 'TRACE_LOGFILE_HEADER')
      return
    }
    if ((ht === 2 ? 8 : 4) !== h.pointerSize) this.diag(at + 0x20 + 0x2c, `PointerSize ${h.pointerSize} disagrees with the header record type`, `${ht === 2 ? 8 : 4}`)
    let freq: number
    if (h.clockType === 2) freq = 10_000_000
    else if (h.clockType === 3) freq = h.cpuSpeedMHz * 1_000_000
    else freq = Number(h.perfFreq)
    if (!(freq > 0) || !Number.isSafeInteger(freq)) {
      this.diag(at + 0x20, `clock frequency ${freq} (ClockType ${h.clockType}) is unusable; assuming 10 MHz`, 'a positive frequency')
      freq = 10_000_000
    }
    if (h.clockType !== 1 && h.clockType !== 2 && h.clockType !== 3) {
      this.diag(at + 0x20, `unknown ClockType ${h.clockType}; using PerfFreq`, '1 (QPC), 2 (system time) or 3 (CPU cycles)')
    }
    h.clockFrequency = freq
    if (h.compressed) {
      const fmt = first.state & 0xffff
      h.compressionFormat = fmt === COMPRESSION_FORMAT_LZNT1 || fmt === COMPRESSION_FORMAT_XPRESS || fmt === COMPRESSION_FORMAT_XPRESS_HUFF ? fmt : COMPRESSION_FORMAT_XPRESS
      this.compressionFormat = h.compressionFormat
    }
    this.header = h
    this.clock = new Clock(tsRaw, h.startTimeNs, freq)
  }

  // ------------------------------------------------------------------ buffer loading (§2, §3)

  /** Reads a buffer's stored bytes after its header (compressed stream or payload). */
  private readRaw(info: BufferInfo): Promise<Buffer> {
    const H = WMI_BUFFER_HEADER_SIZE
    const len = info.compressed ? info.avail - H : Math.min(info.end, info.avail) - H
    if (len <= 0) return Promise.resolve(Buffer.alloc(0))
    return this.readRange(info.offset + H, len)
  }

  /**
   * Reads file bytes through a small cache of large chunks: one 1 MiB read serves many
   * buffers (a read call costs as much as copying ~1 MiB), and buffers come back as views.
   * At most `chunkSlots` chunks are cached (LRU); events keep their chunk alive while referenced.
   */
  private readRange(pos: number, len: number): Promise<Buffer> {
    const chunks = this.chunks
    for (let i = chunks.length - 1; i >= 0; i--) {
      const ch = chunks[i]
      if (pos >= ch.start && pos + len <= ch.end) {
        if (i !== chunks.length - 1) {
          chunks.splice(i, 1)
          chunks.push(ch)
        }
        return ch.p.then((d) => d.subarray(pos - ch.start, Math.min(d.length, pos - ch.start + len)))
      }
    }
    if (len >= CHUNK_SIZE >>> 1) return this.readAt(pos, len)
    // Chunks sit on a fixed 1 MiB grid (extended to cover a buffer that straddles its end), so
    // cursors reading nearby buffers share chunks instead of reading overlapping ones.
    const start = Math.floor(pos / CHUNK_SIZE) * CHUNK_SIZE
    const end = Math.min(Math.max(start + CHUNK_SIZE, pos + len), this.fileSize)
    const ch = this.addChunk(start, end)
    // Double buffering: start reading the next chunk of the grid now.
    const nextStart = start + CHUNK_SIZE
    if (nextStart >= end && nextStart < this.fileSize && !chunks.some((c) => c.start === nextStart)) {
      this.addChunk(nextStart, Math.min(nextStart + CHUNK_SIZE, this.fileSize))
    }
    return ch.p.then((d) => d.subarray(pos - start, Math.min(d.length, pos - start + len)))
  }

  private addChunk(start: number, end: number): {start: number; end: number; p: Promise<Buffer>} {
    const chunks = this.chunks
    const ch = {start, end, p: this.readAt(start, end - start)}
    ch.p.catch(() => undefined)
    chunks.push(ch)
    while (chunks.length > this.chunkSlots) chunks.shift()
    return ch
  }

  /** Decompresses (if needed) what {@link readRaw} returned. */
  private decode(info: BufferInfo, src: Buffer, report: boolean): {payload: Uint8Array; end: number} {
    const H = WMI_BUFFER_HEADER_SIZE
    if (!info.compressed) return {payload: src, end: src.length}
    const declared = info.end - H
    let r: DecompressResult
    try {
      r = decompress(this.compressionFormat, src, declared)
    } catch (e) {
      r = {out: new Uint8Array(0), produced: 0, consumed: 0, error: `internal error: ${e instanceof Error ? e.message : String(e)}`}
    }
    if (r.error && !this.header.present) {
      // Without a header we don't know the format: try the other XPRESS variant.
      const alt = decompress(this.compressionFormat === COMPRESSION_FORMAT_XPRESS ? COMPRESSION_FORMAT_XPRESS_HUFF : COMPRESSION_FORMAT_XPRESS, src, declared)
      if (!alt.error) r = alt
    }
    if (r.error && report) {
      this.diag(
        info.offset + H,
        `compressed buffer decompressed to ${r.produced} of its declared ${declared} bytes: ${r.error}`,
        `a compressed stream of ${src.length} bytes decompressing to exactly ${declared} bytes`,
        declared - r.produced,
      )
    }
    return {payload: r.out, end: r.produced}
  }

  /** Reads (and decompresses) a buffer's payload. */
  async loadBuffer(info: BufferInfo, report = true): Promise<{payload: Uint8Array; end: number}> {
    return this.decode(info, await this.readRaw(info), report)
  }

  // ------------------------------------------------------------------ record parsing (§4, §5, §9)

  private fileOffset(c: Cursor, pos: number): number {
    return c.base >= 0 ? c.base + pos : c.info!.offset
  }

  /** Skips the rest of the cursor's buffer after a corrupt record at `pos`. */
  private skipRest(c: Cursor, pos: number, message: string, expected: string): void {
    const left = Math.max(0, c.end - pos)
    this.stats.skippedRecords++
    const where = c.base >= 0 ? '' : ` (position ${pos} of the decompressed payload)`
    this.diag(this.fileOffset(c, pos), message + where, expected, left)
    c.pos = c.end
  }

  /** Parses the record at the cursor; undefined when the buffer is exhausted. */
  private nextRecord(c: Cursor): EtlEvent | undefined {
    const b = c.payload!
    const dv = c.dv!
    const end = c.end
    for (;;) {
      const pos = c.pos
      if (pos + 4 > end) {
        if (end - pos < 8 || pos >= end) this.stats.buffersParsedToEnd++
        else this.skipRest(c, pos, `${end - pos} bytes left at the end of the buffer`, 'a record header')
        c.pos = end
        return undefined
      }
      const marker = dv.getUint32(pos, true)
      if (marker === 0xffffffff) {
        this.stats.buffersParsedToEnd++
        c.pos = end
        return undefined
      }
      const b3 = b[pos + 3]
      const ht = b[pos + 2]
      let kind: EtlRecordKind
      let size: number
      let min: number
      let ptr = 8
      if ((b3 & 0xc0) === 0xc0) {
        switch (ht) {
          case 0x01:
          case 0x02:
            kind = 'system'
            size = dv.getUint16(pos + 4, true)
            min = 0x20
            ptr = ht === 1 ? 4 : 8
            break
          case 0x03:
          case 0x04:
            kind = 'compact'
            size = dv.getUint16(pos + 4, true)
            min = 0x18
            ptr = ht === 3 ? 4 : 8
            break
          case 0x0a:
          case 0x14:
            kind = 'full'
            size = dv.getUint16(pos, true)
            min = 0x30
            ptr = ht === 0x0a ? 4 : 8
            break
          case 0x0b:
          case 0x15:
            kind = 'instance'
            size = dv.getUint16(pos, true)
            min = 0x48
            ptr = ht === 0x0b ? 4 : 8
            break
          case 0x10:
          case 0x11:
            kind = 'perfinfo'
            size = dv.getUint16(pos + 4, true)
            min = 0x10
            ptr = ht === 0x10 ? 4 : 8
            break
          case 0x12:
          case 0x13:
            kind = 'event-header'
            size = dv.getUint16(pos, true)
            min = 0x50
            ptr = ht === 0x12 ? 4 : 8
            break
          case 0x0c:
            kind = 'timed'
            size = dv.getUint16(pos, true)
            min = 8
            break
          case 0x0d:
            kind = 'error'
            size = dv.getUint16(pos, true)
            min = 8
            break
          case 0x0e:
            kind = 'wnode'
            size = dv.getUint16(pos, true)
            min = 8
            break
          default:
            this.skipRest(c, pos, `unknown record header type 0x${ht.toString(16)} (marker 0x${marker.toString(16).padStart(8, '0')})`, 'a known HeaderType (§4.1)')
            return undefined
        }
      } else if ((b3 & 0xd0) === 0x90) {
        kind = 'wpp'
        size = dv.getUint16(pos, true)
        min = 8
      } else {
        this.skipRest(c, pos, `unrecognized record marker 0x${marker.toString(16).padStart(8, '0')}`, 'a trace header (byte 3 & 0xC0 = 0xC0) or a message header (0x90)')
        return undefined
      }
      if (size < min) {
        this.skipRest(c, pos, `${kind} record size ${size} is smaller than its ${min}-byte header`, `a size >= ${min}`)
        return undefined
      }
      if (pos + size > end) {
        this.skipRest(c, pos, `${kind} record size ${size} runs ${pos + size - end} bytes past the end of its buffer`, `a size <= ${end - pos}`)
        return undefined
      }
      c.pos = pos + ((size + 7) & ~7)
      this.stats.records++
      this.stats.recordsByKind[kind]++
      try {
        return this.buildEvent(c, b, dv, pos, size, kind, ht, ptr)
      } catch (e) {
        if (e === this.callbackError) throw e
        // Every read above is bounds-checked; this is a safety net so that bad data can never
        // throw out of the iteration.
        this.stats.records--
        this.stats.recordsByKind[kind]--
        this.skipRest(c, pos, `internal error while decoding a ${kind} record: ${e instanceof Error ? e.message : String(e)}`, 'a decodable record')
        return undefined
      }
    }
  }

  private buildEvent(c: Cursor, b: Uint8Array, dv: DataView, pos: number, size: number, kind: EtlRecordKind, ht: number, ptr: number): EtlEvent {
    const recEnd = pos + size
    let lo = c.lastLo
    let hi = c.lastHi
    // Timestamp first (the event object is created once, with its final shape).
    switch (kind) {
      case 'perfinfo':
        lo = dv.getUint32(pos + 8, true)
        hi = dv.getUint32(pos + 12, true)
        break
      case 'wpp': {
        const of = dv.getUint16(pos + 6, true)
        if (of & 8) {
          const q = pos + 8 + (of & 1 ? 4 : 0) + (of & 2 ? 16 : of & 4 ? 4 : 0)
          if (q + 8 <= recEnd) {
            lo = dv.getUint32(q, true)
            hi = dv.getUint32(q + 4, true)
          }
        }
        break
      }
      case 'timed':
      case 'error':
      case 'wnode':
        break
      default:
        lo = dv.getUint32(pos + 16, true)
        hi = dv.getUint32(pos + 20, true)
    }
    c.lastLo = lo
    c.lastHi = hi
    const clock = this.clock
    const delta = clock.delta(lo, hi)
    c.key = delta
    const rel = clock.relNs(delta)
    const tsNs = rel ?? Number(clock.absNsBig(BigInt(hi) * 4294967296n + BigInt(lo)) - clock.baseNs)
    if (kind === 'event-header' && this.fastHook !== undefined) {
      const fe = this.tryFast(c, b, dv, pos, recEnd, ptr, lo, hi, tsNs)
      if (fe !== undefined) return fe
    }
    const ev = new EtlEventRecord(kind, size, b, pos, lo, hi, clock, tsNs, c.info!.proc, this.fileOffset(c, pos), c.info!.offset)
    ev.pointerSize = ptr
    let udStart = recEnd
    switch (kind) {
      case 'event-header': {
        const flags = dv.getUint16(pos + 4, true)
        ev.tid = dv.getUint32(pos + 8, true)
        ev.pid = dv.getUint32(pos + 12, true)
        ev.providerGuid = this.guids.get(b, dv, pos + 24)
        ev.id = dv.getUint16(pos + 40, true)
        ev.version = b[pos + 42]
        const channel = b[pos + 43]
        ev.level = b[pos + 44]
        ev.opcode = b[pos + 45]
        let q = pos + 0x50
        const x = this.ext
        x.schemaOff = -1
        x.traitsOff = -1
        if (flags & 0x0001) {
          const bad = this.extendedItems(dv, q, recEnd)
          if (bad !== EXT_OK) {
            this.stats.skippedRecords++
            const left = recEnd - x.end
            if (bad === EXT_HEADER_PAST_END) this.diag(this.fileOffset(c, x.end), 'extended data item header runs past the end of its record', `an 8-byte item header before record end ${left} bytes on`, left)
            else this.diag(this.fileOffset(c, x.end), `extended data item (type ${x.badType}) sizes are inconsistent: ItemSize ${x.badItemSize}, DataSize ${x.badDataSize}, ${left} bytes left in the record`, 'ItemSize = align8(8 + DataSize) inside the record', left)
            q = recEnd
          } else q = x.end
        }
        const {schemaOff, schemaLen, traitsOff, traitsLen} = x
        udStart = q
        if (flags & 0x0004) {
          if (this.decodeTl) {
            // STRING_ONLY: the user data is one NUL-terminated UTF-16 string.
            let e = udStart
            while (e + 1 < recEnd && (b[e] | b[e + 1]) !== 0) e += 2
            ev.fields = {String: Buffer.from(b.buffer, b.byteOffset + udStart, (e - udStart) & ~1).toString('utf16le')}
          }
        } else if (schemaOff >= 0 || (channel === 11 && recEnd - udStart >= 8)) {
          udStart = this.traceLogging(c, ev, b, dv, udStart, recEnd, schemaOff, schemaLen, traitsOff, traitsLen, ptr)
        }
        break
      }
      case 'system':
      case 'compact':
      case 'perfinfo': {
        let v = dv.getUint16(pos, true)
        const hookId = dv.getUint16(pos + 6, true)
        ev.opcode = b[pos + 6]
        ev.providerGuid = kernelGroupGuid(hookId)
        ev.providerName = kernelGroupName(hookId)
        let hdr: number
        if (kind === 'perfinfo') hdr = 0x10
        else {
          ev.tid = dv.getUint32(pos + 8, true)
          ev.pid = dv.getUint32(pos + 12, true)
          hdr = kind === 'system' ? 0x20 : 0x18
        }
        // PEBS index / PMC counters extensions (§4.4).
        if (v & 0x8700) {
          if (v & 0x8000) hdr += 8
          hdr += ((v & 0x0700) >>> 8) * 8
          v &= ~0x8700
          if (hdr > size) {
            this.stats.skippedRecords++
            this.diag(this.fileOffset(c, pos), `${kind} record header extensions (${hdr} bytes) exceed its size ${size}`, 'PEBS/PMC extensions inside the record', size)
            hdr = size
          }
        }
        ev.version = v
        udStart = pos + hdr
        break
      }
      case 'full':
      case 'instance': {
        ev.opcode = b[pos + 4]
        ev.level = b[pos + 5]
        ev.version = dv.getUint16(pos + 6, true)
        ev.tid = dv.getUint32(pos + 8, true)
        ev.pid = dv.getUint32(pos + 12, true)
        ev.providerGuid = this.guids.get(b, dv, pos + 24)
        udStart = pos + (kind === 'full' ? 0x30 : 0x48)
        break
      }
      case 'wpp': {
        ev.id = dv.getUint16(pos + 4, true)
        const of = dv.getUint16(pos + 6, true)
        let q = pos + 8
        const need = (of & 1 ? 4 : 0) + (of & 2 ? 16 : of & 4 ? 4 : 0) + (of & 8 ? 8 : 0) + (of & 0x20 ? 8 : 0)
        if (q + need > recEnd) {
          this.stats.skippedRecords++
          this.diag(this.fileOffset(c, pos), `WPP message header options 0x${of.toString(16)} need ${need} bytes but the record has ${recEnd - q}`, 'option fields inside the record', size)
          ev.providerGuid = ZERO_GUID
          break
        }
        if (of & 1) q += 4
        if (of & 2) {
          ev.providerGuid = this.guids.get(b, dv, q)
          q += 16
        } else if (of & 4) {
          ev.providerGuid = `component:${dv.getUint32(q, true)}`
          q += 4
        } else ev.providerGuid = ZERO_GUID
        if (of & 8) q += 8
        if (of & 0x20) {
          ev.tid = dv.getUint32(q, true)
          ev.pid = dv.getUint32(q + 4, true)
          q += 8
        }
        ev.pointerSize = of & 0x40 ? 4 : 8
        udStart = q
        break
      }
      default:
        ev.providerGuid = ZERO_GUID
        udStart = pos + 8
        break
    }
    ev.userDataLength = recEnd - udStart
    return ev
  }

  /** Where the last {@link extendedItems} walk found the TraceLogging blobs, or why it stopped. */
  private readonly ext = {schemaOff: -1, schemaLen: 0, traitsOff: -1, traitsLen: 0, end: 0, badType: 0, badItemSize: 0, badDataSize: 0}

  /**
   * Walks an EVENT_HEADER's extended data items from `q` (§5.3), noting the TraceLogging event
   * metadata (type 0x000B) and provider traits (0x000C) in {@link ext}. On success `ext.end` is
   * where the user data starts; on failure it is the item that is wrong.
   */
  private extendedItems(dv: DataView, q: number, recEnd: number): number {
    const x = this.ext
    let linkage = 1
    while (linkage & 1) {
      x.end = q
      if (q + 8 > recEnd) return EXT_HEADER_PAST_END
      const itemSize = dv.getUint16(q, true)
      const type = dv.getUint16(q + 2, true)
      linkage = dv.getUint16(q + 4, true)
      const dataSize = dv.getUint16(q + 6, true)
      if (itemSize < 8 || q + itemSize > recEnd || 8 + dataSize > itemSize) {
        x.badType = type
        x.badItemSize = itemSize
        x.badDataSize = dataSize
        return EXT_BAD_SIZES
      }
      if (type === 0x000b) {
        x.schemaOff = q + 8
        x.schemaLen = dataSize
      } else if (type === 0x000c) {
        x.traitsOff = q + 8
        x.traitsLen = dataSize
      }
      q += itemSize
    }
    x.end = q
    return EXT_OK
  }

  /**
   * The {@link EtlOptions.tlFast} path: a well-formed TraceLogging EVENT_HEADER record whose
   * layout has a compiled decoder that accepts the payload becomes a small {@link EtlFastRecord}.
   * Anything else (odd extended items, metadata problems, no decoder, a payload it declines)
   * returns undefined before any side effect but cache lookups: the record is then parsed the
   * ordinary way, with its diagnostics.
   *
   * Records of one layout repeat the same bytes: the provider GUID and the extended data items
   * (provider traits and event metadata). Those bytes are looked up in a small direct-mapped
   * table ({@link LayoutEntry}) and verified by one word-wise comparison, which stands for the
   * item walk, both metadata lookups and the GUID formatting of the first record seen.
   */
  private tryFast(c: Cursor, b: Uint8Array, dv: DataView, pos: number, recEnd: number, ptr: number, lo: number, hi: number, tsNs: number): EtlEvent | undefined {
    const flags = dv.getUint16(pos + 4, true)
    if ((flags & 0x0005) !== 0x0001) return undefined
    // The extended items' extent (the walk of extendedItems, without noting anything).
    const q0 = pos + 0x50
    let q = q0
    let linkage = 1
    // Items other than the event schema and provider traits (a stack trace, an activity id)
    // differ from record to record: such records are not looked up in the layout table, nor
    // added to it, and neither are unusually long items (the table's memory stays small).
    let perRecord = false
    while (linkage & 1) {
      if (q + 8 > recEnd) return undefined
      const itemSize = b[q] | (b[q + 1] << 8)
      const type = b[q + 2] | (b[q + 3] << 8)
      if (type !== 0x000b && type !== 0x000c) perRecord = true
      linkage = b[q + 4] | (b[q + 5] << 8)
      if (itemSize < 8 || q + itemSize > recEnd || 8 + (b[q + 6] | (b[q + 7] << 8)) > itemSize) return undefined
      q += itemSize
    }
    const len = q - q0
    if (perRecord || len > MAX_LAYOUT_BYTES) {
      const once = this.newLayout(c, b, dv, q0, recEnd, 0, 0, 0, 0, 0, 0, false)
      return once === undefined ? undefined : this.decodeFast(c, b, dv, pos, recEnd, ptr, lo, hi, tsNs, once, q)
    }
    const g0 = dv.getInt32(pos + 24, true)
    const g1 = dv.getInt32(pos + 28, true)
    const g2 = dv.getInt32(pos + 32, true)
    const g3 = dv.getInt32(pos + 36, true)
    const tail = dv.getInt32(q - 4, true)
    // Sampled words (the last ones, the middle, the first quarter: event name and field names).
    let h = Math.imul(len ^ g0 ^ g3, 0x9e3779b1) ^ tail
    h = Math.imul(h ^ dv.getInt32(q - 12, true), 0x85ebca6b)
    h = Math.imul(h ^ dv.getInt32(q0 + ((len >>> 1) & ~3), true), 0xc2b2ae35)
    h = Math.imul(h ^ dv.getInt32(q0 + ((len >>> 2) & ~3), true), 0x27d4eb2f)
    const slot = ((h ^ (h >>> 15)) >>> 0) & (LAYOUT_SLOTS - 2)
    const gen = this.tl.generation
    const L = this.layouts
    // Two ways: the slot pair (slot, slot + 1), the more recently added first.
    let e = L[slot]
    if (!isLayout(e, b, dv, q0, len, tail, gen, g0, g1, g2, g3, c.w)) {
      e = L[slot + 1]
      if (!isLayout(e, b, dv, q0, len, tail, gen, g0, g1, g2, g3, c.w)) {
        e = this.newLayout(c, b, dv, q0, recEnd, len, g0, g1, g2, g3, tail)
        if (e === undefined) return undefined
        L[slot + 1] = L[slot]
        L[slot] = e
      }
    }
    return this.decodeFast(c, b, dv, pos, recEnd, ptr, lo, hi, tsNs, e, q)
  }

  /** Decodes the payload at q of a record whose layout is e (undefined: the decoder declined). */
  private decodeFast(c: Cursor, b: Uint8Array, dv: DataView, pos: number, recEnd: number, ptr: number, lo: number, hi: number, tsNs: number, e: LayoutEntry, q: number): EtlEvent | undefined {
    let fd = ptr === 4 ? e.dec4 : e.dec8
    if (fd === undefined) {
      const d = this.fastHook!(e.providerName, e.guid, e.meta, ptr)
      if (d === null) return undefined
      // A decoder, once given for a layout, is the layout's for good (the hook memoizes it).
      if (ptr === 4) e.dec4 = d
      else e.dec8 = d
      fd = d
    }
    const f = fd(b, dv, q, recEnd)
    if (f === undefined) return undefined
    this.stats.traceLoggingEvents++
    const offset = c.base >= 0 ? c.base + pos : c.info!.offset
    if (this.fastEmit === undefined) return new EtlFastRecord(e.meta.name, e.providerName, e.guid, dv.getUint32(pos + 12, true), dv.getUint32(pos + 8, true), c.info!.proc, tsNs, offset, f, this.clock, lo, hi) as unknown as EtlEvent
    // With tlFastEmit the cursor's head is its one reused view, handed over at output time.
    let v = c.view
    if (v === undefined) v = c.view = new EtlFastViewRecord(this.clock)
    v.eventName = e.meta.name
    v.providerName = e.providerName
    v.providerGuid = e.guid
    v.pid = dv.getUint32(pos + 12, true)
    v.tid = dv.getUint32(pos + 8, true)
    v.cpu = c.info!.proc
    v.tsNs = tsNs
    v.offset = offset
    v.tlFast = f
    v.lo = lo
    v.hi = hi
    return v as unknown as EtlEvent
  }

  /** Layouts of {@link tryFast}, by a hash of their bytes. */
  private readonly layouts: Array<LayoutEntry | undefined> = new Array<LayoutEntry | undefined>(LAYOUT_SLOTS).fill(undefined)

  /** A layout seen for the first time (or evicted): the ordinary item walk and metadata lookups. */
  private newLayout(c: Cursor, b: Uint8Array, dv: DataView, q0: number, recEnd: number, len: number, g0: number, g1: number, g2: number, g3: number, tail: number, keep = true): LayoutEntry | undefined {
    const x = this.ext
    x.schemaOff = -1
    x.traitsOff = -1
    if (this.extendedItems(dv, q0, recEnd) !== EXT_OK) return undefined
    const {schemaOff, schemaLen, traitsOff, traitsLen} = x
    if (schemaOff < 0) return undefined
    const gen = this.tl.generation
    const meta = this.tl.event(b, schemaOff, schemaLen, c.w)
    if (meta.error !== undefined) return undefined
    let providerName: string | undefined
    if (traitsOff >= 0) {
      const pm = this.tl.provider(b, traitsOff, traitsLen, c.w)
      if (pm.error !== undefined) return undefined
      providerName = pm.name
    }
    // An entry used for one record only (keep false) needs no copy of the bytes.
    const words = keep ? new Int32Array((len + 3) >>> 2) : NO_WORDS
    if (keep) new Uint8Array(words.buffer).set(b.subarray(q0, q0 + len))
    // Metadata inserted just now may have cleared the cache (a new generation): such an entry
    // is stale at once, so the next record of the layout does these lookups again, as before.
    return {len, gen, g0, g1, g2, g3, tail, words, meta, providerName, guid: this.guids.get(b, dv, q0 - 0x50 + 24), dec4: undefined, dec8: undefined}
  }

  /** TraceLogging metadata lookup and payload decode (§9); returns the payload start. */
  private traceLogging(
    c: Cursor,
    ev: EtlEventRecord,
    b: Uint8Array,
    dv: DataView,
    udStart: number,
    recEnd: number,
    schemaOff: number,
    schemaLen: number,
    traitsOff: number,
    traitsLen: number,
    ptr: number,
  ): number {
    let ps = udStart
    if (schemaOff < 0) {
      // TraceLogging on an OS that didn't move the blobs into extended items (§9.1) [I]:
      // user data = provider traits, event metadata, payload. Only a guess: no diagnostics.
      const pl = dv.getUint16(udStart, true)
      if (pl < 3 || udStart + pl + 4 > recEnd) return udStart
      const el = dv.getUint16(udStart + pl, true)
      if (el < 4 || udStart + pl + el > recEnd) return udStart
      const probe = this.tl.event(b, udStart + pl, el, c.w)
      if (probe.error !== undefined) return udStart
      traitsOff = udStart
      traitsLen = pl
      schemaOff = udStart + pl
      schemaLen = el
      ps = udStart + pl + el
    }
    this.stats.traceLoggingEvents++
    const meta = this.tl.event(b, schemaOff, schemaLen, c.w)
    ev.tl = meta
    ev.eventName = meta.name
    if (meta.error !== undefined && !this.reportedMeta.has(meta)) {
      this.reportedMeta.add(meta)
      this.diag(this.fileOffset(c, schemaOff + (meta.errorAt ?? 0)), `TraceLogging event metadata: ${meta.error}`, 'a well-formed EVENT_SCHEMA_TL blob (§9.2)')
    }
    if (traitsOff >= 0) {
      const pm = this.tl.provider(b, traitsOff, traitsLen, c.w)
      ev.tlProvider = pm
      ev.providerName = pm.name
      if (pm.error !== undefined && !this.reportedMeta.has(pm)) {
        this.reportedMeta.add(pm)
        this.diag(this.fileOffset(c, traitsOff + (pm.errorAt ?? 0)), `TraceLogging provider traits: ${pm.error}`, 'a well-formed PROV_TRAITS blob (§9.3)')
      }
    }
    if (this.decodeTl) {
      if (meta.error !== undefined) ev.fieldsError = `metadata: ${meta.error}`
      else {
        ev.fields = tlDecode.decodeTlFields(meta, b, dv, ps, recEnd, ptr)
        const consumed = tlDecode.lastConsumed
        const error = tlDecode.lastError
        if (error !== undefined) {
          ev.fieldsError = error
          this.diag(this.fileOffset(c, ps + consumed), `TraceLogging payload of "${meta.name}": ${error}`, `a payload matching the event metadata (${recEnd - ps} bytes)`)
        } else if (ps + consumed !== recEnd) {
          this.diag(this.fileOffset(c, ps + consumed), `TraceLogging payload of "${meta.name}" has ${recEnd - ps - consumed} bytes after its last field`, 'the payload to end with the last field')
        }
      }
    }
    return ps
  }

  // ------------------------------------------------------------------ cursors and merge (§8)

  private async loadInto(c: Cursor, info: BufferInfo): Promise<void> {
    let raw: Buffer
    const q = c.pfq
    if (q.length > 0 && q[0].info === info) raw = await q.shift()!.p
    else {
      q.length = 0
      raw = await this.readRaw(info)
    }
    // Read-ahead of the cursor's next buffers overlaps I/O with parsing.
    while (q.length < this.prefetchDepth && c.next + q.length < c.bufs.length) {
      const nx = c.bufs[c.next + q.length]
      const pr = this.readRaw(nx)
      pr.catch(() => undefined)
      q.push({info: nx, p: pr})
    }
    const r = this.decode(info, raw, true)
    c.info = info
    c.tie = info.offset
    c.payload = r.payload
    c.end = r.end
    c.dv = new DataView(c.payload.buffer, c.payload.byteOffset, c.payload.length)
    c.w = (c.payload.byteOffset & 3) === 0 ? new Int32Array(c.payload.buffer, c.payload.byteOffset, c.payload.length >>> 2) : undefined
    c.pos = 0
    c.base = info.compressed ? -1 : info.offset + WMI_BUFFER_HEADER_SIZE
    c.evicted = false
    this.liveBytes += c.payload.length
    this.liveBuffers++
    if (this.liveBuffers > this.stats.maxLiveBuffers) this.stats.maxLiveBuffers = this.liveBuffers
  }

  private release(c: Cursor): void {
    if (c.payload && !c.evicted) {
      this.liveBytes -= c.payload.length
      this.liveBuffers--
    }
    c.payload = undefined
    c.dv = undefined
    c.w = undefined
  }

  /** Moves the cursor to its next record, loading buffers as needed; false when exhausted. */
  private async advance(c: Cursor): Promise<boolean> {
    for (;;) {
      if (c.payload !== undefined) {
        const ev = this.nextRecord(c)
        if (ev !== undefined) {
          c.head = ev
          return true
        }
        this.release(c)
      }
      if (c.next >= c.bufs.length) {
        c.head = undefined
        return false
      }
      await this.loadInto(c, c.bufs[c.next++])
    }
  }

  private async reload(c: Cursor): Promise<void> {
    const pos = c.pos
    const r = await this.loadBuffer(c.info!, false)
    c.payload = r.payload
    c.end = r.end
    c.dv = new DataView(c.payload.buffer, c.payload.byteOffset, c.payload.length)
    c.w = (c.payload.byteOffset & 3) === 0 ? new Int32Array(c.payload.buffer, c.payload.byteOffset, c.payload.length >>> 2) : undefined
    c.pos = pos
    c.evicted = false
    this.liveBytes += c.payload.length
    this.liveBuffers++
    if (this.liveBuffers > this.stats.maxLiveBuffers) this.stats.maxLiveBuffers = this.liveBuffers
  }

  private makeCursors(): Cursor[] {
    const mk = (bufs: BufferInfo[]): Cursor => ({
      bufs,
      next: 0,
      info: undefined,
      payload: undefined,
      dv: undefined,
      end: 0,
      pos: 0,
      base: 0,
      head: undefined,
      key: 0,
      tie: 0,
      lastLo: 0,
      lastHi: 0,
      evicted: false,
      pfq: [],
      w: undefined,
      view: undefined,
    })
    if (this.opts.order === 'file') return [mk(this.index.slice())]
    const byProc = new Map<number, BufferInfo[]>()
    for (const info of this.index) {
      let l = byProc.get(info.proc)
      if (!l) byProc.set(info.proc, (l = []))
      l.push(info)
    }
    const out: Cursor[] = []
    for (const l of byProc.values()) {
      l.sort((a, b) => a.seq - b.seq || a.index - b.index)
      out.push(mk(l))
    }
    return out
  }

  private resetCounters(): void {
    const s = this.stats
    s.records = 0
    s.recordsByKind = emptyKindCounts()
    s.buffersParsedToEnd = 0
    s.traceLoggingEvents = 0
    this.liveBytes = 0
    this.liveBuffers = 0
  }

  /** Events in global time order (or file order), in batches. */
  async *batches(): AsyncGenerator<EtlEvent[]> {
    if (!this.fh) return
    this.resetCounters()
    const heap: Cursor[] = []
    const cursors = this.makeCursors()
    let bytes = 0
    for (const info of this.index) bytes += info.size
    const avg = this.index.length > 0 ? bytes / this.index.length : 65536
    // Read-ahead depth per CPU: up to 4 buffers, within a 64 MiB budget over all CPUs.
    this.prefetchDepth = Math.max(1, Math.min(4, Math.floor((64 << 20) / (Math.max(1, cursors.length) * avg))))
    this.chunkSlots = Math.max(3, Math.min(16, cursors.length + 2))
    this.chunks = []
    for (const c of cursors) {
      if (await this.advance(c)) {
        heap.push(c)
        // Beyond the memory budget keep only the head event; the payload is re-read when needed.
        if (this.liveBytes > this.budget && c.payload) {
          this.release(c)
          c.evicted = true
          c.payload = undefined
        }
      }
    }
    const less = (a: Cursor, b: Cursor): boolean => a.key < b.key || (a.key === b.key && a.tie < b.tie)
    const siftDown = (i: number): void => {
      const n = heap.length
      const x = heap[i]
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const m = r < n && less(heap[r], heap[l]) ? r : l
        if (!less(heap[m], x)) break
        heap[i] = heap[m]
        i = m
      }
      heap[i] = x
    }
    for (let i = (heap.length >>> 1) - 1; i >= 0; i--) siftDown(i)
    const bs = this.batchSize
    // Batches are allocated at their full size once (no growth by copying) and filled by index.
    let out: EtlEvent[] = new Array<EtlEvent>(bs)
    let k = 0
    // tlFastEmit: fast events are handed over as they are output, while the batch so far holds
    // nothing else (the consumer then sees every event in output order); after another record
    // in the batch they go as EtlFastRecord copies, for the consumer's loop to take in turn.
    const emit = this.fastEmit
    let mixed = false
    while (heap.length > 0) {
      const c = heap[0]
      const n = heap.length
      let lim: Cursor | undefined
      if (n > 1) lim = n > 2 && less(heap[2], heap[1]) ? heap[2] : heap[1]
      if (c.evicted) await this.reload(c)
      for (;;) {
        const h = c.head!
        const v = c.view
        if (emit === undefined) out[k++] = h
        else if (v === undefined || (h as unknown) !== v) {
          out[k++] = h
          mixed = true
        } else if (!mixed) out[k++] = emit(v) as EtlEvent
        else out[k++] = v.copy() as unknown as EtlEvent
        if (k >= bs) {
          yield out
          out = new Array<EtlEvent>(bs)
          k = 0
          mixed = false
        }
        // Synchronous fast path inside the loaded buffer.
        let ev: EtlEvent | undefined
        if (c.payload !== undefined) ev = this.nextRecord(c)
        if (ev !== undefined) c.head = ev
        else {
          this.release(c)
          if (!(await this.advance(c))) break
        }
        if (lim !== undefined && !less(c, lim)) break
      }
      if (c.head === undefined || (c.payload === undefined && c.next >= c.bufs.length && c.head === undefined)) {
        const last = heap.pop()!
        if (heap.length > 0 && last !== c) {
          heap[0] = last
          siftDown(0)
        }
      } else siftDown(0)
    }
    if (k > 0) {
      out.length = k
      yield out
    }
    this.stats.metadataCacheEntries = this.tl.size
  }
}
