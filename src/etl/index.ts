/**
 * Native .etl reader (issue 3). Usage:
 *
 *   const etl = await openEtl(path, {onDiagnostic: (d) => ...})
 *   for await (const batch of etl.batches()) for (const ev of batch) ...
 *   await etl.close()
 */
import {EtlReader, type BufferInfo} from './reader.js'
import type {EtlEvent, EtlFileHeader, EtlOptions, EtlStats} from './types.js'

export type {EtlDiagnostic, EtlEvent, EtlExtendedItem, EtlFileHeader, EtlOptions, EtlRecordKind, EtlStats, EtlTimeZone} from './types.js'
export {RECORD_KINDS} from './types.js'
export type {BufferInfo} from './reader.js'
export {EtlReader, WMI_BUFFER_HEADER_SIZE} from './reader.js'
export {formatGuid, guidToBytes, providerGuidFromName, providerGuidBytesFromName} from './guid.js'
export {Clock, FILETIME_UNIX_EPOCH, unixNsToFileTime} from './logfile.js'
export {
  decodeTlPayload,
  parseEventMetadata,
  parseProviderTraits,
  TlMetadataCache,
  TL_IN,
  TL_OUT,
  type TlEventMeta,
  type TlField,
  type TlProviderMeta,
  type TlSystemTime,
} from './tracelogging.js'
export {decompressXpress, decompressXpressHuffman, decompressLznt1, compressXpress} from './xpress.js'
export {kernelGroupGuid, kernelGroupName, EVENT_TRACE_GROUP_GUID} from './kernel.js'
export {decodeExtendedItem, type DecodedExtendedItem} from './extended.js'

export interface EtlFile {
  path: string
  header: EtlFileHeader
  stats: EtlStats
  /** The buffer index (one entry per WMI buffer, file order). */
  buffers: readonly BufferInfo[]
  /** Events in global time order (or file order with `order: 'file'`), in arrays. */
  batches(): AsyncGenerator<EtlEvent[]>
  /** Convenience: one event at a time (slower than batches()). */
  events(): AsyncGenerator<EtlEvent>
  close(): Promise<void>
}

/**
 * Opens an .etl file: reads the buffer headers (index pass) and the TRACE_LOGFILE_HEADER.
 * Throws only for I/O errors (e.g. missing file); bad data becomes diagnostics.
 */
export async function openEtl(path: string, opts: EtlOptions = {}): Promise<EtlFile> {
  const r = new EtlReader(path, opts)
  try {
    await r.open()
  } catch (e) {
    await r.close()
    throw e
  }
  return {
    path,
    get header() {
      return r.header
    },
    stats: r.stats,
    buffers: r.index,
    batches: () => r.batches(),
    events: async function* () {
      for await (const b of r.batches()) yield* b
    },
    close: () => r.close(),
  }
}

/** Reads a whole file into an array (tests and small files). */
export async function readAllEtl(path: string, opts: EtlOptions = {}): Promise<{header: EtlFileHeader; stats: EtlStats; events: EtlEvent[]}> {
  const f = await openEtl(path, opts)
  const events: EtlEvent[] = []
  try {
    for await (const b of f.batches()) for (const e of b) events.push(e)
  } finally {
    await f.close()
  }
  return {header: f.header, stats: f.stats, events}
}
