#!/usr/bin/env node
// `npm run bench`: generates its inputs with the simulator (santrace synth), then measures decoding and full analysis of JSON
// Lines and .etl (events/s, MB/s, peak RSS), the RSS of a 10x larger trace, and the scaling
// of --jobs over 8 files. Prints a table and writes bench/results.json. Not a test: numbers
// depend on the machine. BENCH_EVENTS sets the base size (default 1,000,000 events).
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {availableParallelism} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
if (!existsSync(join(root, 'dist', 'src', 'analyze.js'))) execFileSync('npm', ['run', 'build'], {cwd: root, stdio: 'inherit'})
const {synthesize} = await import('../dist/src/synth/sim.js')
const {convert} = await import('../dist/src/convert.js')
// Each measurement runs under the heap flags the CLI gives itself (src/cli/heap.ts).
const {planHeap} = await import('../dist/src/cli/heap.js')
const heap = planHeap({SANTRACE_MAX_HEAP: process.env.SANTRACE_MAX_HEAP}, [])
const heapFlags = heap.relaunch ? heap.flags : []

const work = join(root, 'bench', 'work')
mkdirSync(work, {recursive: true})
const base = Number(process.env.BENCH_EVENTS ?? 1_000_000)

function measure(mode, files, env = {}) {
  const out = execFileSync(process.execPath, [...heapFlags, join(root, 'bench', 'measure.mjs'), mode, ...files], {env: {...process.env, ...env}, encoding: 'utf8'})
  return JSON.parse(out.trim().split('\n').pop())
}

async function input(name, events, seed) {
  const jsonl = join(work, `${name}.jsonl`)
  if (!existsSync(jsonl)) {
    process.stderr.write(`generating ${jsonl} (${events.toLocaleString('en-US')} events)\n`)
    // The simulator: 16 processes, 64 concurrent connections, both notification modes, RDMA.
    synthesize({events, seed, processes: 16, sockets: 64}, jsonl)
  }
  return jsonl
}

async function etlOf(jsonl) {
  const etl = jsonl.replace(/\.jsonl$/, '.etl')
  if (!existsSync(etl)) {
    process.stderr.write(`converting to ${etl}\n`)
    await convert([jsonl], etl)
  }
  return etl
}

const rows = []
const main = await input(`base-${base}`, base, 1)
const etl = await etlOf(main)
// Targets of the project (issue 7), single thread, events/s.
// The floor and model-only rows say where the time goes: what every JSON analysis must spend
// per event (JSON.parse and the schema check), and ingest plus the socket model without rules.
rows.push({case: 'JSON Lines JSON.parse + schema check only', ...measure('json-floor', [main])})
rows.push({case: 'JSON Lines decode', ...measure('decode', [main])})
rows.push({case: 'JSON Lines analyze, model only (no rules)', ...measure('model', [main])})
const jsonAnalyze = {case: 'JSON Lines analyze (all rules)', target: 500_000, ...measure('analyze', [main])}
rows.push(jsonAnalyze)
rows.push({case: '.etl reader alone (generic decoding)', ...measure('etl-raw', [etl])})
rows.push({case: '.etl decode (SAN events)', target: 2_000_000, ...measure('decode', [etl])})
rows.push({case: '.etl analyze, model only (no rules)', ...measure('model', [etl])})
rows.push({case: '.etl analyze (all rules)', target: 1_000_000, ...measure('analyze', [etl])})
let rssScaling
if (process.env.BENCH_LARGE) {
  const big = await input(`large-${base * 10}`, base * 10, 2)
  const row = {case: 'JSON Lines analyze, 10x larger', ...measure('analyze', [big])}
  rows.push(row)
  // Target: peak RSS under 200 MB for the large trace, within 10% of the base trace's.
  const small = jsonAnalyze.peakRssMB
  rssScaling = {baseMB: small, largeMB: row.peakRssMB, ratio: row.peakRssMB / small, met: row.peakRssMB < 200 && row.peakRssMB <= small * 1.1}
}
const eight = []
for (let i = 0; i < 8; i++) eight.push(await input(`part${i}-${Math.max(10_000, Math.floor(base / 8))}`, Math.max(10_000, Math.floor(base / 8)), 100 + i))
for (const jobs of [1, 2, 4].filter((j) => j <= Math.max(2, availableParallelism()))) {
  rows.push({case: `8 files, --jobs ${jobs}`, ...measure('many', eight, {BENCH_JOBS: String(jobs)})})
}

const fmt = (n, d = 0) => n.toLocaleString('en-US', {maximumFractionDigits: d, minimumFractionDigits: d})
const header = ['case', 'events', 'MB', 'seconds', 'events/s', 'MB/s', 'peak RSS MB', 'target events/s']
const table = rows.map((r) => [
  r.case,
  fmt(r.events),
  fmt(r.bytes / 1048576, 1),
  fmt(r.seconds, 2),
  fmt(r.eventsPerSec),
  fmt(r.mbPerSec, 1),
  fmt(r.peakRssMB),
  r.target ? `${fmt(r.target)} (${r.eventsPerSec >= r.target ? 'met' : 'missed'})` : '',
])
const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)))
const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
console.log(line(header))
console.log(widths.map((w) => '-'.repeat(w)).join('  '))
for (const t of table) console.log(line(t))
if (rssScaling) {
  console.log(`\npeak RSS, 10x larger trace: ${fmt(rssScaling.largeMB)} MB vs ${fmt(rssScaling.baseMB)} MB (x${fmt(rssScaling.ratio, 2)}); target under 200 MB and within 10%: ${rssScaling.met ? 'met' : 'missed'}`)
}
console.log(`\nnode ${process.version}, ${availableParallelism()} CPUs, heap flags: ${heapFlags.join(' ') || "Node's defaults"}`)
writeFileSync(join(root, 'bench', 'results.json'), JSON.stringify({date: new Date().toISOString(), node: process.version, cpus: availableParallelism(), heapFlags, rows, rssScaling}, null, 2) + '\n')
console.log('\nwrote bench/results.json')
