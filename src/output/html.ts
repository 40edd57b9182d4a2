/**
 * The self-contained HTML report: data, styles and script inline, nothing fetched, works from
 * file://. Everything taken from a trace is escaped; the page reads fully without JavaScript
 * (findings and tables are plain HTML) and the script adds the timeline, filters and links.
 */
import {closeSync, openSync, readFileSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import type {ReportData} from '../view/report-data.js'
import {formatDuration, formatOffset} from '../util/duration.js'
import {packageRoot} from '../util/paths.js'

export const STATIC_LIMITS = {findings: 5000, socketSections: 300, socketIndex: 2000}

export function escapeHtml(s: string | number | undefined): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c]!)
}

/** JSON that can sit inside a <script> element: no `<`, `>`, `&` or line separators left raw. */
export function scriptSafeJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
}

const asset = (name: string): string => readFileSync(join(packageRoot, 'assets', name), 'utf8')

const DATA = '\u0000santrace-data\u0000'

/** The page as a string (small reports, tests). */
export function renderHtml(d: ReportData): string {
  let out = ''
  for (const part of htmlParts(d)) out += part === DATA ? [...dataJson(d)].join('') : part
  return out
}

/** Writes the page piece by piece, so a large report is never one string in memory. */
export function writeHtml(path: string, d: ReportData): number {
  const fd = openSync(path, 'w')
  let size = 0
  const put = (s: string): void => {
    size += writeSync(fd, s)
  }
  try {
    for (const part of htmlParts(d)) {
      if (part === DATA) for (const c of dataJson(d)) put(c)
      else put(part)
    }
  } finally {
    closeSync(fd)
  }
  return size
}

/** The embedded data, key by key and column by column. */
function* dataJson(d: ReportData): Generator<string> {
  const keys = Object.keys(d) as Array<keyof ReportData>
  yield '{'
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]
    yield `${i ? ',' : ''}${JSON.stringify(k)}:`
    const v = d[k]
    if (k === 'bars' || k === 'marks') {
      const cols = Object.keys(v as object)
      yield '{'
      for (let j = 0; j < cols.length; j++) yield `${j ? ',' : ''}${JSON.stringify(cols[j])}:${scriptSafeJson((v as unknown as Record<string, unknown>)[cols[j]])}`
      yield '}'
    } else if (k === 'rows' || k === 'findings') {
      const list = v as unknown[]
      yield '['
      for (let j = 0; j < list.length; j += 1000) yield `${j ? ',' : ''}${scriptSafeJson(list.slice(j, j + 1000)).slice(1, -1)}`
      yield ']'
    } else yield scriptSafeJson(v)
  }
  yield '}'
}

function htmlParts(d: ReportData): string[] {
  const m = d.meta
  const rel = (ts: number): string => formatOffset(ts - m.span.first)
  const out: string[] = []
  const title = `santrace report — ${m.files.join(', ')}`
  out.push(
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${asset('report.css')}</style>`,
    '</head><body>',
  )
  // Header
  const f = m.findings
  const evaluated = (m.rules.violated ?? 0) + (m.rules.passed ?? 0)
  out.push(
    '<header id="top">',
    `<h1>santrace report</h1>`,
    `<div class="files">${m.files.map(escapeHtml).join('<br>')}</div>`,
    '<div class="kpis">',
    `<span class="kpi">span <b>${escapeHtml(formatDuration(m.span.last - m.span.first))}</b>${m.origin ? ` from ${escapeHtml(m.origin)}` : ''}</span>`,
    `<span class="kpi"><b>${m.processes}</b> processes</span>`,
    `<span class="kpi"><b>${m.sockets}</b> sockets</span>`,
    `<span class="kpi"><b>${m.events.toLocaleString('en-US')}</b> events${m.skipped ? ` (${m.skipped} skipped)` : ''}</span>`,
    `<span class="kpi sev-error"><b>${f.error}</b> errors</span>`,
    `<span class="kpi sev-warning"><b>${f.warning}</b> warnings</span>`,
    `<span class="kpi sev-info"><b>${f.info}</b> info</span>`,
    `<span class="kpi">rules: <b>${evaluated}</b> evaluated, <b>${m.rules['not-evaluated'] ?? 0}</b> not evaluated</span>`,
    '</div>',
    `<div class="note">santrace ${escapeHtml(m.version)} · generated ${escapeHtml(m.generated)}</div>`,
    '</header>',
    '<nav><a href="#timeline">Timeline</a><a href="#findings">Findings</a><a href="#sockets">Sockets</a><a href="#stats">Statistics</a><a href="#rules">Rules</a></nav>',
    '<main>',
  )
  // Timeline (drawn by the script)
  const kinds = ['connect', 'connecting', 'accept', 'send', 'recv', 'rdma-write', 'rdma-read', 'close', 'call']
  out.push(
    '<section id="timeline"><h2>Timeline</h2>',
    '<p id="timeline-noscript" class="note">The swimlane timeline needs JavaScript; the findings and tables below are plain HTML.</p>',
    '<div id="timeline-box" hidden>',
    '<div id="timeline-controls"><button id="zoom-in" type="button">Zoom in</button><button id="zoom-out" type="button">Zoom out</button><button id="zoom-reset" type="button">Reset</button>',
    `<span class="note">wheel: zoom · drag: pan · one lane per socket</span><span class="legend">${kinds.map((k) => `<span><i class="k-${k}"></i>${k}</span>`).join('')}</span></div>`,
    '<div id="timeline-scroll"><svg id="timeline-svg" xmlns="http://www.w3.org/2000/svg" style="position:sticky;top:0"></svg><div id="timeline-spacer"></div></div>',
    '</div></section>',
  )
  // Findings
  out.push(
    `<section id="findings"><h2>Findings (${d.findings.length})</h2>`,
    '<div id="filters" hidden>',
    '<select id="f-severity" aria-label="severity"><option value="">any severity</option><option value="error">errors</option><option value="warning">warnings and up</option><option value="info">info and up</option></select>',
    '<select id="f-rule" aria-label="rule"><option value="">any rule</option></select>',
    '<select id="f-fault" aria-label="fault"><option value="">switch or provider</option></select>',
    '<select id="f-pid" aria-label="process"><option value="">any process</option></select>',
    '<input id="f-socket" placeholder="socket (0x2a0)" aria-label="socket" size="14">',
    '<input id="f-text" placeholder="search text" aria-label="text" size="24">',
    '<button id="f-clear" type="button">Clear</button> <span id="f-count" class="note"></span>',
    '</div>',
  )
  if (d.findings.length === 0) out.push('<p>No findings.</p>')
  out.push('<ol id="finding-list">')
  for (const x of d.findings.slice(0, STATIC_LIMITS.findings)) {
    const lane = x.lane >= 0 ? d.lanes[x.lane] : undefined
    out.push(
      `<li id="finding-${x.id}" class="${x.severity}" data-id="${x.id}">`,
      `<div class="finding-head"><span class="sev-${x.severity}">${x.severity}</span><a class="rule" href="#rule-${x.rule}">${x.rule}</a><span>${escapeHtml(x.message)}</span></div>`,
      `<div class="note">${escapeHtml(x.title)} · fault: ${escapeHtml(x.fault)} · pid ${x.pid}${lane ? ` · <a href="#${escapeHtml(lane.anchor)}">socket ${escapeHtml(lane.s)}#${lane.gen}</a>` : ''} · ${escapeHtml(x.time)} · <a href="#finding-${x.id}">link</a> · <a href="${escapeHtml(x.ruleUrl)}" rel="noreferrer">reference</a></div>`,
      '<ul class="evidence">',
      ...x.evidence.map((e) => `<li><b>${escapeHtml(e.role)}</b> <span class="mono">${escapeHtml(e.time)}${e.tid !== undefined ? ` tid ${e.tid}` : ''} ${escapeHtml(e.text)}</span> <span class="note">${escapeHtml(e.file)}${e.line !== undefined ? `:${e.line}` : e.offset !== undefined ? ` @${e.offset}` : ''}</span></li>`),
      '</ul></li>',
    )
  }
  out.push('</ol>')
  if (d.findings.length > STATIC_LIMITS.findings) out.push(`<p class="note">${d.findings.length - STATIC_LIMITS.findings} more findings are in the JSON report (this page lists the first ${STATIC_LIMITS.findings}).</p>`)
  out.push('</section>')

  // Sockets: an index of all, static sections for the first ones (those with findings first).
  out.push(`<section id="sockets"><h2>Sockets (${d.lanes.length})</h2>`)
  const findingsPerLane = new Map<number, number>()
  for (const x of d.findings) if (x.lane >= 0) findingsPerLane.set(x.lane, (findingsPerLane.get(x.lane) ?? 0) + 1)
  const laneOrder = d.lanes.map((_, i) => i).sort((a, b) => d.lanes[a].pid - d.lanes[b].pid || d.lanes[a].first - d.lanes[b].first)
  out.push('<table><thead><tr><th>pid</th><th>socket</th><th class="num">gen</th><th>role</th><th>switch handle</th><th>final state</th><th class="num">events</th><th class="num">findings</th></tr></thead><tbody>')
  for (const i of laneOrder.slice(0, STATIC_LIMITS.socketIndex)) {
    const l = d.lanes[i]
    out.push(`<tr><td class="num">${l.pid}</td><td class="mono"><a href="#${escapeHtml(l.anchor)}">${escapeHtml(l.s)}</a></td><td class="num">${l.gen}</td><td>${escapeHtml(l.role ?? '')}</td><td class="mono">${escapeHtml(l.handle ?? '')}</td><td>${escapeHtml(l.state)}</td><td class="num">${l.events}</td><td class="num">${findingsPerLane.get(i) ?? 0}</td></tr>`)
  }
  out.push('</tbody></table>')
  if (d.lanes.length > STATIC_LIMITS.socketIndex) out.push(`<p class="note">The table lists the first ${STATIC_LIMITS.socketIndex} sockets; every socket has a link target (#socket-PID-SOCKET-GEN) built by the page's script.</p>`)
  const staticLanes = [...laneOrder].sort((a, b) => (findingsPerLane.has(b) ? 1 : 0) - (findingsPerLane.has(a) ? 1 : 0)).slice(0, STATIC_LIMITS.socketSections)
  for (const i of [...staticLanes].sort((a, b) => laneOrder.indexOf(a) - laneOrder.indexOf(b))) {
    const l = d.lanes[i]
    out.push(
      `<section class="socket-section" id="${escapeHtml(l.anchor)}"><h3>pid ${l.pid} · socket ${escapeHtml(l.s)} generation ${l.gen}</h3>`,
      `<p class="note">${escapeHtml(l.role ?? 'role unknown')} · switch handle ${escapeHtml(l.handle ?? '?')} · final state ${escapeHtml(l.state)} · ${l.events} events${d.rows[i].length < l.events ? ` (first ${d.rows[i].length} shown)` : ''}</p>`,
    )
    const mine = d.findings.filter((x) => x.lane === i)
    if (mine.length) out.push(`<p>${mine.map((x) => `<a class="sev-${x.severity}" href="#finding-${x.id}">${x.rule}</a>`).join(' ')}</p>`)
    out.push('<table><thead><tr><th>time</th><th class="num">tid</th><th></th><th>event</th><th class="num">duration</th></tr></thead><tbody>')
    for (const r of d.rows[i]) out.push(`<tr><td class="mono">${escapeHtml(rel(r[0]))}</td><td class="num">${r[1] >= 0 ? r[1] : ''}</td><td>${escapeHtml(r[2])}</td><td class="mono">${escapeHtml(r[3])}</td><td class="num">${r[4] >= 0 ? escapeHtml(formatDuration(r[4])) : ''}</td></tr>`)
    out.push('</tbody></table></section>')
  }
  if (d.lanes.length > staticLanes.length) out.push(`<p class="note">${d.lanes.length - staticLanes.length} more sockets: their sections are built by the page's script when opened.</p>`)
  out.push('<div id="dynamic-sockets"></div></section>')

  // Statistics
  const s = d.stats
  out.push('<section id="stats"><h2>Statistics</h2>', '<table><thead><tr><th>call or operation</th><th class="num">count</th><th class="num">failed</th><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">max</th></tr></thead><tbody>')
  const dur = (ns: number): string => (Number.isFinite(ns) ? formatDuration(Math.round(ns)) : '')
  for (const k of s.kinds) out.push(`<tr><td>${escapeHtml(k.kind)}</td><td class="num">${k.count}</td><td class="num">${k.failed}</td><td class="num">${dur(k.p50)}</td><td class="num">${dur(k.p90)}</td><td class="num">${dur(k.p99)}</td><td class="num">${dur(k.max)}</td></tr>`)
  out.push(
    '</tbody></table>',
    '<p class="note">Latency: call to return for calls; issue to completion for "completion" rows (percentiles within 2%).</p>',
    `<p>Bytes: sent ${s.bytes.sent.toLocaleString('en-US')}, received ${s.bytes.received.toLocaleString('en-US')}, RDMA written ${s.bytes.rdmaWritten.toLocaleString('en-US')}, RDMA read ${s.bytes.rdmaRead.toLocaleString('en-US')}.</p>`,
    `<p>Pending at the end of the trace: ${s.pendingAtEnd.length ? s.pendingAtEnd.map((p) => `${escapeHtml(p.fn)} ${p.count}`).join(', ') : 'none'}. Calls not returned: ${s.openCallsAtEnd.length ? s.openCallsAtEnd.map((p) => `${escapeHtml(p.fn)} ${p.count}`).join(', ') : 'none'}.</p>`,
  )
  const dr = m.dropped
  if (dr.bars || dr.marks || dr.rows) out.push(`<p class="note">Limits reached: ${dr.bars} operations, ${dr.marks} marks and ${dr.rows} table rows were not kept (limits ${m.limits.bars} bars, ${m.limits.marks} marks, ${m.limits.rowsPerSocket} rows per socket and ${m.limits.rows} in all).</p>`)
  out.push('</section>')

  // Rules
  out.push('<section id="rules"><h2>Rules</h2><table><thead><tr><th>rule</th><th>title</th><th>severity</th><th>status</th><th class="num">findings</th><th class="num">checked</th><th>notes</th></tr></thead><tbody>')
  for (const r of d.rules) {
    const doc = d.ruleDocs[r.rule]
    out.push(`<tr id="rule-${r.rule}"><td><a href="${escapeHtml(doc?.refs[0] ?? '#')}" rel="noreferrer">${r.rule}</a></td><td>${escapeHtml(r.title)}<div class="note">${escapeHtml(doc?.checks ?? '')}</div></td><td>${r.severity}</td><td class="status-${r.status}">${r.status.replace('-', ' ')}</td><td class="num">${r.findings}</td><td class="num">${r.checked}</td><td class="note">${escapeHtml(r.reason ?? '')}</td></tr>`)
  }
  out.push('</tbody></table></section></main>')
  out.push('<div id="tooltip" role="tooltip"></div>')
  out.push('<script type="application/json" id="santrace-data">', DATA, '</script>')
  out.push(`<script>${asset('report.js').replace(/<\/script/gi, '<\\/script')}</script>`)
  out.push('</body></html>\n')
  return out.map((x) => (x === DATA ? x : `${x}\n`))
}
