/** Public types of the native .etl reader. */
import type {TlEventMeta, TlProviderMeta} from './tracelogging.js'

/** A problem found in the file. `offset` is an absolute byte offset in the file. */
export interface EtlDiagnostic {
  file: string
  offset: number
  message: string
  /** What the reader expected to find there. */
  expected?: string
  /** Bytes the reader could not use because of this problem. */
  skippedBytes?: number
}

/** Record header kinds of etl-format.md §4. */
export type EtlRecordKind =
  | 'event-header' // EVENT_HEADER32/64 (0xC012/0xC013)
  | 'system' // SYSTEM_TRACE_HEADER32/64 (0xC001/0xC002)
  | 'compact' // compact SYSTEM_TRACE_HEADER32/64 (0xC003/0xC004)
  | 'perfinfo' // PERFINFO_TRACE_HEADER32/64 (0xC010/0xC011)
  | 'full' // EVENT_TRACE_HEADER (classic) 32/64 (0xC00A/0xC014)
  | 'instance' // EVENT_INSTANCE_GUID_HEADER 32/64 (0xC00B/0xC015)
  | 'wpp' // MESSAGE_TRACE_HEADER (marker 0x90)
  | 'timed' // 0xC00C, framed only
  | 'error' // 0xC00D, framed only
  | 'wnode' // 0xC00E, framed only

export const RECORD_KINDS: readonly EtlRecordKind[] = ['event-header', 'system', 'compact', 'perfinfo', 'full', 'instance', 'wpp', 'timed', 'error', 'wnode']

/** One extended data item of an EVENT_HEADER record (§5). `data` is a view into the buffer. */
export interface EtlExtendedItem {
  type: number
  data: Uint8Array
}

export interface EtlEvent {
  kind: EtlRecordKind
  /** Byte 2 of the record (HeaderType), e.g. 0x13 for EVENT_HEADER64. */
  readonly headerType: number
  /** Total record size from its header (bytes, before 8-byte alignment). */
  size: number
  /**
   * Provider id: EVENT_HEADER ProviderId; classic class GUID (full/instance); kernel group GUID
   * (system/compact/perfinfo, §4.9); WPP message GUID (or `component:<id>`).
   */
  providerGuid: string
  /** TraceLogging provider name (from the provider traits) or kernel group name. */
  providerName: string | undefined
  /** TraceLogging event name. */
  eventName: string | undefined
  /** EventDescriptor.Id (EVENT_HEADER), MessageNumber (WPP), else 0. */
  id: number
  version: number
  readonly channel: number
  level: number
  opcode: number
  readonly task: number
  readonly keyword: bigint
  /** On-disk EVENT_HEADER Flags (0x1 EXTENDED_INFO …); 0 for other kinds. */
  readonly flags: number
  readonly eventProperty: number
  /** Group<<8 | Type for system/compact/perfinfo records, else 0. */
  readonly hookId: number
  /** 0xFFFFFFFF when the header carries none (PERFINFO). */
  pid: number
  tid: number
  /** Processor of the buffer the record was logged in. */
  cpu: number
  /** 4 or 8: pointer size of pointer-typed payload fields. */
  pointerSize: number
  readonly kernelTime: number
  readonly userTime: number
  /** Raw timestamp from the record header in the session clock. */
  readonly timestampRaw: bigint
  /** Absolute time, nanoseconds since 1970-01-01T00:00:00Z. */
  readonly tsAbsNs: bigint
  /**
   * Nanoseconds since the trace's time-sync point (the header record), as a Number: exact
   * while |value| < 2^53 (104 days); may be negative (circular/merged files).
   */
  tsNs: number
  /**
   * Absolute byte offset of the record in the file. Records of compressed buffers have no
   * position of their own in the file: for them this is the offset of their buffer.
   */
  offset: number
  /** File offset of the buffer holding the record. */
  bufferOffset: number
  /** Position of the record in its buffer's (decompressed) payload. */
  readonly posInBuffer: number
  readonly activityId: string | undefined
  readonly relatedActivityId: string | undefined
  /** Extended data items (views into the buffer), computed on first access. */
  readonly extended: EtlExtendedItem[] | undefined
  /** Length of the user data (payload after header and extended items). */
  userDataLength: number
  /**
   * Decoded TraceLogging fields (struct → object, arrays → arrays). Values: strings; numbers for
   * 8–32-bit integers and floats; 64-bit integers (Int64/UInt64/HexInt64/Pointer/FileTime) as
   * numbers when exactly representable, else bigint; Bool32 / UInt8+Boolean as booleans (0/1,
   * other values stay numbers); GUIDs as lowercase strings; SIDs as S-1-…; SYSTEMTIME as an
   * object; Binary/CountedBinary/custom as Uint8Array copies.
   */
  fields: Record<string, unknown> | undefined
  /** @internal The result of the {@link EtlOptions.tlFast} decoder (see there). */
  readonly tlFast?: unknown
  /** Set when the payload did not match the metadata; `fields` then holds what decoded. */
  fieldsError: string | undefined
  /** Compiled TraceLogging event metadata (shared, cached). */
  tl: TlEventMeta | undefined
  /** TraceLogging provider metadata (shared, cached). */
  tlProvider: TlProviderMeta | undefined
  /** WPP sequence number, if present. */
  readonly sequence: number | undefined
  /** User data bytes: a view into the buffer (copy to keep). */
  readonly payloadBytes: Uint8Array
  /** The whole record: a view into the buffer (copy to keep). */
  readonly recordBytes: Uint8Array
}

export interface EtlTimeZone {
  bias: number
  standardName: string
  standardBias: number
  daylightName: string
  daylightBias: number
}

/** TRACE_LOGFILE_HEADER (§6) plus derived values. */
export interface EtlFileHeader {
  /** False when no valid header record was found (then time conversion uses fallbacks). */
  present: boolean
  bufferSize: number
  versionMajor: number
  versionMinor: number
  versionSub: number
  versionSubMinor: number
  /** Raw u32 Version (e.g. 0x0501000a for 10.0 sub 1.5). */
  version: number
  /** OS build number (ProviderVersion). */
  providerVersion: number
  numberOfProcessors: number
  endTime: bigint
  timerResolution: number
  maximumFileSize: number
  logFileMode: number
  buffersWritten: number
  startBuffers: number
  pointerSize: number
  eventsLost: number
  cpuSpeedMHz: number
  timeZone: EtlTimeZone
  bootTime: bigint
  perfFreq: bigint
  /** FILETIME (100 ns since 1601, UTC). */
  startTime: bigint
  /** 1 QPC, 2 system time, 3 CPU cycle counter. */
  clockType: number
  buffersLost: number
  loggerName: string
  logFileName: string
  /** Raw timestamp of the header record (the time-sync point). */
  headerTimestamp: bigint
  /** StartTime as nanoseconds since the Unix epoch. */
  startTimeNs: bigint
  /** Frequency actually used to convert raw timestamps (Hz). */
  clockFrequency: number
  compressed: boolean
  /** COMPRESSION_FORMAT_* for compressed logs (3 XPRESS, 4 XPRESS_HUFF, 2 LZNT1). */
  compressionFormat: number
  /** Size of the header record's payload (PerfView's DataLen). */
  dataLength: number
}

export interface EtlStats {
  fileSize: number
  buffers: number
  compressedBuffers: number
  /** Buffers whose records were walked exactly to their end. */
  buffersParsedToEnd: number
  /** Buffers with BufferFlag EVENTS_LOST / BUFFER_LOST set. */
  buffersWithEventsLostFlag: number
  buffersWithBufferLostFlag: number
  records: number
  recordsByKind: Record<EtlRecordKind, number>
  /** Records whose payload was dropped (size past buffer, unknown header, …). */
  skippedRecords: number
  skippedBytes: number
  diagnostics: number
  /** The first diagnostics (at most 100). */
  diagnosticsSample: EtlDiagnostic[]
  traceLoggingEvents: number
  metadataCacheEntries: number
  bytesRead: number
  /** Largest number of buffers held decoded at once (memory bound check). */
  maxLiveBuffers: number
}

/** The envelope of an event a {@link EtlOptions.tlFast} decoder took, as given to `tlFastEmit`. */
export interface EtlFastView {
  readonly eventName: string
  readonly providerName: string | undefined
  readonly providerGuid: string
  readonly pid: number
  readonly tid: number
  readonly cpu: number
  /** ns since the trace header record (a safe integer unless the clock is extreme). */
  readonly tsNs: number
  readonly tsAbsNs: bigint
  readonly offset: number
  /** The decoder's result. */
  readonly tlFast: unknown
}

export interface EtlOptions {
  onDiagnostic?(d: EtlDiagnostic): void
  /** Events per yielded batch (default 1024: small batches keep the garbage collector young). */
  batchSize?: number
  /** 'time' (default): k-way merge of per-CPU buffers; 'file': buffers in file order. */
  order?: 'time' | 'file'
  /** Decode TraceLogging payloads into `fields` (default true). */
  decodeTraceLogging?: boolean
  /**
   * @internal Compiled payload decoders by consumer (src/etl/sanfast.ts): a TraceLogging record
   * whose layout has one that accepts its payload is yielded as a small record with only the
   * envelope (eventName, providerName, providerGuid, pid, tid, cpu, tsNs, tsAbsNs, offset) and
   * the decoder's result in `tlFast`; other records are parsed as usual. The reader keeps a
   * decoder the hook returned for a layout (provider, GUID, metadata, pointer size) and asks
   * again only while it returns null.
   */
  tlFast?: (providerName: string | undefined, providerGuid: string, meta: TlEventMeta, pointerSize: number) => ((b: Uint8Array, dv: DataView, start: number, end: number) => unknown) | null
  /**
   * @internal With {@link tlFast}: instead of a small record per decoded event, the reader calls
   * this with one reused view of the envelope (valid during the call only) and puts what it
   * returns in the batch. Batches then hold those values and, for every other record,
   * EtlEventRecord objects (src/etl/event.ts), in order. An exception it throws propagates
   * out of the iteration unchanged.
   */
  tlFastEmit?: (r: EtlFastView) => unknown
  /** Upper bound for one buffer (bytes, default 64 MiB). */
  maxBufferSize?: number
  /** Budget of decoded buffer bytes held by the merge (default 256 MiB). */
  memoryBudget?: number
}

export type {TlEventMeta, TlProviderMeta}
