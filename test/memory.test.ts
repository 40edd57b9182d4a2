/**
 * Memory follows live work, not trace length: a long simulated trace analyzed with every rule,
 * looked at after N and after 3N events. What the model keeps is bounded by its documented
 * caps or by what is live; the rules' pending timers do not grow between the two points, and the
 * socket instances still reachable (from the model, the rules' state or their timers) are those
 * the model can still find, and a few the rules watch.
 * Sizes of structures are asserted, not heap bytes or timings.
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import v8 from 'node:v8'
import vm from 'node:vm'
import {describe, expect, it} from 'vitest'
import {createIngestContext, readTraces} from '../src/ingest/index.js'
import {DONE_OPS_KEPT, DUP_TOKENS_KEPT, Model, RELEASED_KEPT, type Sock} from '../src/model/state.js'
import {Engine} from '../src/rules/engine.js'
import {RULES} from '../src/rules/index.js'
import type {RuleContext, RuleModule, TimerHandle} from '../src/rules/types.js'
import {synthesize} from '../src/synth/sim.js'
import {resolveThresholds} from '../src/thresholds.js'

/** Events between the two looks. One process: its 1,024 released sockets are reached well before N. */
const N = 150_000

function gcFunction(): (() => void) | undefined {
  try {
    v8.setFlagsFromString('--expose-gc')
    return vm.runInNewContext('gc') as () => void
  } catch {
    return undefined
  }
}

interface Look {
  events: number
  /** Pending engine timers, per rule. */
  timers: Record<string, number>
  /** Socket instances still reachable (undefined without a usable gc). */
  socksAlive?: number
  sockets: number
  notReleased: number
  /** The released-sockets window (RELEASED_KEPT once full), and the sockets in it still reachable. */
  released: number
  keptReleased: number
  live: number
  doneOps: number
  dupTokens: number
  gens: number
}

function modelSizes(m: Model): Omit<Look, 'events' | 'timers' | 'socksAlive'> {
  let sockets = 0
  let notReleased = 0
  let released = 0
  let live = 0
  let doneOps = 0
  let gens = 0
  let keptReleased = 0
  for (const p of m.procs.values()) {
    sockets += p.sockets.size
    for (const k of p.sockets.values()) if (k.state !== 'RELEASED') notReleased++
    released += p.released.length
    expect(p.released.length).toBeLessThanOrEqual(RELEASED_KEPT)
    // A released socket is kept only while the model can still reach it (by descriptor or switch handle).
    for (const k of p.released) {
      if (!k) continue
      keptReleased++
      expect(k.state).toBe('RELEASED')
      expect(p.sockets.get(k.s) === k || (k.switchHandle !== undefined && p.handles.get(k.switchHandle) === k)).toBe(true)
    }
    expect(p.sockets.size).toBeLessThanOrEqual(RELEASED_KEPT + notReleased)
    expect(p.handles.size).toBeLessThanOrEqual(RELEASED_KEPT + notReleased)
    let kept = 0
    for (let j = p.doneHead; j < p.doneOps.length; j++) if (p.doneOps[j]) kept++
    expect(kept).toBeLessThanOrEqual(DONE_OPS_KEPT)
    doneOps += kept
    live += p.callsBySeq.size + p.callStacks.size + p.upsBySeq.size + p.upStacks.size + p.appReqs.size + p.rdmaRegs.size + p.orphanHandles.size
    live += p.ops.size - kept
    live += p.rdmaByDesc.size + p.rdmaBySock.size + p.outstanding.size
    gens += p.gens.size
  }
  expect(m.dupTokens.size).toBeLessThanOrEqual(DUP_TOKENS_KEPT)
  for (const set of m.rdmaTargets.values()) live += set.size
  return {sockets, notReleased, released, keptReleased, live, doneOps, dupTokens: m.dupTokens.size, gens}
}

describe('memory on long traces', () => {
  it(`stays flat from ${N.toLocaleString('en')} to ${(3 * N).toLocaleString('en')} events with every rule`, async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'santrace-memory-')), 'long.jsonl')
    // A little longer than 3N: the second look comes before the final tear-down.
    synthesize({events: 3 * N + N / 5, processes: 1, sockets: 8, seed: 11}, file)

    // Every rule, with its timers counted while pending.
    const timers: Record<string, number> = {}
    // A timer's callbacks, each first taking it off its rule's count.
    const tally = (id: string, fn: () => void, unreached?: () => void): [() => void, () => void] => [
      () => {
        timers[id]--
        fn()
      },
      () => {
        timers[id]--
        unreached?.()
      },
    ]
    const counted: RuleModule[] = RULES.map((r) => ({
      meta: r.meta,
      create: (ctx) =>
        r.create(
          Object.assign(Object.create(ctx) as typeof ctx, {
            at(ts: number, fn: () => void, unreached?: () => void) {
              timers[r.meta.id] = (timers[r.meta.id] ?? 0) + 1
              return ctx.at(ts, ...tally(r.meta.id, fn, unreached))
            },
            cancel(t: TimerHandle | undefined) {
              const was = ctx.cancel(t)
              if (was) timers[r.meta.id]--
              return was
            },
            replace(t: TimerHandle | undefined, fn: () => void, unreached?: () => void) {
              return ctx.replace(t, ...tally(r.meta.id, fn, unreached))
            },
          }),
        ),
    }))
    // Every socket instance the model creates, held weakly.
    let refs: Array<WeakRef<Sock>> = []
    const probe: RuleModule = {
      meta: {...RULES[0].meta, id: 'PROBE'},
      create: () => ({
        'ret:*': (step) => {
          if (step.created) refs.push(new WeakRef(step.created))
        },
      }),
    }
    const ctx = createIngestContext()
    const engine = new Engine([...counted, probe], {thresholds: resolveThresholds({}, RULES, {}).byRule, rules: {cancelImpliesAbort: false, provider: {}}}, ctx.timebase)
    const gc = gcFunction()

    const look = async (): Promise<Look> => {
      let socksAlive: number | undefined
      if (gc) {
        // WeakRefs made or read in this job keep their target until it ends.
        await new Promise((r) => setImmediate(r))
        gc()
        refs = refs.filter((w) => w.deref() !== undefined)
        socksAlive = refs.length
      }
      return {events: engine.model.events, timers: {...timers}, socksAlive, ...modelSizes(engine.model)}
    }

    const looks: Look[] = []
    let next = N
    for await (const batch of readTraces([file], ctx)) {
      engine.feed(batch)
      if (engine.model.events >= next) {
        looks.push(await look())
        next = next === N ? 3 * N : Infinity
      }
    }
    engine.finish()
    console.log(JSON.stringify(looks))
    expect(looks).toHaveLength(2)
    const [a, b] = looks
    expect(b.events).toBeGreaterThanOrEqual(3 * N)
    // The process released more sockets than the model keeps: the cap is reached at N already.
    expect(a.released).toBe(RELEASED_KEPT)

    const total = (t: Record<string, number>): number => Object.values(t).reduce((x, y) => x + y, 0)
    const flat = (x: number, y: number, slack: number): void => expect(y).toBeLessThanOrEqual(1.25 * x + slack)
    flat(total(a.timers), total(b.timers), 50)
    for (const id of Object.keys(b.timers)) flat(a.timers[id] ?? 0, b.timers[id], 20)
    // Sockets mapped by descriptor and duplication tokens are bounded by their caps (checked at each look).
    flat(a.notReleased, b.notReleased, 20)
    flat(a.live, b.live, 100)
    flat(a.doneOps, b.doneOps, 100)
    // Socket instances alive: those the model keeps, and a few the rules still watch (grace periods).
    for (const l of looks) if (l.socksAlive !== undefined) expect(l.socksAlive).toBeLessThanOrEqual(l.keptReleased + l.notReleased + 64)
    expect(b.keptReleased).toBeLessThanOrEqual(RELEASED_KEPT)
  }, 120_000)
})

describe('engine timers', () => {
  it('fire in order before the first later event, forget cancelled ones, and report unreached ones', () => {
    const log: string[] = []
    let ctx: RuleContext | undefined
    const rule: RuleModule = {meta: {...RULES[0].meta, id: 'TIMERS'}, create: (c) => ((ctx = c), {})}
    const engine = new Engine([rule], {thresholds: {}, rules: {cancelImpliesAbort: false, provider: {}}})
    const add = (ts: number, name: string): TimerHandle => ctx!.at(ts, () => log.push(`${name}@${ts}`), () => log.push(`${name} unreached`))
    const event = (ts: number): void => engine.feed([{i: 0, ts, pid: 1, provider: 'WSD.SanSpi', event: 'NetEventSignal', kind: 'sig', fn: 'NetEvent', key: 'sig:NetEvent', f: {}, src: {file: 't'}}])
    add(10, 'a')
    const b = add(20, 'b')
    add(20, 'c')
    const d = add(30, 'd')
    expect(ctx!.cancel(b)).toBe(true)
    expect(ctx!.cancel(b)).toBe(false)
    event(10) // not later than 10: nothing due
    expect(log).toEqual([])
    event(25)
    expect(log).toEqual(['a@10', 'c@20'])
    add(5, 'late') // already past: due before the next later event
    event(26)
    expect(log).toEqual(['a@10', 'c@20', 'late@5'])
    add(40, 'e')
    add(35, 'f')
    const g = add(36, 'g')
    expect(ctx!.cancel(g)).toBe(true)
    event(35)
    expect(log).toEqual(['a@10', 'c@20', 'late@5', 'd@30'])
    expect(ctx!.cancel(d)).toBe(false) // already fired
    engine.finish()
    expect(log).toEqual(['a@10', 'c@20', 'late@5', 'd@30', 'f@35', 'e unreached'])
  })
})
