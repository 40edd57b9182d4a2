/** Terminal rendering of `santrace stats`. */
import Table from 'cli-table3'
import type {Stats} from '../view/stats.js'
import {formatDuration} from '../util/duration.js'
import {makeChalk, tableStyle} from './color.js'

const d = (ns: number): string => (Number.isFinite(ns) ? formatDuration(Math.round(ns)) : '-')

export function renderStats(s: Stats, color: boolean): string {
  const c = makeChalk(color)
  const t = new Table({head: ['Call or operation', 'Count', 'Failed', 'p50', 'p90', 'p99', 'Max'], style: tableStyle(color, true)})
  for (const k of s.kinds) t.push([k.kind, k.count, k.failed, d(k.p50), d(k.p90), d(k.p99), d(k.max)])
  const out = [
    c.bold(`${s.events.toLocaleString('en-US')} events, ${s.processes} processes, ${s.sockets} sockets, span ${formatDuration(s.span.last - s.span.first)}`),
    '',
    t.toString(),
    c.dim('Latency: call to return for calls; issue to completion for "completion" rows (percentiles within 2%).'),
    '',
    `Bytes: sent ${s.bytes.sent.toLocaleString('en-US')}, received ${s.bytes.received.toLocaleString('en-US')}, RDMA written ${s.bytes.rdmaWritten.toLocaleString('en-US')}, RDMA read ${s.bytes.rdmaRead.toLocaleString('en-US')}`,
    `Pending at end of trace: ${s.pendingAtEnd.length ? s.pendingAtEnd.map((p) => `${p.fn} ${p.count}`).join(', ') : 'none'}`,
    `Calls not returned at end of trace: ${s.openCallsAtEnd.length ? s.openCallsAtEnd.map((p) => `${p.fn} ${p.count}`).join(', ') : 'none'}`,
  ]
  return out.join('\n') + '\n'
}
