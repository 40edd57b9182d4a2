import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {cli} from '../helpers/cli.js'
import {tempDir} from '../helpers/run.js'
import {Histogram} from '../../src/view/histogram.js'

interface TraceEvent {
  name?: string
  ph: string
  ts?: number
  dur?: number
  pid?: number
  tid?: number
  id?: string
  cat?: string
  s?: string
  args?: Record<string, unknown>
}

describe('santrace export --format perfetto', () => {
  it('writes Chrome Trace Event JSON with the fields Perfetto requires', async () => {
    const out = join(tempDir, 'demo.perfetto.json')
    const r = await cli(['export', '--format', 'perfetto', 'fixtures/demo/demo.jsonl', '-o', out])
    expect(r.code).toBe(0)
    const doc = JSON.parse(readFileSync(out, 'utf8')) as {traceEvents: TraceEvent[]; displayTimeUnit: string}
    const ev = doc.traceEvents
    expect(ev.length).toBeGreaterThan(500)
    for (const e of ev) {
      expect(typeof e.name, JSON.stringify(e)).toBe('string')
      expect(typeof e.pid, JSON.stringify(e)).toBe('number')
      if (e.ph !== 'M') expect(typeof e.ts).toBe('number')
      if (e.ph === 'X') {
        expect(e.dur).toBeGreaterThanOrEqual(0)
        expect(typeof e.tid).toBe('number')
      }
      if (e.ph === 'i') expect(['t', 'p', 'g']).toContain(e.s)
      if (e.ph === 'i' && e.s === 't') expect(typeof e.tid).toBe('number')
    }
    // Processes and threads are named.
    const pids = new Set(ev.filter((e) => e.ph !== 'M').map((e) => e.pid))
    const named = new Set(ev.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => e.pid))
    expect([...pids].every((p) => named.has(p))).toBe(true)
    expect(ev.some((e) => e.ph === 'M' && e.name === 'thread_name')).toBe(true)
    // Every async begin has its end; ids are unique per category.
    const begins = new Map<string, number>()
    const ends = new Map<string, number>()
    for (const e of ev) {
      if (e.ph === 'b') begins.set(`${e.cat}/${e.id}`, (begins.get(`${e.cat}/${e.id}`) ?? 0) + 1)
      if (e.ph === 'e') ends.set(`${e.cat}/${e.id}`, (ends.get(`${e.cat}/${e.id}`) ?? 0) + 1)
    }
    expect(begins.size).toBeGreaterThan(100)
    expect([...begins.values()].every((n) => n === 1)).toBe(true)
    expect([...begins.keys()].sort()).toEqual([...ends.keys()].sort())
    for (const e of ev.filter((x) => x.ph === 'e')) {
      const b = ev.find((x) => x.ph === 'b' && x.cat === e.cat && x.id === e.id)!
      expect(e.ts!).toBeGreaterThanOrEqual(b.ts!)
    }
    // Flows pair up; findings are instants.
    const flowS = ev.filter((e) => e.ph === 's').map((e) => e.id)
    const flowF = ev.filter((e) => e.ph === 'f').map((e) => e.id)
    expect(flowS.length).toBeGreaterThan(0)
    expect(flowS.sort()).toEqual(flowF.sort())
    const findings = ev.filter((e) => e.cat === 'finding')
    expect(findings.map((e) => e.name.split(' ')[0]).sort()).toEqual(['SAN001', 'SAN012', 'SAN013', 'SAN032', 'SAN035'])
    // Calls on one thread nest (Perfetto requires it).
    const byThread = new Map<string, TraceEvent[]>()
    for (const e of ev.filter((x) => x.ph === 'X')) {
      const k = `${e.pid}:${e.tid}`
      byThread.set(k, [...(byThread.get(k) ?? []), e])
    }
    for (const list of byThread.values()) {
      list.sort((a, b) => a.ts! - b.ts! || b.dur! - a.dur!)
      const stack: TraceEvent[] = []
      for (const e of list) {
        while (stack.length && stack[stack.length - 1].ts! + stack[stack.length - 1].dur! <= e.ts!) stack.pop()
        if (stack.length) expect(e.ts! + e.dur!, `${e.name} nests in ${stack[stack.length - 1].name}`).toBeLessThanOrEqual(stack[stack.length - 1].ts! + stack[stack.length - 1].dur! + 0.1)
        stack.push(e)
      }
    }
  })
})

describe('santrace stats', () => {
  it('prints counts and percentiles per call kind, bytes and pending operations', async () => {
    const r = await cli(['stats', '--json'])
    expect(r.code).toBe(0)
    const s = JSON.parse(r.stdout)
    const connect = s.kinds.find((k: {kind: string}) => k.kind === 'WSPConnect')
    expect(connect).toMatchObject({count: 3, failed: 0})
    expect(connect.max).toBe(2_400_010_000)
    const sends = s.kinds.find((k: {kind: string}) => k.kind === 'WSPSend completion')
    expect(sends.count).toBeGreaterThan(50)
    expect(sends.p50).toBeLessThanOrEqual(sends.p90)
    expect(s.bytes.sent).toBeGreaterThan(0)
    expect(s.pendingAtEnd).toEqual([])
    const text = await cli(['stats', '--no-color'])
    expect(text.stdout).toMatch(/│ WSPConnect +│ 3 +│ 0 +│/)
  })

  it('histogram percentiles are within 2% of the exact ones', () => {
    const h = new Histogram()
    const xs = Array.from({length: 10000}, (_, i) => 1000 + ((i * 7919) % 10000) * 137)
    for (const x of xs) h.add(x)
    xs.sort((a, b) => a - b)
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = xs[Math.ceil(q * xs.length) - 1]
      expect(Math.abs(h.quantile(q) - exact) / exact).toBeLessThan(0.021)
    }
    expect(h.max).toBe(xs[xs.length - 1])
  })
})

describe('santrace report (command line)', () => {
  it('writes the HTML file and says where', async () => {
    const out = join(tempDir, 'r.html')
    const r = await cli(['report', '-o', out])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/wrote .*r\.html \(\d+ KiB\): 5 findings, 6 sockets/)
    expect(readFileSync(out, 'utf8')).toMatch(/^<!doctype html>/)
  })
})
