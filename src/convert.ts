/**
 * `santrace convert`: SAN traces between JSON Lines and .etl, both directions. The input is
 * read through the normal ingestion (validated, normalized, time ordered), so what is written
 * is exactly what santrace analyzes; skipped events are counted and reported.
 */
import {createWriteStream} from 'node:fs'
import {once} from 'node:events'
import {SanEtlWriter} from './etl/index.js'
import {createIngestContext, readTraces, type IngestContext} from './ingest/index.js'
import type {Ev} from './model/event.js'
import {UsageError} from './util/errors.js'

export type ConvertFormat = 'jsonl' | 'etl'

export function formatFor(path: string, given?: string): ConvertFormat {
  if (given === 'jsonl' || given === 'etl') return given
  if (given) throw new UsageError(`--to: unknown format '${given}' (jsonl or etl)`)
  if (/\.etl$/i.test(path)) return 'etl'
  if (/\.(jsonl|ndjson)$/i.test(path)) return 'jsonl'
  throw new UsageError(`cannot tell the output format of '${path}': name it .etl or .jsonl, or give --to`)
}

/** The JSON-trace object of a normalized event (payload fields in their normalized form). */
export function toRecord(ev: Ev): Record<string, unknown> {
  const r: Record<string, unknown> = {pid: ev.pid}
  if (ev.tid !== undefined) r.tid = ev.tid
  if (ev.cpu !== undefined) r.cpu = ev.cpu
  r.provider = ev.provider
  r.event = ev.event
  for (const k in ev.f) r[k] = ev.f[k]
  return r
}

/** Absolute time of an event: the analysis origin plus its offset, or a fixed epoch for relative traces. */
function absNs(ev: Ev, ctx: IngestContext, base: bigint): bigint {
  return (ctx.timebase.origin ?? base) + BigInt(Math.round(ev.ts))
}

export interface ConvertResult {
  events: number
  skipped: number
  ctx: IngestContext
}

/** Relative (integer-ts) traces get this start time in .etl, which needs absolute times. */
export const DEFAULT_START = BigInt(Date.UTC(2026, 0, 1)) * 1_000_000n

export async function convert(inputs: string[], out: string, opts: {to?: string; strict?: boolean; start?: bigint} = {}): Promise<ConvertResult> {
  const fmt = formatFor(out, opts.to)
  const ctx = createIngestContext({strict: opts.strict})
  const base = opts.start ?? DEFAULT_START
  let events = 0
  if (fmt === 'etl') {
    // Streamed: the events arrive in time order; the writer holds one buffer per CPU.
    let w: SanEtlWriter | undefined
    try {
      for await (const batch of readTraces(inputs, ctx)) {
        for (const ev of batch) {
          const tsAbsNs = absNs(ev, ctx, base)
          w ??= await SanEtlWriter.create(out, tsAbsNs)
          await w.write({record: toRecord(ev), tsAbsNs})
          events++
        }
      }
      // An input without events still gets a valid (empty) file.
      w ??= await SanEtlWriter.create(out, base)
    } finally {
      await w?.close()
    }
  } else {
    const w = createWriteStream(out)
    for await (const batch of readTraces(inputs, ctx)) {
      let chunk = ''
      for (const ev of batch) {
        const r = toRecord(ev)
        const ts = ctx.timebase.origin !== undefined ? ctx.timebase.iso(ev.ts) : ev.ts
        chunk += JSON.stringify({ts, ...r}) + '\n'
        events++
      }
      if (!w.write(chunk)) await once(w, 'drain')
    }
    w.end()
    await once(w, 'finish')
  }
  return {events, skipped: ctx.diag.totalSkipped, ctx}
}
