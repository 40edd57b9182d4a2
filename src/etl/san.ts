/**
 * SAN mapping: TraceLogging events of the `WSD.SanSpi` and `WSD.SwitchShim` providers become
 * plain objects shaped exactly like JSON-trace events (trace-format.md), without `ts`:
 * `{pid, tid, cpu, provider, event, ...fields}` plus the absolute time and file offset beside it.
 * Events of other providers are counted per provider and not mapped.
 */
import {providerGuidFromName} from './guid.js'
import {openEtl} from './open.js'
import {compileBudgeted, TL_IN, TL_OUT, type TlEventMeta, type TlField} from './tracelogging.js'
import type {EtlEvent, EtlOptions, EtlStats} from './types.js'

export const SAN_PROVIDER_NAMES = ['WSD.SanSpi', 'WSD.SwitchShim'] as const
export type SanProviderName = (typeof SAN_PROVIDER_NAMES)[number]

/** Name-derived TraceLogging GUIDs of the SAN providers. */
export const SAN_PROVIDER_GUIDS: Readonly<Record<string, SanProviderName>> = Object.fromEntries(
  SAN_PROVIDER_NAMES.map((n) => [providerGuidFromName(n), n]),
)

/** Field kinds of trace-format.md "TraceLogging field types". */
export type SanFieldKind = 'handle' | 'id' | 'rc' | 'error' | 'count' | 'bool' | 'text' | 'blob' | 'guid' | 'ints' | 'buffers'

const kinds: Record<string, SanFieldKind> = {}
for (const k of [
  'Socket', 'SwitchSocket', 'NewSwitchSocket', 'ListenSocket', 'Overlapped', 'HEvent', 'EventHandle', 'CompletionRoutine', 'ThreadIdPtr',
  'RegAddr', 'MemHandle', 'BufAddr', 'AppSocket', 'SanSocket', 'Context', 'CacheAddr', 'ProviderReserved', 'ProviderReservedOut',
])
  kinds[k] = 'handle'
for (const k of ['Seq', 'AppReqId']) kinds[k] = 'id'
kinds.Rc = 'rc'
for (const k of ['Errno', 'DwError', 'Error', 'Status']) kinds[k] = 'error'
for (const k of [
  'Flags', 'FlagsOut', 'NetworkEvents', 'NetworkEventsOut', 'BufferCount', 'TotalLen', 'BytesOut', 'CbTransferred', 'Bytes', 'RegLen',
  'MemFlags', 'Backlog', 'Af', 'Type', 'Protocol', 'FdBit', 'Result', 'Version', 'IoctlCode', 'InLen', 'OutLen', 'OptLevel', 'OptName',
  'OptLen', 'OptValue', 'TargetPid', 'TargetOffset', 'TargetDescriptorLen', 'DescriptorLenIn', 'DescriptorLenOut', 'AddrCount',
  'CatalogEntryId', 'CacheSize', 'BufLen',
])
  kinds[k] = 'count'
for (const k of ['Blocking', 'Notified', 'FWait']) kinds[k] = 'bool'
for (const k of ['Fn', 'Up', 'Kind', 'Reason', 'Addr', 'CallerAddr', 'CalleeAddr', 'Dest', 'Old', 'New']) kinds[k] = 'text'
for (const k of ['TargetDescriptor', 'DescriptorOut']) kinds[k] = 'blob'
kinds.IoctlGuid = 'guid'
kinds.ErrorCodes = 'ints'
for (const k of ['Buffers', 'RdmaRanges']) kinds[k] = 'buffers'

/** The kind of a SAN payload field by name (undefined for fields outside the vocabulary). */
export const SAN_FIELD_KINDS: Readonly<Record<string, SanFieldKind>> = kinds

/** Members of `Buffers` / `RdmaRanges` structs. */
const MEMBER_KINDS: Readonly<Record<string, SanFieldKind>> = {Addr: 'handle', Handle: 'handle', Len: 'count'}

const ENVELOPE = new Set(['ts', 'pid', 'tid', 'cpu', 'provider', 'event'])

export interface SanEtlEvent {
  /** `{pid, tid, cpu, provider, event, ...fields}` with JSON value encodings. */
  record: Record<string, unknown>
  /** Absolute time, ns since the Unix epoch. */
  tsAbsNs: bigint
  /** Byte offset of the event record in the file (its buffer's offset for compressed buffers). */
  offset: number
}

// ------------------------------------------------------------------------------ value encodings

const HEX = '0123456789abcdef'

function hexBytes(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i++) s += HEX[b[i] >>> 4] + HEX[b[i] & 15]
  return s
}

/** Integer → number when safe, else its decimal string. */
function int(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v.toString()
  if (typeof v === 'boolean') return v ? 1 : 0
  return v
}

// Handle values repeat (sockets, events, overlapped structures): cache their strings.
const handleCache = new Map<number, string>()

function hexOf(v: number): string {
  let s = handleCache.get(v)
  if (s === undefined) {
    if (handleCache.size >= 65536) handleCache.clear()
    s = '0x' + v.toString(16)
    handleCache.set(v, s)
  }
  return s
}

function handle(v: unknown, f: TlField | undefined): unknown {
  if (typeof v === 'bigint') return '0x' + BigInt.asUintN(64, v).toString(16)
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return v
    if (v >= 0) return hexOf(v)
    // Signed producer types: reinterpret at their width.
    const w = f && (f.inType === TL_IN.Int8 ? 8 : f.inType === TL_IN.Int16 ? 16 : f.inType === TL_IN.Int32 ? 32 : 64)
    return '0x' + BigInt.asUintN(w ?? 64, BigInt(v)).toString(16)
  }
  if (typeof v === 'boolean') return v ? '0x1' : '0x0'
  return v
}

function signed(v: unknown, f: TlField | undefined): unknown {
  if (typeof v === 'bigint') return int(BigInt.asIntN(64, v))
  if (typeof v === 'number' && f && (f.inType === TL_IN.UInt32 || f.inType === TL_IN.HexInt32) && v > 0x7fffffff) return v | 0
  return int(v)
}

function bool(v: unknown): unknown {
  if (typeof v === 'number') return v !== 0
  if (typeof v === 'bigint') return v !== 0n
  return v
}

function blob(v: unknown): unknown {
  return v instanceof Uint8Array ? hexBytes(v) : v
}

function guid(v: unknown): unknown {
  return typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(v) ? `{${v}}` : v
}

/** Generic JSON encoding by TraceLogging type (fields outside the vocabulary). */
function byType(v: unknown, f: TlField | undefined): unknown {
  if (Array.isArray(v)) return v.map((x) => byType(x, f))
  if (v instanceof Uint8Array) return hexBytes(v)
  if (f) {
    switch (f.inType) {
      case TL_IN.Guid:
        return guid(v)
      case TL_IN.HexInt32:
      case TL_IN.HexInt64:
      case TL_IN.Pointer:
        return handle(v, f)
    }
    if (f.outType === TL_OUT.Hex || f.outType === TL_OUT.CodePointer) return handle(v, f)
  }
  if (typeof v === 'bigint') return int(v)
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v)
  return v
}

type Conv = (v: unknown, f: TlField | undefined, members: Plan | undefined) => unknown

/** Scalar fast paths (arrays and odd values go through {@link convert}). */
const CONV: Record<string, Conv> = {
  handle: (v, f, m) => (typeof v === 'number' && v >= 0 && Number.isInteger(v) ? hexOf(v) : convert('handle', v, f, m)),
  id: (v, f, m) => (typeof v === 'number' ? v : convert('id', v, f, m)),
  count: (v, f, m) => (typeof v === 'number' ? v : convert('count', v, f, m)),
  error: (v, f, m) => (typeof v === 'number' ? v : convert('error', v, f, m)),
  rc: (v, f, m) => convert('rc', v, f, m),
  ints: (v, f, m) => convert('ints', v, f, m),
  bool: (v, f, m) => (typeof v === 'boolean' ? v : convert('bool', v, f, m)),
  text: (v) => v,
  blob: (v, f, m) => convert('blob', v, f, m),
  guid: (v, f, m) => convert('guid', v, f, m),
  buffers: (v, f, m) => convert('buffers', v, f, m),
  other: (v, f, m) => {
    if (f !== undefined && f.inType !== TL_IN.Guid && f.inType !== TL_IN.HexInt32 && f.inType !== TL_IN.HexInt64 && f.inType !== TL_IN.Pointer && f.outType !== TL_OUT.Hex && f.outType !== TL_OUT.CodePointer) {
      if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') return v
    }
    return convert(undefined, v, f, m)
  },
}

function convert(kind: SanFieldKind | undefined, v: unknown, f: TlField | undefined, members: Plan | undefined): unknown {
  switch (kind) {
    case 'handle':
      return Array.isArray(v) ? v.map((x) => handle(x, f)) : handle(v, f)
    case 'id':
    case 'count':
      return Array.isArray(v) ? v.map(int) : int(v)
    case 'rc':
      return Array.isArray(v) ? v.map((x) => signed(x, f)) : signed(v, f)
    case 'error':
      return Array.isArray(v) ? v.map(int) : int(v)
    case 'ints':
      return Array.isArray(v) ? v.map((x) => signed(x, f)) : signed(v, f)
    case 'bool':
      return Array.isArray(v) ? v.map(bool) : bool(v)
    case 'text':
      return v
    case 'blob':
      return blob(v)
    case 'guid':
      return guid(v)
    case 'buffers':
      if (members && Array.isArray(v)) return v.map((o) => (o && typeof o === 'object' ? applyPlan(members, o as Record<string, unknown>, {}, MEMBER_KINDS) : o))
      return byType(v, f)
    default:
      if (members && v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)) return applyPlan(members, v as Record<string, unknown>, {}, undefined)
      if (members && Array.isArray(v)) return v.map((o) => (o && typeof o === 'object' ? applyPlan(members, o as Record<string, unknown>, {}, undefined) : o))
      return byType(v, f)
  }
}

// ------------------------------------------------------------------------------ per-metadata plans

interface PlanEntry {
  key: string
  name: string
  field: TlField
  members: Plan | undefined
}
type Plan = PlanEntry[]

function buildPlan(fields: TlField[], i0: number, iEnd: number): Plan {
  const plan: Plan = []
  let i = i0
  while (i < iEnd) {
    const f = fields[i]
    plan.push({key: f.key, name: f.key, field: f, members: f.inType === TL_IN.Struct ? buildPlan(fields, i + 1, f.end) : undefined})
    i = f.end
  }
  return plan
}

function applyPlan(plan: Plan, src: Record<string, unknown>, out: Record<string, unknown>, kindTable: Readonly<Record<string, SanFieldKind>> | undefined): Record<string, unknown> {
  for (let i = 0; i < plan.length; i++) {
    const e = plan[i]
    if (!(e.key in src)) continue
    out[e.name] = convert(kindTable ? kindTable[e.name] : undefined, src[e.key], e.field, e.members)
  }
  return out
}

interface TopPlan {
  /** Top-level fields except envelope names. */
  entries: Plan
  kinds: Array<SanFieldKind | undefined>
  convs: Conv[]
  fields: Array<TlField | undefined>
  members: Array<Plan | undefined>
  /**
   * Compiled mapper: `{pid, tid, cpu, provider, event, "F": c[i](s["F"], f[i], m[i]), …}` with
   * named property loads, one object shape per event kind (null: build by keys).
   */
  make: ((ev: EtlEvent, provider: string, s: Record<string, unknown>, c: Conv[], f: Array<TlField | undefined>, m: Array<Plan | undefined>) => Record<string, unknown>) | null
}

function planFor(meta: TlEventMeta): TopPlan {
  let p = meta._plan as TopPlan | undefined
  if (!p) {
    const entries = buildPlan(meta.fields, 0, meta.fields.length).filter((e) => !ENVELOPE.has(e.name))
    const kinds = entries.map((e) => SAN_FIELD_KINDS[e.name])
    let make: TopPlan['make'] = null
    if (!entries.some((e) => e.name === '__proto__' || e.key === '__proto__') && entries.length <= 200) {
      const props = entries.map((e, i) => `${JSON.stringify(e.name)}: c[${i}](s[${JSON.stringify(e.key)}], f[${i}], m[${i}])`)
      make = compileBudgeted(
        () => new Function('ev', 'provider', 's', 'c', 'f', 'm', `return {pid: ev.pid, tid: ev.tid, cpu: ev.cpu, provider: provider, event: ev.eventName${props.length ? ', ' + props.join(', ') : ''}}`) as NonNullable<TopPlan['make']>,
      )
    }
    p = {entries, kinds, convs: kinds.map((k) => CONV[k ?? 'other']), fields: entries.map((e) => e.field), members: entries.map((e) => e.members), make}
    meta._plan = p
  }
  return p
}


// ------------------------------------------------------------------------------ mapper

/** Which SAN provider an event belongs to (by TraceLogging provider name or name-derived GUID). */
export function sanProviderOf(ev: EtlEvent): SanProviderName | undefined {
  const n = ev.providerName
  if (n === 'WSD.SanSpi' || n === 'WSD.SwitchShim') return n
  return SAN_PROVIDER_GUIDS[ev.providerGuid]
}

export interface SanStats {
  mapped: number
  /** SAN-provider events that could not be mapped (no TraceLogging metadata). */
  unmapped: number
  /** SAN events whose payload did not match their metadata (mapped with what decoded). */
  payloadErrors: number
  /** Events of other providers, by provider name (or GUID when unnamed). */
  otherProviders: Map<string, number>
}

export class SanMapper {
  readonly stats: SanStats = {mapped: 0, unmapped: 0, payloadErrors: 0, otherProviders: new Map()}

  /** Maps one event; undefined (and counted) for events of other providers. */
  map(ev: EtlEvent): SanEtlEvent | undefined {
    const provider = sanProviderOf(ev)
    if (provider === undefined) {
      const k = ev.providerName ?? ev.providerGuid
      const m = this.stats.otherProviders
      m.set(k, (m.get(k) ?? 0) + 1)
      return undefined
    }
    const meta = ev.tl
    if (meta === undefined || ev.eventName === undefined || ev.fields === undefined) {
      this.stats.unmapped++
      return undefined
    }
    const plan = planFor(meta)
    const src = ev.fields
    const entries = plan.entries
    let record: Record<string, unknown>
    if (ev.fieldsError === undefined && plan.make !== null) {
      // All fields decoded: one object literal of a fixed shape per event kind.
      record = plan.make(ev, provider, src, plan.convs, plan.fields, plan.members)
    } else {
      if (ev.fieldsError !== undefined) this.stats.payloadErrors++
      record = {pid: ev.pid, tid: ev.tid, cpu: ev.cpu, provider, event: ev.eventName}
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]
        if (!(e.key in src)) continue
        record[e.name] = convert(plan.kinds[i], src[e.key], e.field, e.members)
      }
    }
    this.stats.mapped++
    return {record, tsAbsNs: ev.tsAbsNs, offset: ev.offset}
  }
}

export interface SanEtlFile {
  header: import('./types.js').EtlFileHeader
  stats: EtlStats
  san: SanStats
  /** Mapped SAN events in time order, in arrays. */
  batches(): AsyncGenerator<SanEtlEvent[]>
  close(): Promise<void>
}

/** Opens an .etl file and yields its SAN events mapped to JSON-trace objects. */
export async function openSanEtl(path: string, opts: EtlOptions = {}): Promise<SanEtlFile> {
  const f = await openEtl(path, {...opts, decodeTraceLogging: true})
  const mapper = new SanMapper()
  return {
    get header() {
      return f.header
    },
    stats: f.stats,
    san: mapper.stats,
    batches: async function* () {
      for await (const batch of f.batches()) {
        const out: SanEtlEvent[] = []
        for (let i = 0; i < batch.length; i++) {
          const m = mapper.map(batch[i])
          if (m !== undefined) out.push(m)
        }
        if (out.length > 0) yield out
      }
    },
    close: () => f.close(),
  }
}
