/**
 * .etl traces: the native reader (src/etl) decodes the file in time order; events of the
 * WSD.SanSpi and WSD.SwitchShim TraceLogging providers become the same normalized events as
 * their JSON form. Other providers' events are counted per provider; damaged records are
 * reported with their byte offset, counted and skipped.
 *
 * Events of trusted layouts (src/etl/sanfast.ts) are decoded by the reader straight to their
 * normalized fields; the others go through the JSON form, schema validation and normalization.
 */
import {openEtl, sanProviderOf, SanMapper} from '../etl/index.js'
import {EtlEventRecord, EtlFastRecord} from '../etl/event.js'
import type {EtlEvent, EtlFastView} from '../etl/types.js'
import {sanFastDecoder} from '../etl/sanfast.js'
import type {Ev, Value} from '../model/event.js'
import {InputError} from '../util/errors.js'
import {EventBuilder} from './build.js'
import type {IngestContext} from './index.js'
import {Reorderer} from './order.js'

/** Reorder window for .etl input, in events (JSON input uses REORDER_WINDOW). */
export const ETL_REORDER_WINDOW = 256

/** `fast: false` decodes every SAN event through the JSON form and validation (tests compare both). */
export async function* readEtl(path: string, display: string, ctx: IngestContext, opts: {fast?: boolean} = {}): AsyncGenerator<Ev[]> {
  const b = new EventBuilder(display, ctx)
  // The reader already merges the per-CPU buffers by time: a small window catches what little
  // is left out of order (clock skew between CPUs) and keeps fewer events alive, which cuts
  // garbage-collection work.
  const ro = new Reorderer(ETL_REORDER_WINDOW)
  const mapper = new SanMapper()
  const san = mapper.stats
  let damaged = 0
  let lastBytes = 0
  // Absolute time of the reader's tsNs 0 (fixed per file), and once the analysis origin is known
  // its distance from it as an exact Number: times without BigInt per event.
  let base: bigint | undefined
  let off = NaN
  const tb = ctx.timebase
  // Events of trusted layouts: the reader hands most of them over as it outputs them (tlFastEmit,
  // no record object in between), the others come as EtlFastRecord in the batch; both in order.
  const emit = (ev: EtlFastView | EtlFastRecord): Ev => {
    san.mapped++
    const tsNs = ev.tsNs
    let ts: number
    if (off === off && Number.isSafeInteger(tsNs)) ts = off + tsNs
    else if (Number.isSafeInteger(tsNs)) {
      base ??= ev.tsAbsNs - BigInt(tsNs)
      ts = tb.relSplit(base, tsNs)
      const d = base - tb.origin!
      if (d >= -9007199254740991n && d <= 9007199254740991n) off = Number(d)
    } else ts = tb.rel(ev.tsAbsNs)
    return b.fromFast(ev.eventName, sanProviderOf(ev as EtlEvent)!, ev.pid, ev.tid, ev.cpu, ev.tlFast as Record<string, Value>, ts, {file: display, offset: ev.offset})
  }
  let f
  try {
    f = await openEtl(path, {
      decodeTraceLogging: true,
      tlFast: opts.fast === false ? undefined : sanFastDecoder,
      tlFastEmit: emit,
      onDiagnostic(d) {
        damaged++
        ctx.diag.skip({file: display, offset: d.offset, reason: 'damaged .etl data', message: `${d.message}${d.expected ? ` (expected ${d.expected})` : ''}${d.skippedBytes ? `; ${d.skippedBytes} bytes skipped` : ''}`})
        if (ctx.diag.strict) throw new InputError(display, d.message, {offset: d.offset})
      },
    })
  } catch (e) {
    if (e instanceof InputError) throw e
    throw new InputError(display, `not a readable .etl file: ${(e as Error).message}`, {offset: 0})
  }
  try {
    for await (const batch of f.batches() as AsyncGenerator<Array<EtlEvent | Ev>>) {
      for (let i = 0; i < batch.length; i++) {
        const ev = batch[i]
        if (ev instanceof EtlEventRecord) {
          const m = mapper.map(ev)
          if (m === undefined) continue
          const e = b.fromRecord(m.record, m.tsAbsNs, {file: display, offset: m.offset})
          if (e) ro.push(e)
        } else if (ev instanceof EtlFastRecord) ro.push(emit(ev))
        else ro.push(ev as Ev)
      }
      ctx.progress.bytes += f.stats.bytesRead - lastBytes
      lastBytes = f.stats.bytesRead
      const r = ro.ready()
      if (r) yield r
    }
  } finally {
    await f.close()
  }
  const tail = ro.flush()
  if (tail.length) yield tail
  const other = Object.fromEntries(san.otherProviders)
  const otherCount = Object.values(other).reduce((a, n) => a + n, 0)
  if (otherCount) ctx.diag.note(`events of other ETW providers in ${display} (not analyzed)`, otherCount)
  if (san.unmapped) ctx.diag.skip({file: display, reason: 'SAN event without TraceLogging metadata', message: `${san.unmapped} events of the SAN providers carry no TraceLogging metadata and cannot be decoded`}, san.unmapped)
  if (san.payloadErrors) ctx.diag.note(`SAN events in ${display} whose payload did not match their metadata (decoded fields kept)`, san.payloadErrors)
  if (ro.outOfOrder) ctx.diag.note(`events out of time order in ${display} (re-sorted)`, ro.outOfOrder)
  ctx.diag.files.push({file: display, format: 'etl', events: b.events, skipped: b.skipped + damaged, otherProviders: other})
  if (b.events === 0 && f.stats.buffers === 0) throw new InputError(display, 'no ETW buffers could be read: not an .etl file, or it is truncated before its first buffer', {offset: 0})
}
