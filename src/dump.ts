/** `santrace dump FILE.etl`: the file header and every decoded event, of any provider. */
import {openEtl, type EtlEvent, type EtlFileHeader} from './etl/index.js'
import {formatGuid} from './etl/index.js'
import {decodeManifestEvent, loadManifest, ManifestSet} from './etl/manifest.js'
import {InputError, UsageError} from './util/errors.js'

export interface DumpFilter {
  providers?: string[]
  events?: string[]
  pids?: number[]
  /** Nanoseconds from the first event (inclusive range). */
  from?: number
  to?: number
  limit?: number
}

export interface DumpedEvent {
  time: string
  relNs: number
  provider: string
  providerGuid: string
  event: string
  kind: string
  id: number
  opcode: number
  level: number
  keyword: string
  pid: number
  tid: number
  cpu: number
  offset: number
  fields?: Record<string, unknown>
  /** Set when the payload did not match the manifest template; `fields` holds what decoded. */
  fieldsError?: string
  /** The manifest's event message with its %n filled in (manifest-decoded events only). */
  message?: string
}

export interface DumpOptions {
  /** Instrumentation manifests (.man paths, or loaded) decoding manifest-based events. */
  manifests?: string[] | ManifestSet
}

/** Loads the manifest files; a missing or invalid one throws InputError naming it (exit 2). */
export async function loadManifests(paths: string[]): Promise<ManifestSet> {
  const ms = []
  for (const p of paths) ms.push(await loadManifest(p))
  return new ManifestSet(ms)
}

function iso(ns: bigint): string {
  const ms = ns / 1_000_000n
  const frac = ((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n
  return new Date(Number(ms)).toISOString().replace(/\.\d{3}Z$/, `.${frac.toString().padStart(9, '0')}Z`)
}

/** JSON-safe copy of decoded TraceLogging fields (bigint → decimal string, bytes → hex). */
export function jsonFields(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString()
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex')
  if (Array.isArray(v)) return v.map(jsonFields)
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonFields(x)]))
  return v
}

export function headerSummary(h: EtlFileHeader): Record<string, unknown> {
  return {
    present: h.present,
    loggerName: h.loggerName,
    logFileName: h.logFileName,
    osVersion: `${h.versionMajor}.${h.versionMinor} build ${h.providerVersion}`,
    processors: h.numberOfProcessors,
    pointerSize: h.pointerSize,
    clockType: h.clockType === 1 ? 'QPC' : h.clockType === 2 ? 'system time' : h.clockType === 3 ? 'CPU cycle counter' : String(h.clockType),
    clockFrequency: h.clockFrequency,
    startTime: iso(h.startTimeNs),
    bufferSize: h.bufferSize,
    buffersWritten: h.buffersWritten,
    eventsLost: h.eventsLost,
    buffersLost: h.buffersLost,
    compressed: h.compressed,
    logFileMode: `0x${h.logFileMode.toString(16)}`,
  }
}

export async function* dumpEtl(path: string, filter: DumpFilter = {}, onDiagnostic?: (m: string) => void, opts: DumpOptions = {}): AsyncGenerator<DumpedEvent | {header: Record<string, unknown>}> {
  const manifests = Array.isArray(opts.manifests) ? (opts.manifests.length ? await loadManifests(opts.manifests) : undefined) : opts.manifests
  let f
  try {
    f = await openEtl(path, {onDiagnostic: (d) => onDiagnostic?.(`${d.file} @${d.offset}: ${d.message}`)})
  } catch (e) {
    throw new UsageError(`${path}: not a readable .etl file: ${(e as Error).message}`)
  }
  yield {header: headerSummary(f.header)}
  const provs = filter.providers?.map((p) => p.toLowerCase())
  let first: bigint | undefined
  let n = 0
  try {
    for await (const batch of f.batches()) {
      for (const ev of batch as EtlEvent[]) {
        first ??= ev.tsAbsNs
        const rel = Number(ev.tsAbsNs - first)
        if (filter.from !== undefined && rel < filter.from) continue
        if (filter.to !== undefined && rel > filter.to) continue
        const man = manifests && !ev.fields ? decodeManifestEvent(ev, manifests) : undefined
        const name = man?.provider ?? ev.providerName ?? ''
        if (provs && !provs.some((p) => p === name.toLowerCase() || p === ev.providerGuid.toLowerCase() || `{${p.replace(/[{}]/g, '')}}` === ev.providerGuid.toLowerCase())) continue
        const evName = man?.eventName ?? ev.eventName ?? (ev.kind === 'event-header' ? `id ${ev.id}` : `${ev.kind} ${ev.hookId ? `0x${ev.hookId.toString(16)}` : ev.id}`)
        // A manifest event also answers to `id N` and to its symbol-less short name (the opcode's, e.g. Parse).
        if (filter.events && !filter.events.includes(evName) && !(man && filter.events.some((x) => x === `id ${ev.id}` || x === evName.slice(evName.lastIndexOf('/') + 1)))) continue
        if (filter.pids && !filter.pids.includes(ev.pid)) continue
        yield {
          time: iso(ev.tsAbsNs),
          relNs: rel,
          provider: name || ev.providerGuid,
          providerGuid: ev.providerGuid,
          event: evName,
          kind: ev.kind,
          id: ev.id,
          opcode: ev.opcode,
          level: ev.level,
          keyword: `0x${ev.keyword.toString(16)}`,
          pid: ev.pid,
          tid: ev.tid,
          cpu: ev.cpu,
          offset: ev.offset,
          ...(ev.fields ? {fields: jsonFields(ev.fields) as Record<string, unknown>} : {}),
          ...(man ? {fields: jsonFields(man.fields) as Record<string, unknown>} : {}),
          ...(man?.error !== undefined ? {fieldsError: man.error} : {}),
          ...(man?.message !== undefined ? {message: man.message} : {}),
        }
        if (filter.limit !== undefined && ++n >= filter.limit) return
      }
    }
  } finally {
    await f.close()
  }
  if (f.stats.buffers === 0) throw new InputError(path, 'no ETW buffers could be read: not an .etl file, or it is truncated before its first buffer', {offset: 0})
}

export {formatGuid}
