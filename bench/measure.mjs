#!/usr/bin/env node
// One measurement in its own process, so peak RSS is its own: node bench/measure.mjs MODE FILE...
//   decode   read and normalize every event (no model, no rules)
//   analyze  full analysis with every rule
//   etl-raw  the .etl reader alone (every record of every provider)
//   model    ingest and the socket model, no rules
//   json-floor  JSON Lines: only split lines, JSON.parse and the schema check (what any
//            analysis of JSON must do per event, so a ceiling on its speed)
//   many     analyze the files independently with --jobs N (N in BENCH_JOBS)
import {statSync} from 'node:fs'
import {analyze} from '../dist/src/analyze.js'
import {createIngestContext, readTraces} from '../dist/src/ingest/index.js'
import {openEtl} from '../dist/src/etl/index.js'
import {analyzeMany} from '../dist/src/parallel.js'
import {EventValidator} from '../dist/src/ingest/validate.js'
import {lines} from '../dist/src/ingest/json.js'
import {createReadStream} from 'node:fs'

const [mode, ...files] = process.argv.slice(2)
const bytes = files.reduce((a, f) => a + statSync(f).size, 0)
const t0 = process.hrtime.bigint()
let events = 0
let findings
if (mode === 'decode') {
  const ctx = createIngestContext()
  for await (const b of readTraces(files, ctx)) events += b.length
} else if (mode === 'analyze') {
  const r = await analyze({files})
  events = r.summary.events
  findings = r.findings.length
} else if (mode === 'model') {
  const r = await analyze({files, ruleSet: []})
  events = r.summary.events
} else if (mode === 'json-floor') {
  // The ingest's own line splitting, then only what every JSON event must go through.
  const v = new EventValidator()
  let bad = 0
  for (const f of files) {
    for await (const group of lines(createReadStream(f, {highWaterMark: 1 << 20}))) {
      for (const text of group.lines) {
        if (text.length === 0) continue
        events++
        if (v.validate(JSON.parse(text))) bad++
      }
    }
  }
  if (bad) findings = bad
} else if (mode === 'etl-raw') {
  for (const f of files) {
    const etl = await openEtl(f)
    for await (const b of etl.batches()) events += b.length
    await etl.close()
  }
} else if (mode === 'many') {
  const r = await analyzeMany({groups: files.map((f) => [f]), jobs: Number(process.env.BENCH_JOBS ?? 1)})
  events = r.summary.events
  findings = r.findings.length
} else {
  console.error(`unknown mode ${mode}`)
  process.exit(2)
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9
const rssMB = process.resourceUsage().maxRSS / 1024
console.log(JSON.stringify({mode, files: files.length, bytes, events, findings, seconds, eventsPerSec: events / seconds, mbPerSec: bytes / 1048576 / seconds, peakRssMB: rssMB}))
