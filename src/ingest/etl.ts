/**
 * .etl traces: the native reader (src/etl) decodes the file in time order; events of the
 * WSD.SanSpi and WSD.SwitchShim TraceLogging providers become the same normalized events as
 * their JSON form. Other providers' events are counted per provider; damaged records are
 * reported with their byte offset, counted and skipped.
 */
import {openSanEtl} from '../etl/index.js'
import type {Ev} from '../model/event.js'
import {InputError} from '../util/errors.js'
import {EventBuilder} from './build.js'
import type {IngestContext} from './index.js'
import {Reorderer} from './order.js'

export async function* readEtl(path: string, display: string, ctx: IngestContext): AsyncGenerator<Ev[]> {
  const b = new EventBuilder(display, ctx)
  const ro = new Reorderer()
  let damaged = 0
  let f
  try {
    f = await openSanEtl(path, {
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
  let lastBytes = 0
  try {
    for await (const batch of f.batches()) {
      for (const m of batch) {
        const ev = b.fromRecord(m.record, m.tsAbsNs, {file: display, offset: m.offset})
        if (ev) ro.push(ev)
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
  const other = Object.fromEntries(f.san.otherProviders)
  const otherCount = Object.values(other).reduce((a, n) => a + n, 0)
  if (otherCount) ctx.diag.note(`events of other ETW providers in ${display} (not analyzed)`, otherCount)
  if (f.san.unmapped) ctx.diag.skip({file: display, reason: 'SAN event without TraceLogging metadata', message: `${f.san.unmapped} events of the SAN providers carry no TraceLogging metadata and cannot be decoded`}, f.san.unmapped)
  if (f.san.payloadErrors) ctx.diag.note(`SAN events in ${display} whose payload did not match their metadata (decoded fields kept)`, f.san.payloadErrors)
  if (ro.outOfOrder) ctx.diag.note(`events out of time order in ${display} (re-sorted)`, ro.outOfOrder)
  ctx.diag.files.push({file: display, format: 'etl', events: b.events, skipped: b.skipped + damaged, otherProviders: other})
  if (b.events === 0 && f.stats.buffers === 0) throw new InputError(display, 'no ETW buffers could be read: not an .etl file, or it is truncated before its first buffer', {offset: 0})
}
