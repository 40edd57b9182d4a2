/** openEtl / readAllEtl: the entry points of the reader. */
import {EtlReader, type BufferInfo} from './reader.js'
import type {EtlEvent, EtlFileHeader, EtlOptions, EtlStats} from './types.js'

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
