/** The simulator: seeded PRNG, --inject parsing, determinism, a well-formed event stream, and a healthy trace the analyzer finds nothing in. */
import {describe, expect, it} from 'vitest'
import {analyze} from '../../src/analyze.js'
import {parseInject, RULE_IDS, SECTIONS} from '../../src/synth/planters.js'
import {Rng, seedFrom} from '../../src/synth/rng.js'
import {Sim, synthJsonl} from '../../src/synth/sim.js'
import {RULES} from '../../src/rules/index.js'
import {UsageError} from '../../src/util/errors.js'
import {tempFile} from '../helpers/run.js'

describe('Rng', () => {
  it('is deterministic per seed, and forks are independent of the parent draws', () => {
    const a = new Rng(seedFrom(42))
    const b = new Rng(seedFrom(42))
    const xs = Array.from({length: 5}, () => a.next())
    expect(Array.from({length: 5}, () => b.next())).toEqual(xs)
    expect(new Rng(seedFrom(43)).next()).not.toBe(xs[0])
    const f1 = new Rng(7).fork(3).next()
    const p = new Rng(7)
    p.next()
    p.next()
    expect(p.fork(3).next()).toBe(f1)
    expect(new Rng(7).fork(4).next()).not.toBe(f1)
    expect(seedFrom('abc')).toBe(seedFrom('abc'))
    expect(seedFrom('abc')).not.toBe(seedFrom('abd'))
  })

  it('draws integers in range, roughly uniformly', () => {
    const r = new Rng(1)
    const counts = [0, 0, 0, 0]
    for (let i = 0; i < 4000; i++) counts[r.int(0, 3)]++
    for (const c of counts) expect(c).toBeGreaterThan(850)
    expect(counts.reduce((x, y) => x + y)).toBe(4000)
  })
})

describe('--inject', () => {
  it('parses rule counts (case-insensitive), all=N, and empty', () => {
    expect(parseInject('SAN013=5,san030=2')).toEqual({SAN013: 5, SAN030: 2})
    expect(parseInject(' SAN001 = 0 ')).toEqual({SAN001: 0})
    expect(parseInject('')).toEqual({})
    const all = parseInject('all=2')
    expect(Object.keys(all)).toEqual(RULE_IDS)
    expect(new Set(Object.values(all))).toEqual(new Set([2]))
  })

  it.each([
    ['SAN099=1', /unknown rule 'SAN099'/],
    ['SAN013=-1', /invalid --inject count '-1' for SAN013: expected a non-negative integer/],
    ['SAN013=1.5', /non-negative integer/],
    ['SAN013', /invalid --inject item 'SAN013': expected RULE=COUNT/],
    ['SAN013=1,,SAN014=1', /invalid --inject item ''/],
    ['SAN013=1,SAN013=2', /names SAN013 twice/],
  ])('rejects %s', (text, message) => {
    expect(() => parseInject(text)).toThrow(UsageError)
    expect(() => parseInject(text)).toThrow(message)
  })

  it('rejects bad options given to the library', () => {
    expect(() => new Sim({inject: {SAN999: 1}})).toThrow(/unknown rule 'SAN999'/)
    expect(() => new Sim({inject: {SAN001: -2}})).toThrow(/invalid count -2 for SAN001/)
    expect(() => new Sim({processes: 0})).toThrow(/processes must be an integer from 1 to 250/)
    expect(() => new Sim({events: 0})).toThrow(/events must be a positive integer/)
  })

  it('has a planter for every rule of the registry, and the sections cover them all once', () => {
    expect(RULES.map((r) => r.meta.id)).toEqual(RULE_IDS)
    expect(SECTIONS.flatMap((s) => s.rules)).toEqual(RULE_IDS)
    for (const s of SECTIONS) for (const id of s.rules) expect(RULES.find((r) => r.meta.id === id)!.meta.section.startsWith(`${s.letter}.`), id).toBe(true)
  })
})

describe('the generated stream', () => {
  const opts = {seed: 5, events: 3000, processes: 3, sockets: 4, inject: {SAN013: 1, SAN030: 1}}
  const {text, summary} = synthJsonl(opts)
  const events = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown> & {ts: number; pid: number; event: string})

  it('is the same for the same seed and options, and different for another seed', () => {
    expect(synthJsonl(opts).text).toBe(text)
    expect(synthJsonl({...opts, seed: 6}).text).not.toBe(text)
  })

  it('reaches the target size, in time order, with integer times', () => {
    expect(summary.events).toBe(events.length)
    expect(events.length).toBeGreaterThanOrEqual(3000)
    expect(summary.bytes).toBe(text.length)
    for (let i = 1; i < events.length; i++) expect(events[i].ts >= events[i - 1].ts && Number.isInteger(events[i].ts), `event ${i}`).toBe(true)
  })

  it('pairs every return with an earlier call of the same process, Seq and function', () => {
    const open = new Map<string, Record<string, unknown>>()
    const pairs: Record<string, string> = {SpiReturn: 'SpiCall', UpcallReturn: 'Upcall', ConditionReturn: 'ConditionCall'}
    let returns = 0
    for (const e of events) {
      if (e.event === 'SpiCall' || e.event === 'Upcall' || e.event === 'ConditionCall') {
        const key = `${e.pid}:${e.Seq}`
        expect(open.has(key), `Seq reused while open: ${key}`).toBe(false)
        open.set(key, e)
      } else if (pairs[e.event]) {
        const c = open.get(`${e.pid}:${e.Seq}`)
        expect(c?.event, JSON.stringify(e)).toBe(pairs[e.event])
        if (e.event === 'SpiReturn') expect(c?.Fn).toBe(e.Fn)
        if (e.event === 'UpcallReturn') expect(c?.Up).toBe(e.Up)
        open.delete(`${e.pid}:${e.Seq}`)
        returns++
      }
    }
    expect(returns).toBeGreaterThan(1000)
    expect([...open.values()]).toEqual([])
  })

  it('records what it planted: pid, socket, time and the findings expected', () => {
    expect(summary.sidecar.planted).toEqual({SAN013: 1, SAN030: 1})
    expect(summary.sidecar.expected).toEqual({SAN013: 1, SAN030: 1})
    for (const i of summary.sidecar.instances) {
      expect(i).toMatchObject({pid: expect.any(Number), socket: expect.stringMatching(/^0x[0-9a-f]+$/), ts: expect.any(Number), time: expect.stringMatching(/^\+\d+\.\d{6} s$/)})
      expect(events.some((e) => e.pid === i.pid)).toBe(true)
    }
  })

  it('holds only a few events per actor, not the trace', () => {
    const sim = new Sim({seed: 9, events: 20000, processes: 4, sockets: 6})
    let n = 0
    for (const _ of sim.events()) n++
    expect(n).toBeGreaterThanOrEqual(20000)
    expect(sim.actorsPeak).toBeLessThanOrEqual(4 + 6 + 1)
    expect(sim.queuePeak).toBeLessThan(200)
  })
})

describe('a healthy simulated trace', () => {
  it('has no finding; every rule either passed or says why it was not evaluated', async () => {
    const {text} = synthJsonl({seed: 'quiet', events: 4000, processes: 4, sockets: 3})
    const r = await analyze({files: [tempFile('healthy.jsonl', text)]})
    expect(r.findings.map((f) => `${f.rule} ${f.pid} ${f.socket}: ${f.message}`)).toEqual([])
    expect(r.problems).toEqual([])
    expect(r.rules).toHaveLength(40)
    for (const s of r.rules) {
      expect(['passed', 'not-evaluated'], s.rule).toContain(s.status)
      if (s.status === 'not-evaluated') expect(s.reason, s.rule).toBeTruthy()
    }
    // Traffic of every kind was judged, not skipped.
    const passed = new Set(r.rules.filter((s) => s.status === 'passed').map((s) => s.rule))
    for (const id of ['SAN019', 'SAN020', 'SAN021', 'SAN027', 'SAN028', 'SAN030', 'SAN035', 'SAN037', 'SAN038', 'SAN040']) expect(passed.has(id), id).toBe(true)
  })
})
