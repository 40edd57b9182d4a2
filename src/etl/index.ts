/**
 * Native .etl reader (issue 3). Usage:
 *
 *   const etl = await openEtl(path, {onDiagnostic: (d) => ...})
 *   for await (const batch of etl.batches()) for (const ev of batch) ...
 *   await etl.close()
 */

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

export {openEtl, readAllEtl, type EtlFile} from './open.js'
export {
  openSanEtl,
  sanProviderOf,
  SanMapper,
  SAN_FIELD_KINDS,
  SAN_PROVIDER_GUIDS,
  SAN_PROVIDER_NAMES,
  type SanEtlEvent,
  type SanEtlFile,
  type SanFieldKind,
  type SanProviderName,
  type SanStats,
} from './san.js'
export {
  EtlWriter,
  ByteSink,
  encodeEventMetadata,
  encodeEventRecord,
  encodeProviderTraits,
  encodeTlEventRecord,
  encodeTlPayload,
  writeSanEtl,
  SanEtlWriter,
  type EtlWriterOptions,
  type EventRecordDef,
  type ExtItem,
  type TlEventDef,
  type TlFieldDef,
  type TlWriteEvent,
} from './writer.js'
export * from './manifest.js'
