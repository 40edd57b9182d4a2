/**
 * Issue 7: a simulated trace with planted violations of every rule SAN001–SAN040 is analyzed
 * with exactly the planted findings — per rule, and per instance (process and socket) — and
 * nothing else. 1,000,000 events (200,000 with SANTRACE_QUICK set) written through the
 * streaming writer, as `santrace synth` does.
 */
import {readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {analyze} from '../../src/analyze.js'
import {RULE_IDS} from '../../src/synth/planters.js'
import {type PlantedSidecar, sidecarPath, synthesize} from '../../src/synth/sim.js'
import {tempDir} from '../helpers/run.js'

const EVENTS = process.env.SANTRACE_QUICK ? 200_000 : 1_000_000

const key = (rule: string, pid: number, socket?: string): string => `${rule} pid ${pid} ${socket ?? '-'}`

describe(`every rule planted in a ${EVENTS.toLocaleString('en-US')}-event trace`, () => {
  it('is found exactly: the planted findings and nothing else', async () => {
    const out = join(tempDir, 'every-rule.jsonl')
    const summary = synthesize({seed: 2024, events: EVENTS, processes: 6, sockets: 16, inject: {all: 1}}, out)
    expect(summary.events).toBeGreaterThanOrEqual(EVENTS)
    expect(summary.events).toBeLessThan(EVENTS * 1.15)

    const sidecar = JSON.parse(readFileSync(sidecarPath(out), 'utf8')) as PlantedSidecar
    expect(sidecar).toEqual(JSON.parse(JSON.stringify(summary.sidecar)))
    expect(sidecar.format).toBe('santrace-planted/1')
    expect(Object.keys(sidecar.planted)).toEqual(RULE_IDS)
    expect(sidecar.instances).toHaveLength(40)

    const r = await analyze({files: [out]})
    expect(r.summary.events).toBe(summary.events)
    expect(r.problems).toEqual([])
    const byRule: Record<string, number> = {}
    for (const f of r.findings) byRule[f.rule] = (byRule[f.rule] ?? 0) + 1
    expect(byRule).toEqual(sidecar.expected)
    // Each planted violation is reported in its own process, on its own socket.
    expect(r.findings.map((f) => key(f.rule, f.pid, f.socket)).sort()).toEqual(sidecar.instances.map((i) => key(i.rule, i.pid, i.socket)).sort())
    expect(r.rules.map((s) => `${s.rule} ${s.status}`)).toEqual(RULE_IDS.map((id) => `${id} violated`))
    rmSync(out)
  }, 300_000)

  it('also with one process (connections to itself, duplication within it) and many concurrent connections, every rule twice', async () => {
    const out = join(tempDir, 'every-rule-one-process.jsonl')
    const summary = synthesize({seed: 'one', events: 12_000, processes: 1, sockets: 40, inject: {all: 2}}, out)
    const r = await analyze({files: [out]})
    expect(r.problems).toEqual([])
    expect(r.findings.map((f) => key(f.rule, f.pid, f.socket)).sort()).toEqual(summary.sidecar.instances.map((i) => key(i.rule, i.pid, i.socket)).sort())
    expect(Object.values(summary.sidecar.expected)).toEqual(RULE_IDS.map(() => 2))
    rmSync(out)
  })
})
