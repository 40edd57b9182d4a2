/**
 * The generator at scale: a million events (serialized as the writer does), at a reasonable
 * speed and with bounded memory; and a size target. The million-event run is skipped when
 * SANTRACE_QUICK is set.
 */
import {rmSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {Sim, synthesize} from '../../src/synth/sim.js'
import {tempDir} from '../helpers/run.js'

describe('the generator at scale', () => {
  it.skipIf(!!process.env.SANTRACE_QUICK)('generates 1,000,000 events with every rule planted, streaming', () => {
    const sim = new Sim({seed: 1, events: 1_000_000, processes: 8, sockets: 32, inject: {all: 1}})
    const t0 = performance.now()
    let bytes = 0
    for (const e of sim.events()) {
      const n = JSON.stringify(e).length + 1
      bytes += n
      sim.bytes += n
    }
    const secs = (performance.now() - t0) / 1000
    const rate = sim.emitted / secs
    console.log(`synth: ${sim.emitted} events, ${(bytes / 1e6).toFixed(0)} MB in ${secs.toFixed(1)} s: ${Math.round(rate)} events/s; at most ${sim.actorsPeak} actors, ${sim.queuePeak} events queued by one`)
    expect(sim.emitted).toBeGreaterThanOrEqual(1_000_000)
    expect(sim.emitted).toBeLessThan(1_050_000)
    expect(Object.values(sim.sidecar().planted)).toHaveLength(40)
    // Slow, shared CI machines included: far below what a plain run does (over 100k events/s).
    expect(rate).toBeGreaterThan(25_000)
    // Streaming: what is held is a few events per concurrent actor, not the trace.
    expect(sim.actorsPeak).toBeLessThanOrEqual(8 + 32 + 40 + 1)
    expect(sim.queuePeak).toBeLessThan(200)
  })

  it('stops near a size target', () => {
    const out = join(tempDir, 'sized.jsonl')
    const s = synthesize({seed: 3, bytes: 4_000_000, sockets: 8}, out)
    expect(statSync(out).size).toBe(s.bytes)
    expect(s.bytes).toBeGreaterThanOrEqual(4_000_000)
    expect(s.bytes).toBeLessThan(4_400_000)
    rmSync(out)
  })
})
