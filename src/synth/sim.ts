/**
 * `santrace synth`: a simulator of the Winsock switch and a SAN provider that writes realistic
 * SPI traces of any size — many processes, threads and sockets; connects, accepts,
 * registrations, sends and receives in both notification modes, RDMA writes and reads on
 * memory the peer registered, duplication, closes, switch-side requests and cancels — with
 * planted violations of chosen rules, recorded in a sidecar (`<out>.planted.json`).
 *
 * The trace is generated as a stream: each actor (a process start-up, a session slot, a
 * planted incident, the final tear-down) is a generator that fills a small queue of events
 * with its own clock; the driver merges the queues by time with a heap, so memory follows the
 * number of concurrent actors, not the trace length. The same seed and options give the same
 * trace, byte for byte.
 */
import {closeSync, openSync, writeFileSync, writeSync} from 'node:fs'
import {formatOffset} from '../util/duration.js'
import {UsageError} from '../util/errors.js'
import type {RawEvent} from './builder.js'
import {checkInject, planterFor, RULE_IDS, type PlantWorld} from './planters.js'
import {Rng, seedFrom} from './rng.js'
import {Ctx, MS, type PlantRecord, type Proc, type World} from './sim-ctx.js'
import {setupProcess, slot, teardown} from './sim-session.js'

export interface SynthOptions {
  /** Seed of the pseudo-random choices (default 1). */
  seed?: number | string
  /** Target number of events (default 20000 when no size is given). The trace ends with the sessions in progress, a little above it. */
  events?: number
  /** Target size in bytes of the JSON Lines output. */
  bytes?: number
  /** Processes using the provider (default 4). */
  processes?: number
  /** Concurrent connections (session slots, default 8). */
  sockets?: number
  /** Violations to plant: rule id → count. */
  inject?: Readonly<Record<string, number>>
}

export interface PlantedInstance {
  rule: string
  pid: number
  socket?: string
  /** Time of the violating event, ns from the start of the trace. */
  ts: number
  time: string
  what: string
  /** Findings the analyzer must report for this instance: rule id → count. */
  expect: Record<string, number>
}

/** The sidecar `<out>.planted.json`. */
export interface PlantedSidecar {
  format: 'santrace-planted/1'
  /** The trace file, when written to one. */
  trace?: string
  seed: number | string
  events: number
  bytes: number
  /** Planted violations per rule. */
  planted: Record<string, number>
  /** Findings the analyzer must report per rule (and nothing else). */
  expected: Record<string, number>
  instances: PlantedInstance[]
}

export interface SynthSummary {
  events: number
  bytes: number
  processes: number
  /** SAN sockets created (WSPSocket and WSPAccept successes, planted ones included). */
  sockets: number
  span: {first: number; last: number}
  sidecar: PlantedSidecar
}

interface Actor {
  id: number
  x: Ctx
  gen: Generator<void, unknown, void>
  done: boolean
}

const DEFAULT_EVENTS = 20000

/** The simulation: options, processes, actors and the time-ordered merge. */
export class Sim implements World, PlantWorld {
  readonly rng: Rng
  readonly procs: Proc[] = []
  readonly minis: Proc[] = []
  readonly seed: number | string
  emitted = 0
  /** Most actors alive at once, and the longest event queue of one actor step: what the generator holds in memory. */
  actorsPeak = 0
  queuePeak = 0
  /** Bytes written so far; the writer adds each line (only a byte target reads it). */
  bytes = 0
  first?: number
  now = 0
  private readonly targetEvents: number
  private readonly targetBytes: number
  private readonly inject: Record<string, number>
  private readonly planted: PlantRecord[] = []
  private readonly incidents: Array<{rule: string; at: number}> = []
  private nextIncident = 0
  private readonly heap: Actor[] = []
  private nextId = 0
  private readonly seqs = new Map<number, number>()
  private lastClock = 0
  private port = 0
  private token = 0
  private desc = 0
  private dest = 0
  private refusing = 0
  private readonly slots: number
  /** Sessions in progress: their actor and its event count when they started. */
  private readonly active = new Map<Ctx, number>()
  private sessions = 0
  private sessionEvents = 0

  constructor(opts: SynthOptions = {}) {
    this.seed = opts.seed ?? 1
    this.rng = new Rng(seedFrom(this.seed))
    const nproc = opts.processes ?? 4
    if (!Number.isInteger(nproc) || nproc < 1 || nproc > 250) throw new UsageError(`processes must be an integer from 1 to 250, got ${nproc}`)
    this.slots = opts.sockets ?? 8
    if (!Number.isInteger(this.slots) || this.slots < 1 || this.slots > 10000) throw new UsageError(`sockets must be an integer from 1 to 10000, got ${this.slots}`)
    if (opts.events !== undefined && (!Number.isSafeInteger(opts.events) || opts.events < 1)) throw new UsageError(`events must be a positive integer, got ${opts.events}`)
    if (opts.bytes !== undefined && (!Number.isSafeInteger(opts.bytes) || opts.bytes < 1)) throw new UsageError(`size must be a positive number of bytes, got ${opts.bytes}`)
    this.targetEvents = opts.events ?? (opts.bytes === undefined ? DEFAULT_EVENTS : Infinity)
    this.targetBytes = opts.bytes ?? Infinity
    this.inject = checkInject(opts.inject ?? {})

    const r = this.rng.fork(-1)
    for (let i = 0; i < nproc; i++) {
      const pid = 1000 + i * 16 + r.int(0, 15)
      this.procs.push(this.makeProc(pid, i, `10.0.${i >> 6}.${(i & 63) + 1}`, {shim: r.chance(0.6) || i === 0, rdmaRead: r.chance(0.8) || i === 0, cacheCb: r.chance(0.6)}))
    }
    // Planted incidents, spread over the trace (stratified), in random order of rules.
    const list: string[] = []
    for (const id of RULE_IDS) for (let k = 0; k < (this.inject[id] ?? 0); k++) list.push(id)
    const ri = this.rng.fork(-2)
    ri.shuffle(list)
    list.forEach((rule, i) => this.incidents.push({rule, at: 0.03 + (0.8 * (i + ri.next())) / list.length}))
  }

  private makeProc(pid: number, index: number, ip: string, o: {shim: boolean; rdmaRead: boolean; cacheCb: boolean}): Proc {
    return {pid, index, ip, comp: 9000 + index, ...o, sockSerial: 0, sockValues: 0, freeSocks: [], memSerial: 0, appSerial: 0, freeTids: [], nextTid: 100 + ((pid * 7) % 400)}
  }

  // ---- World ---------------------------------------------------------------------------------

  /** How far the trace is towards its target, 0..1 (and beyond). */
  progress(): number {
    return Math.max(this.emitted / this.targetEvents, this.bytes / this.targetBytes)
  }

  wantMore(): boolean {
    // Sessions in progress will still write what an average session writes, less what they wrote.
    const avg = this.sessions ? this.sessionEvents / this.sessions : 150
    let ahead = 0
    for (const [x, before] of this.active) ahead += Math.max(avg - (x.count - before), avg / 10)
    const perEvent = this.emitted ? this.bytes / this.emitted : 170
    return Math.max((this.emitted + ahead) / this.targetEvents, (this.bytes + ahead * perEvent) / this.targetBytes) < 1
  }

  sessionStarted(x: Ctx): void {
    this.active.set(x, x.count)
  }

  sessionEnded(x: Ctx): void {
    const before = this.active.get(x) ?? x.count
    this.active.delete(x)
    this.sessions++
    this.sessionEvents += x.count - before
  }

  nextPort(): number {
    const p = 1024 + (this.port % 64000)
    this.port++
    return p
  }

  nextToken(): string {
    return '0x' + (0x5eed00000000 + ++this.token).toString(16)
  }

  nextDescriptor(): string {
    const n = ++this.desc
    return 'd5a0' + n.toString(16).padStart(12, '0') + ((n * 2654435761) >>> 0).toString(16).padStart(8, '0') + '00000000'
  }

  nowhere(): string {
    const n = this.dest++
    return `192.168.${(n >> 8) & 255}.${n & 255}:${445 + (n >> 16)}`
  }

  refusingDest(): string {
    const n = this.refusing++
    return `172.31.${(n >> 8) & 255}.${n & 255}:445`
  }

  miniProc(): Proc {
    const i = this.minis.length
    const p = this.makeProc(40000 + i * 4, 1000 + i, `10.9.${i >> 8}.${(i & 255) + 1}`, {shim: false, rdmaRead: true, cacheCb: true})
    this.minis.push(p)
    return p
  }

  plant(rec: PlantRecord): void {
    this.planted.push(rec)
  }

  // ---- actors ----------------------------------------------------------------------------------

  private spawn(t0: number, run: (x: Ctx) => Generator<void, unknown, void>): void {
    const id = this.nextId++
    const x = new Ctx(this, this.rng.fork(id), Math.max(t0, this.now))
    const a: Actor = {id, x, gen: run(x), done: false}
    if (this.fill(a)) this.push(a)
  }

  /** Runs the actor until it queued events; false when it ended with none. */
  private fill(a: Actor): boolean {
    const x = a.x
    x.q = []
    x.qi = 0
    while (x.q.length === 0 && !a.done) {
      if (a.gen.next().done) a.done = true
    }
    if (a.done && x.t > this.lastClock) this.lastClock = x.t
    if (x.q.length > this.queuePeak) this.queuePeak = x.q.length
    return x.q.length > 0
  }

  private less(a: Actor, b: Actor): boolean {
    const ta = a.x.q[a.x.qi].ts
    const tb = b.x.q[b.x.qi].ts
    return ta < tb || (ta === tb && a.id < b.id)
  }

  private push(a: Actor): void {
    const h = this.heap
    h.push(a)
    if (h.length > this.actorsPeak) this.actorsPeak = h.length
    let k = h.length - 1
    while (k > 0) {
      const p = (k - 1) >> 1
      if (!this.less(a, h[p])) break
      h[k] = h[p]
      k = p
    }
    h[k] = a
  }

  private siftDown(k: number): void {
    const h = this.heap
    const a = h[k]
    for (;;) {
      const l = 2 * k + 1
      if (l >= h.length) break
      const r = l + 1
      const m = r < h.length && this.less(h[r], h[l]) ? r : l
      if (!this.less(h[m], a)) break
      h[k] = h[m]
      k = m
    }
    h[k] = a
  }

  private popTop(): void {
    const h = this.heap
    const last = h.pop()!
    if (h.length) {
      h[0] = last
      this.siftDown(0)
    }
  }

  /** The trace's events in time order, Seq numbers resolved. */
  *events(): Generator<RawEvent> {
    this.procs.forEach((p, i) => this.spawn(i * 0.3 * MS, (x) => setupProcess(x, p)))
    for (let i = 0; i < this.slots; i++) this.spawn(20 * MS + i * 0.7 * MS, (x) => slot(x, this.procs, i))
    let tornDown = false
    for (;;) {
      while (this.heap.length) {
        const a = this.heap[0]
        const x = a.x
        const e = x.q[x.qi++]
        this.now = e.ts
        this.first ??= e.ts
        const s = e.Seq
        if (s !== undefined) {
          if (s === 0) {
            const n = (this.seqs.get(e.pid) ?? 0) + 1
            this.seqs.set(e.pid, n)
            e.Seq = n
          } else if (typeof s === 'object') e.Seq = (s as RawEvent).Seq
        }
        this.emitted++
        yield e
        if (x.qi >= x.q.length && !this.fill(a)) this.popTop()
        else this.siftDown(0)
        while (this.nextIncident < this.incidents.length && this.progress() >= this.incidents[this.nextIncident].at) this.spawnIncident(this.now + MS)
      }
      if (this.nextIncident < this.incidents.length) {
        while (this.nextIncident < this.incidents.length) this.spawnIncident(this.lastClock + MS)
        continue
      }
      if (!tornDown) {
        tornDown = true
        this.spawn(this.lastClock + 2 * MS, (x) => teardown(x, this.procs))
        continue
      }
      break
    }
  }

  private spawnIncident(t0: number): void {
    const {rule} = this.incidents[this.nextIncident++]
    const planter = planterFor(rule)
    this.spawn(t0, (x) => planter.run(x, this))
  }

  /** The sidecar: what was planted, and the findings the analyzer must report. */
  sidecar(trace?: string): PlantedSidecar {
    const planted: Record<string, number> = {}
    const expected: Record<string, number> = {}
    const instances = [...this.planted].sort((a, b) => a.ts - b.ts || a.rule.localeCompare(b.rule))
    for (const p of instances) {
      planted[p.rule] = (planted[p.rule] ?? 0) + 1
      for (const [r, n] of Object.entries(p.expect)) expected[r] = (expected[r] ?? 0) + n
    }
    return {
      format: 'santrace-planted/1',
      ...(trace !== undefined ? {trace} : {}),
      seed: this.seed,
      events: this.emitted,
      bytes: this.bytes,
      planted: sortKeys(planted),
      expected: sortKeys(expected),
      instances: instances.map((p) => ({rule: p.rule, pid: p.pid, ...(p.socket !== undefined ? {socket: p.socket} : {}), ts: p.ts, time: formatOffset(p.ts), what: p.what, expect: p.expect})),
    }
  }

  summary(trace?: string): SynthSummary {
    let sockets = 0
    for (const p of [...this.procs, ...this.minis]) sockets += p.sockSerial
    return {events: this.emitted, bytes: this.bytes, processes: this.procs.length + this.minis.length, sockets, span: {first: this.first ?? 0, last: this.now}, sidecar: this.sidecar(trace)}
  }
}

function sortKeys(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)))
}

/** The sidecar path of a trace file. */
export const sidecarPath = (out: string): string => `${out}.planted.json`

/**
 * Writes a trace as JSON Lines to `out` (streaming, in 1 MiB writes) and its sidecar to
 * `<out>.planted.json`.
 */
export function synthesize(opts: SynthOptions, out: string, progress?: (events: number, bytes: number) => void): SynthSummary {
  const sim = new Sim(opts)
  const fd = openSync(out, 'w')
  try {
    let buf = ''
    let n = 0
    for (const e of sim.events()) {
      const line = JSON.stringify(e) + '\n'
      sim.bytes += line.length
      buf += line
      if (buf.length >= 1 << 20) {
        writeSync(fd, buf)
        buf = ''
      }
      if (progress && ++n % 100000 === 0) progress(sim.emitted, sim.bytes)
    }
    if (buf) writeSync(fd, buf)
  } finally {
    closeSync(fd)
  }
  const summary = sim.summary(out)
  writeFileSync(sidecarPath(out), JSON.stringify(summary.sidecar, null, 2) + '\n')
  return summary
}

/** A whole trace in memory as JSON Lines text (small traces: fixtures, tests). */
export function synthJsonl(opts: SynthOptions): {text: string; summary: SynthSummary} {
  const sim = new Sim(opts)
  const lines: string[] = []
  for (const e of sim.events()) {
    const line = JSON.stringify(e)
    sim.bytes += line.length + 1
    lines.push(line)
  }
  return {text: lines.join('\n') + '\n', summary: sim.summary()}
}
