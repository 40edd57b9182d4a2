/**
 * The SAN fast path (src/etl/sanfast.ts) against the validated path: the same .etl read both
 * ways gives identical normalized events (every property, in the same key order) and identical
 * diagnostics, for every event kind, field kind and TraceLogging type, with odd and invalid values.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {openEtl} from '../../src/etl/index.js'
import {sanFastDecoder} from '../../src/etl/sanfast.js'
import {createIngestContext} from '../../src/ingest/index.js'
import {readEtl} from '../../src/ingest/etl.js'
import type {Ev} from '../../src/model/event.js'
import {etlFile, eventRecord, tlEvent, tlGuid, tlProviderTraits, tlRecord, type TlValue} from './builder.js'

const tmp = mkdtempSync(join(tmpdir(), 'santrace-fast-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

const START = 133000000000000000n
const H = 1000n

interface Rec {
  provider: string
  name: string
  fields: TlValue[]
  ts: bigint
  pid: number
  tid: number
  cpu: number
  ptr: number
}

function write(events: Rec[]): string {
  const cpus: Record<number, Uint8Array[]> = {}
  for (const e of events) {
    const {meta, payload} = tlEvent(e.name, e.fields, e.ptr)
    ;(cpus[e.cpu] ??= []).push(tlRecord({providerName: e.provider, meta, ts: e.ts, pid: e.pid, tid: e.tid, userData: payload, headerType: e.ptr === 4 ? 0x12 : 0x13}))
  }
  const path = join(tmp, `t${Math.random().toString(36).slice(2)}.etl`)
  writeFileSync(path, etlFile({cpus, startTime: START, headerTs: H, bufferSize: 16384}))
  return path
}

async function read(path: string, fast: boolean) {
  const ctx = createIngestContext()
  const events: Ev[] = []
  for await (const b of readEtl(path, path, ctx, {fast})) events.push(...b)
  const d = ctx.diag
  return {events, diag: {skipped: [...d.skipped], notes: [...d.notes], samples: d.samples, files: d.files}}
}

/** Both ways; asserts they agree exactly and returns the fast result and how many events took the fast path. */
async function both(path: string) {
  const [fast, slow] = [await read(path, true), await read(path, false)]
  expect(fast.events.length).toBe(slow.events.length)
  for (let i = 0; i < slow.events.length; i++) {
    expect(JSON.stringify(fast.events[i])).toBe(JSON.stringify(slow.events[i]))
    expect(fast.events[i]).toStrictEqual(slow.events[i])
  }
  expect(fast.diag).toStrictEqual(slow.diag)
  const etl = await openEtl(path, {tlFast: sanFastDecoder})
  let taken = 0
  for await (const b of etl.batches()) for (const e of b) if (e.tlFast !== undefined) taken++
  await etl.close()
  return {...fast, taken}
}

// ------------------------------------------------------------------------------ random traces

let seed = 12345
function rnd(n: number): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
  return (seed >>> 8) % n
}
const pick = <T>(a: readonly T[]): T => a[rnd(a.length)]

const BIG = [0n, 1n, 0x2a0n, 0x7ffd1200n, 0xffffffffn, 0x100000000n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n, 0xffffffff00000005n, 0xffe0000000000000n, 0xffe0000000000001n, 0xffdfffffffffffffn]
const SMALL = [0, 1, 2, 7, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]

/** A value for an integer InType: usually ordinary, sometimes at the edges. */
function intValue(inType: number, ptr: number): number | bigint {
  const odd = rnd(3) === 0
  switch (inType) {
    case 3:
    case 4:
      return odd ? pick(SMALL) & 0xff : rnd(3)
    case 5:
    case 6:
      return odd ? pick(SMALL) & 0xffff : rnd(300)
    case 7:
    case 8:
    case 13:
    case 20:
      return odd ? pick(SMALL) : rnd(5000)
    case 16:
      if (ptr === 4) return odd ? pick(SMALL) : rnd(1 << 30)
      return odd ? pick(BIG) : BigInt(rnd(1 << 30))
    default:
      return odd ? pick(BIG) : BigInt(rnd(1 << 30))
  }
}

const INTS = [3, 4, 5, 6, 7, 8, 9, 10, 13, 16, 20, 21]
const STRS = [1, 2, 22, 23]
const FN_NAMES = ['WSPSend', 'WSPRecv', 'WSPConnect', 'WSPCloseSocket', 'WSPIoctl', 'bad name', '1abc', '', 'WSP_x9', 'Wé', 'a\u{1F600}']
const TEXT = ['10.0.0.2:445', '', 'connected', 'normal', 'flush-on-close', 'transport-error', 'send', 'recv', 'connect', 'accept', 'bogus', 'é', 'WPUCompleteOverlappedRequest']

interface Spec {
  name: string
  types: readonly number[]
  text?: readonly string[]
  /** array arity */
  arity?: number
}

const handle = (name: string): Spec => ({name, types: INTS})
const num = (name: string): Spec => ({name, types: INTS})
const str = (name: string, text: readonly string[] = TEXT): Spec => ({name, types: STRS, text})

const EVENTS: Record<string, {provider: string; fields: Spec[]}> = {
  SpiCall: {provider: 'WSD.SanSpi', fields: [num('Seq'), str('Fn', FN_NAMES), handle('Socket'), handle('Overlapped'), num('Flags'), num('BufferCount'), {name: 'Buffers', types: [24]}, {name: 'TargetDescriptor', types: [14, 25]}, {name: 'IoctlGuid', types: [15]}, num('FWait'), str('Addr')]},
  SpiReturn: {provider: 'WSD.SanSpi', fields: [num('Seq'), str('Fn', FN_NAMES), num('Rc'), num('Errno'), handle('Socket'), num('BytesOut'), {name: 'ErrorCodes', types: [7, 8, 20, 5, 13], arity: 0x40}, {name: 'DescriptorOut', types: [14]}, handle('ProviderReservedOut')]},
  Upcall: {provider: 'WSD.SanSpi', fields: [num('Seq'), str('Up'), handle('SwitchSocket'), handle('Overlapped'), num('DwError'), num('CbTransferred'), num('CatalogEntryId'), handle('Context')]},
  UpcallReturn: {provider: 'WSD.SanSpi', fields: [num('Seq'), str('Up'), num('Rc'), num('Errno'), handle('NewSwitchSocket')]},
  ConditionCall: {provider: 'WSD.SanSpi', fields: [num('Seq'), handle('ListenSocket'), str('CallerAddr'), str('CalleeAddr')]},
  ConditionReturn: {provider: 'WSD.SanSpi', fields: [num('Seq'), num('Result')]},
  NetEventSignal: {provider: 'WSD.SanSpi', fields: [handle('Socket'), handle('EventHandle'), num('FdBit'), num('Error')]},
  NetEventReset: {provider: 'WSD.SanSpi', fields: [handle('Socket'), handle('EventHandle')]},
  OpDone: {provider: 'WSD.SanSpi', fields: [handle('Socket'), handle('Overlapped'), num('Error'), num('Bytes'), num('Notified'), str('Reason')]},
  ConnState: {provider: 'WSD.SanSpi', fields: [handle('Socket'), str('Old'), str('New'), str('Reason')]},
  AppRequest: {provider: 'WSD.SwitchShim', fields: [num('AppReqId'), handle('AppSocket'), str('Kind'), num('Blocking'), handle('BufAddr'), num('BufLen')]},
  AppCancel: {provider: 'WSD.SwitchShim', fields: [num('AppReqId')]},
  AppComplete: {provider: 'WSD.SwitchShim', fields: [num('AppReqId'), num('Status'), num('Bytes')]},
  SwitchMap: {provider: 'WSD.SwitchShim', fields: [num('AppReqId'), handle('SanSocket'), {name: 'Overlapped', types: [21, 10, 8, 7, 9], arity: 0x40}, {name: 'RdmaRanges', types: [24]}]},
  SwitchAbort: {provider: 'WSD.SwitchShim', fields: [handle('SanSocket'), str('Reason')]},
  TcpFallback: {provider: 'WSD.SwitchShim', fields: [handle('AppSocket'), str('Dest'), num('Result')]},
}

/** Field layouts: a TlValue template per field whose value is filled per event. */
interface LField {
  name: string
  inType: number
  outType?: number
  arity?: number
  ccount?: number
  members?: LField[]
  text?: readonly string[]
}

function layoutField(s: Spec): LField {
  const inType = pick(s.types)
  if (inType === 24) {
    const addr = pick([21, 10, 8, 16, 7])
    const members: LField[] = [{name: 'Addr', inType: addr}, {name: 'Len', inType: pick([8, 7, 10, 6])}]
    if (rnd(2)) members.push({name: 'Handle', inType: pick([21, 20])})
    if (rnd(8) === 0) members.splice(1, 1) // no Len: the schema requires it
    if (rnd(10) === 0) members.push({name: 'Extra', inType: 8})
    return {name: s.name, inType, arity: rnd(4) === 0 ? 0x20 : 0x40, ccount: 2, members}
  }
  const f: LField = {name: s.name, inType, text: s.text}
  if (s.arity !== undefined) {
    f.arity = rnd(4) === 0 ? 0x20 : s.arity
    f.ccount = pick([0, 3, 10, 33])
  }
  if (inType === 2) f.outType = pick([35, 35, 0, 2])
  else if (inType === 4 || inType === 8) f.outType = pick([0, 0, 0, 3, 4])
  else if (rnd(12) === 0) f.outType = pick([4, 37, 17, 18])
  return f
}

function valueOf(f: LField, ptr: number): unknown {
  if (f.arity === 0x20 || f.arity === 0x40) {
    const n = f.arity === 0x20 ? f.ccount! : pick([0, 1, 2, 3, 10, 32, 33])
    return Array.from({length: n}, () => (f.members ? structValue(f.members, ptr) : scalarValue(f, ptr)))
  }
  return scalarValue(f, ptr)
}

function structValue(members: LField[], ptr: number): Record<string, unknown> {
  const o: Record<string, unknown> = {}
  for (const m of members) o[m.name] = scalarValue(m, ptr)
  return o
}

function scalarValue(f: LField, ptr: number): unknown {
  if (STRS.includes(f.inType)) {
    const s = pick(f.text ?? TEXT)
    return f.inType === 2 && f.outType !== 35 ? s.replace(/[^\x00-\xff]/gu, '?') : s
  }
  if (f.inType === 14 || f.inType === 25) return Uint8Array.from({length: pick([0, 1, 4, 16])}, () => rnd(256))
  if (f.inType === 15) return pick(['b5367df2-cbac-11cf-95ca-00805f48a192', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'])
  return intValue(f.inType, ptr)
}

function toTl(f: LField, v: unknown): TlValue {
  return {name: f.name, inType: f.inType, outType: f.outType, arity: f.arity, ccount: f.ccount, value: v, members: f.members?.map((m) => ({name: m.name, inType: m.inType, value: 0}))}
}

function randomTrace(layouts: number, perLayout: number): Rec[] {
  const recs: Rec[] = []
  let ts = H + 10n
  for (let l = 0; l < layouts; l++) {
    const name = pick(Object.keys(EVENTS))
    const def = EVENTS[name]
    // A subset of the event's fields, in order; required ones mostly present.
    const fields = def.fields.filter((_, i) => i < 2 || rnd(3) !== 0).map(layoutField)
    if (rnd(15) === 0) fields.push({name: 'Extra', inType: pick([8, 2, 9, 15, 14, 12, 13])})
    if (rnd(20) === 0) fields.push({name: fields[0].name, inType: fields[0].inType}) // repeated name → key Name_2
    const ptr = rnd(5) === 0 ? 4 : 8
    for (let k = 0; k < perLayout; k++) {
      ts += BigInt(1 + rnd(3))
      recs.push({
        provider: def.provider,
        name,
        fields: fields.map((f) => toTl(f, f.name === 'Extra' && f.inType === 12 ? pick([0.5, 1, -3]) : valueOf(f, ptr))),
        ts,
        pid: pick([4120, 9, 0]),
        tid: pick([77, 0, 3]),
        cpu: rnd(2),
        ptr,
      })
    }
  }
  return recs
}

describe('SAN fast path', () => {
  it('the natural types of every event kind take the fast path, with odd values', async () => {
    const u64 = (name: string, value: bigint | number): TlValue => ({name, inType: 10, value})
    const hex = (name: string, value: bigint | number): TlValue => ({name, inType: 21, value})
    const u32 = (name: string, value: number): TlValue => ({name, inType: 8, value})
    const i32 = (name: string, value: number): TlValue => ({name, inType: 7, value})
    const i64 = (name: string, value: bigint | number): TlValue => ({name, inType: 9, value})
    const s = (name: string, value: string): TlValue => ({name, inType: 2, outType: 35, value})
    const evs: Array<[string, string, TlValue[]]> = [
      ['WSD.SanSpi', 'SpiCall', [u64('Seq', 1), s('Fn', 'WSPSend'), hex('Socket', 0xffffffffffffffffn), hex('Overlapped', 2n ** 60n + 5n), u32('Flags', 0xffffffff), {name: 'Buffers', inType: 24, arity: 0x40, value: [{Addr: 0x10000n, Len: 1024, Handle: 0x5n}, {Addr: 2n ** 63n, Len: 0, Handle: 0n}], members: [hex('Addr', 0), u32('Len', 0), hex('Handle', 0)]}, {name: 'TargetDescriptor', inType: 14, value: Uint8Array.from([0xde, 0xad, 0, 0x0f])}, {name: 'IoctlGuid', inType: 15, value: 'b5367df2-cbac-11cf-95ca-00805f48a192'}, {name: 'FWait', inType: 13, value: 5}]],
      ['WSD.SanSpi', 'SpiReturn', [u64('Seq', 2n ** 53n - 1n), s('Fn', 'WSPSend'), i64('Rc', -1n), i32('Errno', -5), {name: 'ErrorCodes', inType: 7, arity: 0x40, value: [0, -1, 10061, 0x7fffffff]}, {name: 'DescriptorOut', inType: 14, value: new Uint8Array(0)}]],
      ['WSD.SanSpi', 'SpiReturn', [u64('Seq', 3), s('Fn', 'WSPSocket'), {name: 'Rc', inType: 21, value: 0xffffffffffffffffn}, {name: 'Errno', inType: 8, value: 0xffffffff}]],
      ['WSD.SanSpi', 'Upcall', [u64('Seq', 4), {name: 'Up', inType: 1, value: 'WPUCompleteOverlappedRequest'}, hex('SwitchSocket', 0x1c4), {name: 'Overlapped', inType: 16, value: 0x7ffd1200n}, i32('DwError', 0), u32('CbTransferred', 4096)]],
      ['WSD.SanSpi', 'UpcallReturn', [u64('Seq', 4), s('Up', 'WPUCreateSocketHandle'), {name: 'Rc', inType: 8, value: 0xfffffffe}, i32('Errno', 0)]],
      ['WSD.SanSpi', 'ConditionCall', [u64('Seq', 5), hex('ListenSocket', 0x2a0), s('CallerAddr', '10.0.0.2:1'), {name: 'CalleeAddr', inType: 22, value: '[fe80::1]:80'}]],
      ['WSD.SanSpi', 'ConditionReturn', [u64('Seq', 5), i32('Result', -2)]],
      ['WSD.SanSpi', 'NetEventSignal', [hex('Socket', 0x2a0), hex('EventHandle', 0x1f0), u32('FdBit', 4), i32('Error', 10061)]],
      ['WSD.SanSpi', 'NetEventReset', [hex('Socket', 0x2a0)]],
      ['WSD.SanSpi', 'OpDone', [hex('Socket', 0x2a0), hex('Overlapped', 0x10), i32('Error', 0), u32('Bytes', 10), {name: 'Notified', inType: 4, outType: 3, value: 1}, s('Reason', 'flush-on-close')]],
      ['WSD.SanSpi', 'ConnState', [hex('Socket', 0x2a0), s('Old', 'connecting'), s('New', 'connected'), s('Reason', 'ok')]],
      ['WSD.SwitchShim', 'AppRequest', [u64('AppReqId', 1), hex('AppSocket', 0x100), s('Kind', 'send'), {name: 'Blocking', inType: 13, value: true}, hex('BufAddr', 0x5000), u32('BufLen', 100)]],
      ['WSD.SwitchShim', 'AppCancel', [u64('AppReqId', 2)]],
      ['WSD.SwitchShim', 'AppComplete', [u64('AppReqId', 1), i32('Status', 995), u32('Bytes', 0)]],
      ['WSD.SwitchShim', 'SwitchMap', [u64('AppReqId', 1), hex('SanSocket', 0x2a0), {name: 'Overlapped', inType: 21, arity: 0x40, value: [0x10n, 2n ** 64n - 1n]}, {name: 'RdmaRanges', inType: 24, arity: 0x40, value: [{Addr: 0x5000n, Len: 100}], members: [hex('Addr', 0), u32('Len', 0)]}]],
      ['WSD.SwitchShim', 'SwitchAbort', [hex('SanSocket', 0x2a0), s('Reason', 'transport-error')]],
      ['WSD.SwitchShim', 'TcpFallback', [hex('AppSocket', 0x100), s('Dest', '10.0.0.9:445'), i32('Result', 0)]],
    ]
    const recs: Rec[] = []
    let ts = H + 1n
    for (let k = 0; k < 6; k++) for (const [provider, name, fields] of evs) recs.push({provider, name, fields, ts: ts++, pid: 4120, tid: 77, cpu: 0, ptr: 8})
    const r = await both(write(recs))
    expect(r.events).toHaveLength(recs.length)
    // Every layout compiles on its first use.
    expect(r.taken).toBe(recs.length)
    const sw = r.events.find((e) => e.event === 'SwitchMap')!
    expect(sw.f).toEqual({AppReqId: 1, SanSocket: '0x2a0', Overlapped: ['0x10', '0xffffffffffffffff'], RdmaRanges: [{Addr: '0x5000', Len: 100}]})
    const call = r.events.find((e) => e.event === 'SpiCall')!
    expect(call.f.Socket).toBe('0xffffffffffffffff')
    expect(call.f.Buffers).toEqual([{Addr: '0x10000', Len: 1024, Handle: '0x5'}, {Addr: '0x8000000000000000', Len: 0, Handle: '0x0'}])
    expect(call.f.IoctlGuid).toBe('{b5367df2-cbac-11cf-95ca-00805f48a192}')
    expect(r.events.find((e) => e.fn === 'WSPSocket')!.f.Rc).toBe(-1)
  })

  it('records with per-record extended items (an activity id, a stack trace) take the fast path too, without a layout table entry each', async () => {
    const fields: TlValue[] = [
      {name: 'Seq', inType: 10, value: 1},
      {name: 'Fn', inType: 2, outType: 35, value: 'WSPSend'},
      {name: 'Socket', inType: 21, value: 0x2a0n},
    ]
    const {meta, payload} = tlEvent('SpiCall', fields)
    const recs: Uint8Array[] = []
    let ts = H + 1n
    for (let k = 0; k < 40; k++) {
      const own = Uint8Array.from({length: k % 2 ? 16 : 24}, (_, i) => (k * 7 + i) & 0xff)
      const ext = [
        {type: k % 2 ? 0x0001 : 0x0006, data: own},
        {type: 0x0c, data: tlProviderTraits('WSD.SanSpi')},
        {type: 0x0b, data: meta},
      ]
      recs.push(eventRecord({provider: tlGuid('WSD.SanSpi'), ts: ts++, pid: 1, tid: 2, userData: payload, ext}))
      recs.push(tlRecord({providerName: 'WSD.SanSpi', meta, ts: ts++, pid: 1, tid: 2, userData: payload}))
    }
    const path = join(tmp, 'per-record-items.etl')
    writeFileSync(path, etlFile({cpus: {0: recs}, startTime: START, headerTs: H, bufferSize: 16384}))
    const r = await both(path)
    expect(r.events).toHaveLength(80)
    expect(r.taken).toBe(80)
  })

  it('payloads that do not match a trusted layout (short, trailing bytes, unterminated) are reported as before', async () => {
    const fields: TlValue[] = [
      {name: 'Seq', inType: 10, value: 1},
      {name: 'Fn', inType: 2, outType: 35, value: 'WSPSend'},
      {name: 'Socket', inType: 21, value: 0x2a0n},
    ]
    const {meta, payload} = tlEvent('SpiCall', fields)
    const rec = (userData: Uint8Array, ts: bigint): Uint8Array => tlRecord({providerName: 'WSD.SanSpi', meta, ts, pid: 1, tid: 2, userData})
    const recs: Uint8Array[] = []
    let ts = H + 1n
    for (let k = 0; k < 6; k++) recs.push(rec(payload, ts++))
    recs.push(rec(payload.subarray(0, payload.length - 3), ts++)) // ends inside Socket
    recs.push(rec(Uint8Array.from([...payload, 1, 2, 3]), ts++)) // 3 bytes after the last field
    recs.push(rec(payload.subarray(0, 8 + 3), ts++)) // Fn without its terminator, no Socket
    recs.push(rec(payload, ts++))
    const path = join(tmp, 'mismatch.etl')
    writeFileSync(path, etlFile({cpus: {0: recs}, startTime: START, headerTs: H, bufferSize: 16384}))
    const r = await both(path)
    expect(r.taken).toBe(7)
    expect(r.diag.skipped.map(([k]) => k)).toContain('damaged .etl data')
    expect(r.diag.samples.filter((p) => p.reason === 'damaged .etl data')).toHaveLength(3)
  })

  it('an invalid value in a trusted layout is still reported, with its field, as before', async () => {
    const good = (seq: number | bigint, fn: string, bytes: number, codes = 2): TlValue[] => [
      {name: 'Seq', inType: 10, value: seq},
      {name: 'Fn', inType: 2, outType: 35, value: fn},
      {name: 'Rc', inType: 9, value: -1n},
      {name: 'BytesOut', inType: 7, value: bytes},
      {name: 'ErrorCodes', inType: 7, arity: 0x40, value: Array.from({length: codes}, () => 0)},
    ]
    const recs: Rec[] = []
    let ts = H + 1n
    const add = (fields: TlValue[]): void => void recs.push({provider: 'WSD.SanSpi', name: 'SpiReturn', fields, ts: ts++, pid: 1, tid: 2, cpu: 0, ptr: 8})
    for (let k = 0; k < 6; k++) add(good(k, 'WSPSend', 0))
    add(good(7, 'bad name', 0))
    add(good(8, 'WSPSend', -5))
    add(good(2n ** 60n, 'WSPSend', 0))
    add(good(9, 'WSPSend', 0, 33))
    add(good(10, 'WSPRecv', 1))
    const r = await both(write(recs))
    expect(r.events.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 10])
    expect(r.taken).toBe(7) // the valid events; the invalid ones went the slow way
    expect(r.diag.samples.map((p) => [p.reason, p.pointer, p.offset! > 0])).toEqual([
      ['invalid field', '/Fn', true],
      ['invalid field', '/BytesOut', true],
      ['invalid field', '/Seq', true],
      ['invalid field', '/ErrorCodes', true],
    ])
    expect(r.diag.samples[0].message).toMatch(/"bad name"/)
  })

  // Last: it compiles hundreds of layouts, after which new layouts compile only after a few uses.
  it('random traces: identical events and diagnostics both ways, every event kind, field kind and type', async () => {
    let taken = 0
    let total = 0
    let skipped = 0
    for (let round = 0; round < 6; round++) {
      const r = await both(write(randomTrace(70, 8)))
      taken += r.taken
      total += r.events.length
      skipped += r.diag.skipped.reduce((a, [, n]) => a + n, 0)
    }
    // The fast path carried a good share, and invalid values were exercised.
    expect(taken).toBeGreaterThan(total / 5)
    expect(skipped).toBeGreaterThan(50)
  }, 120_000)

  it('tlFastEmit: fast events handed over at their place in output order, the same events', async () => {
    const path = write(randomTrace(70, 8))
    const key = (e: {eventName?: string; tsNs: number; offset: number; cpu: number; tlFast?: unknown}): string => JSON.stringify([e.eventName, e.tsNs, e.offset, e.cpu, e.tlFast])
    const plain: string[] = []
    const a = await openEtl(path, {tlFast: sanFastDecoder})
    for await (const b of a.batches()) for (const e of b) plain.push(key(e))
    await a.close()
    const seen: string[] = []
    let emitted = 0
    let copies = 0
    const b = await openEtl(path, {tlFast: sanFastDecoder, batchSize: 16, tlFastEmit: (v) => ({emitted: key(v)})})
    for await (const batch of b.batches()) {
      let other = false
      for (const e of batch as unknown[]) {
        const x = e as {emitted?: string}
        if (x.emitted !== undefined) {
          // Handed over only while nothing else precedes it in the batch.
          expect(other).toBe(false)
          emitted++
          seen.push(x.emitted)
        } else {
          other = true
          if ((e as {tlFast?: unknown}).tlFast !== undefined) copies++
          seen.push(key(e as Parameters<typeof key>[0]))
        }
      }
    }
    await b.close()
    expect(seen).toStrictEqual(plain)
    expect(emitted).toBeGreaterThan(0)
    expect(copies).toBeGreaterThan(0)
  }, 60_000)
})
