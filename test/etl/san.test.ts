/** SAN mapping (src/etl/san.ts): TraceLogging events of WSD.SanSpi / WSD.SwitchShim → JSON-trace objects. */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {openSanEtl, SAN_PROVIDER_GUIDS, type SanEtlEvent} from '../../src/etl/index.js'
import {Bytes, eventRecord, etlFile, tlEvent, tlGuid, tlRecord, type TlValue} from './builder.js'

const tmp = mkdtempSync(join(tmpdir(), 'santrace-san-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

const START = 133000000000000000n // FILETIME of the header record
const START_NS = (START - 116444736000000000n) * 100n
const H = 1000n // header record raw timestamp (10 MHz clock)

// Field helpers: [name, InType, value] with the natural TraceLogging types of trace-format.md.
const hex64 = (name: string, value: bigint | number): TlValue => ({name, inType: 21, value})
const hex32 = (name: string, value: number): TlValue => ({name, inType: 20, value})
const u64 = (name: string, value: bigint | number): TlValue => ({name, inType: 10, value})
const u32 = (name: string, value: number): TlValue => ({name, inType: 8, value})
const i32 = (name: string, value: number): TlValue => ({name, inType: 7, value})
const i64 = (name: string, value: bigint): TlValue => ({name, inType: 9, value})
const utf8 = (name: string, value: string): TlValue => ({name, inType: 2, outType: 35, value})

interface Ev {
  provider?: string
  name: string
  fields: TlValue[]
  ts: bigint
  pid?: number
  tid?: number
  cpu?: number
  ptr?: number
  opcode?: number
  traits?: boolean
}

function build(events: Ev[]): string {
  const cpus: Record<number, Uint8Array[]> = {}
  for (const e of events) {
    const {meta, payload} = tlEvent(e.name, e.fields, e.ptr ?? 8)
    const providerName = e.provider ?? 'WSD.SanSpi'
    const rec =
      e.traits === false
        ? eventRecord({provider: tlGuid(providerName), ts: e.ts, pid: e.pid ?? 4120, tid: e.tid ?? 77, opcode: e.opcode, ext: [{type: 0x0b, data: meta}], userData: payload, headerType: e.ptr === 4 ? 0x12 : 0x13})
        : tlRecord({providerName, meta, ts: e.ts, pid: e.pid ?? 4120, tid: e.tid ?? 77, opcode: e.opcode, userData: payload, headerType: e.ptr === 4 ? 0x12 : 0x13})
    ;(cpus[e.cpu ?? 0] ??= []).push(rec)
  }
  const path = join(tmp, `san${Math.random().toString(36).slice(2)}.etl`)
  writeFileSync(path, etlFile({cpus, startTime: START, headerTs: H, bufferSize: 8192}))
  return path
}

async function mapAll(path: string) {
  const f = await openSanEtl(path)
  const out: SanEtlEvent[] = []
  for await (const b of f.batches()) out.push(...b)
  await f.close()
  return {events: out, san: f.san, stats: f.stats}
}

describe('SAN mapping', () => {
  it('provider GUIDs are the name-derived TraceLogging GUIDs', () => {
    expect(SAN_PROVIDER_GUIDS[tlGuid('WSD.SanSpi')]).toBe('WSD.SanSpi')
    expect(SAN_PROVIDER_GUIDS[tlGuid('WSD.SwitchShim')]).toBe('WSD.SwitchShim')
  })

  it('SpiCall/SpiReturn with the natural types, exactly like the JSON trace', async () => {
    const path = build([
      {
        name: 'SpiCall',
        ts: H + 15n,
        opcode: 1,
        fields: [
          u64('Seq', 12n),
          utf8('Fn', 'WSPSend'),
          hex64('Socket', 0x2a0n),
          hex64('Overlapped', 0x7ffd1200n),
          hex64('HEvent', 0x1f0n),
          hex64('CompletionRoutine', 0n),
          hex64('ThreadIdPtr', 0n),
          u32('Flags', 0),
          u32('BufferCount', 2),
          u32('TotalLen', 4096),
          {
            name: 'Buffers',
            inType: 24,
            arity: 0x40,
            value: [
              {Addr: 0x10000n, Len: 1024, Handle: 0x5n},
              {Addr: 0x20000n, Len: 3072, Handle: 0x6n},
            ],
            members: [hex64('Addr', 0), u32('Len', 0), hex64('Handle', 0)],
          },
        ],
      },
      {
        name: 'SpiReturn',
        ts: H + 25n,
        opcode: 2,
        fields: [u64('Seq', 12n), utf8('Fn', 'WSPSend'), i64('Rc', -1n), i32('Errno', 997), u32('BytesOut', 0), u32('FlagsOut', 0)],
      },
    ])
    const r = await mapAll(path)
    expect(r.events.map((e) => e.record)).toEqual([
      {
        pid: 4120,
        tid: 77,
        cpu: 0,
        provider: 'WSD.SanSpi',
        event: 'SpiCall',
        Seq: 12,
        Fn: 'WSPSend',
        Socket: '0x2a0',
        Overlapped: '0x7ffd1200',
        HEvent: '0x1f0',
        CompletionRoutine: '0x0',
        ThreadIdPtr: '0x0',
        Flags: 0,
        BufferCount: 2,
        TotalLen: 4096,
        Buffers: [
          {Addr: '0x10000', Len: 1024, Handle: '0x5'},
          {Addr: '0x20000', Len: 3072, Handle: '0x6'},
        ],
      },
      {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SanSpi', event: 'SpiReturn', Seq: 12, Fn: 'WSPSend', Rc: -1, Errno: 997, BytesOut: 0, FlagsOut: 0},
    ])
    // Time: 100 ns ticks after the header record (10 MHz) → absolute ns.
    expect(r.events.map((e) => e.tsAbsNs)).toEqual([START_NS + 1500n, START_NS + 2500n])
    expect(JSON.stringify(r.events[0].record)).toContain('"Socket":"0x2a0"')
    expect(r.san.mapped).toBe(2)
  })

  it('every accepted alternative type normalizes to the same value', async () => {
    const path = build([
      {
        name: 'Upcall',
        ts: H + 1n,
        ptr: 4,
        fields: [
          {name: 'Seq', inType: 8, value: 7},
          {name: 'Up', inType: 1, value: 'WPUCompleteOverlappedRequest'},
          hex32('SwitchSocket', 0x1c4),
          {name: 'Overlapped', inType: 16, value: 0x7ffd1200}, // Pointer in a 32-bit record
          {name: 'DwError', inType: 20, value: 0}, // HexInt32
          {name: 'CbTransferred', inType: 21, value: 4096n}, // HexInt64
          {name: 'CatalogEntryId', inType: 7, value: 1001}, // Int32
          u32('Context', 0xdead),
        ],
      },
      {
        name: 'UpcallReturn',
        ts: H + 2n,
        fields: [u64('Seq', 7n), {name: 'Up', inType: 23, value: 'WPUCreateSocketHandle'}, i32('Rc', 0x1c8), u32('Errno', 0), u64('NewSwitchSocket', 0x1c8n)],
      },
      {
        name: 'ConditionCall',
        ts: H + 3n,
        fields: [u64('Seq', 8n), hex64('ListenSocket', 0x2a0n), {name: 'CallerAddr', inType: 22, value: '10.0.0.2:1234'}, utf8('CalleeAddr', '[fe80::1]:80')],
      },
      {name: 'ConditionReturn', ts: H + 4n, fields: [u64('Seq', 8n), u32('Result', 2)]},
      {name: 'OpDone', ts: H + 5n, fields: [hex64('Socket', 0x2a0n), hex64('Overlapped', 0x10n), i32('Error', 0), u32('Bytes', 10), {name: 'Notified', inType: 13, value: true}, utf8('Reason', 'flush-on-close')]},
      {name: 'NetEventSignal', ts: H + 6n, fields: [hex64('Socket', 0x2a0n), hex64('EventHandle', 0x1f0n), u32('FdBit', 4), i32('Error', 10061)]},
      {name: 'ConnState', ts: H + 7n, fields: [hex64('Socket', 0x2a0n), utf8('Old', 'connecting'), utf8('New', 'connected'), utf8('Reason', 'ok')]},
      {
        name: 'SpiReturn',
        ts: H + 8n,
        fields: [
          u64('Seq', 9007199254740993n), // beyond 2^53: decimal string
          utf8('Fn', 'WSPEnumNetworkEvents'),
          i32('Rc', 0),
          i32('Errno', 0),
          u32('NetworkEventsOut', 0x10),
          {name: 'ErrorCodes', inType: 7, arity: 0x40, value: [0, 0, 0, 0, 10061, 0, 0, 0, 0, 0]},
        ],
      },
      {
        name: 'SpiCall',
        ts: H + 9n,
        fields: [
          u64('Seq', 10n),
          utf8('Fn', 'WSPIoctl'),
          hex64('Socket', 0x2a0n),
          u32('IoctlCode', 0xc8000006),
          {name: 'IoctlGuid', inType: 15, value: 'b5367df2-cbac-11cf-95ca-00805f48a192'},
          u32('InLen', 16),
          u32('OutLen', 8),
          hex64('Overlapped', 0n),
        ],
      },
      {name: 'SpiReturn', ts: H + 10n, fields: [u64('Seq', 11n), utf8('Fn', 'WSPRegisterRdmaMemory'), i32('Rc', 0), i32('Errno', 0), {name: 'DescriptorOut', inType: 14, value: Uint8Array.from([0xde, 0xad, 0xbe, 0xef])}, u32('DescriptorLenOut', 4)]},
      {name: 'SpiReturn', ts: H + 11n, fields: [u64('Seq', 12n), utf8('Fn', 'WSPSocket'), {name: 'Rc', inType: 8, value: 0xffffffff}, i32('Errno', 10047)]},
    ])
    const r = await mapAll(path)
    expect(r.events.map((e) => e.record)).toEqual([
      {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SanSpi', event: 'Upcall', Seq: 7, Up: 'WPUCompleteOverlappedRequest', SwitchSocket: '0x1c4', Overlapped: '0x7ffd1200', DwError: 0, CbTransferred: 4096, CatalogEntryId: 1001, Context: '0xdead'},
      {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SanSpi', event: 'UpcallReturn', Seq: 7, Up: 'WPUCreateSocketHandle', Rc: 0x1c8, Errno: 0, NewSwitchSocket: '0x1c8'},
      {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SanSpi', event: 'ConditionCall', Seq: 8, ListenSocket: '0x2a0', CallerAddr: '10.0.0.2:1234', CalleeAddr: '[fe80::1]:80'},
      {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SanSpi', event: 'ConditionReturn', Seq: 8, Result: 2},
      {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SanSpi', event: 'OpDone', Socket: '0x2a0', Overlapped: '0x10', Error: 0, Bytes: 10, Notified: true, Reason: 'flush-on-close'},
      {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SanSpi', event: 'NetEventSignal', Socket: '0x2a0', EventHandle: '0x1f0', FdBit: 4, Error: 10061},
      {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SanSpi', event: 'ConnState', Socket: '0x2a0', Old: 'connecting', New: 'connected', Reason: 'ok'},
      {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SanSpi', event: 'SpiReturn', Seq: '9007199254740993', Fn: 'WSPEnumNetworkEvents', Rc: 0, Errno: 0, NetworkEventsOut: 16, ErrorCodes: [0, 0, 0, 0, 10061, 0, 0, 0, 0, 0]},
      {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SanSpi', event: 'SpiCall', Seq: 10, Fn: 'WSPIoctl', Socket: '0x2a0', IoctlCode: 0xc8000006, IoctlGuid: '{b5367df2-cbac-11cf-95ca-00805f48a192}', InLen: 16, OutLen: 8, Overlapped: '0x0'},
      {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SanSpi', event: 'SpiReturn', Seq: 11, Fn: 'WSPRegisterRdmaMemory', Rc: 0, Errno: 0, DescriptorOut: 'deadbeef', DescriptorLenOut: 4},
      {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SanSpi', event: 'SpiReturn', Seq: 12, Fn: 'WSPSocket', Rc: -1, Errno: 10047},
    ])
  })

  it('WSD.SwitchShim events: booleans as UInt8/Boolean, arrays of handles, arrays of structs', async () => {
    const path = build([
      {
        provider: 'WSD.SwitchShim',
        name: 'AppRequest',
        ts: H + 1n,
        fields: [u64('AppReqId', 1n), hex64('AppSocket', 0x100n), utf8('Kind', 'send'), {name: 'Blocking', inType: 4, outType: 3, value: 1}, hex64('BufAddr', 0x5000n), u32('BufLen', 100)],
      },
      {
        provider: 'WSD.SwitchShim',
        name: 'SwitchMap',
        ts: H + 2n,
        fields: [
          u64('AppReqId', 1n),
          hex64('SanSocket', 0x2a0n),
          {name: 'Overlapped', inType: 21, arity: 0x40, value: [0x10n, 0x20n]},
          {name: 'RdmaRanges', inType: 24, arity: 0x40, value: [{Addr: 0x5000n, Len: 100}], members: [hex64('Addr', 0), u32('Len', 0)]},
        ],
      },
      {provider: 'WSD.SwitchShim', name: 'AppComplete', ts: H + 3n, fields: [u64('AppReqId', 1n), i32('Status', 0), u32('Bytes', 100)]},
      {provider: 'WSD.SwitchShim', name: 'AppCancel', ts: H + 4n, fields: [u64('AppReqId', 2n)]},
      {provider: 'WSD.SwitchShim', name: 'TcpFallback', ts: H + 5n, fields: [hex64('AppSocket', 0x100n), utf8('Dest', '10.0.0.9:445'), i32('Result', 0)]},
      {provider: 'WSD.SwitchShim', name: 'SwitchAbort', ts: H + 6n, fields: [hex64('SanSocket', 0x2a0n), utf8('Reason', 'transport-error')]},
    ])
    const r = await mapAll(path)
    expect(r.events.map((e) => e.record)).toEqual([
      {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SwitchShim', event: 'AppRequest', AppReqId: 1, AppSocket: '0x100', Kind: 'send', Blocking: true, BufAddr: '0x5000', BufLen: 100},
      {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SwitchShim', event: 'SwitchMap', AppReqId: 1, SanSocket: '0x2a0', Overlapped: ['0x10', '0x20'], RdmaRanges: [{Addr: '0x5000', Len: 100}]},
      {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SwitchShim', event: 'AppComplete', AppReqId: 1, Status: 0, Bytes: 100},
      {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SwitchShim', event: 'AppCancel', AppReqId: 2},
      {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SwitchShim', event: 'TcpFallback', AppSocket: '0x100', Dest: '10.0.0.9:445', Result: 0},
      {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SwitchShim', event: 'SwitchAbort', SanSocket: '0x2a0', Reason: 'transport-error'},
    ])
  })

  it('recognizes the provider by GUID alone, merges CPUs by time, counts other providers, keeps unknown fields', async () => {
    const path = build([
      {name: 'SpiCall', ts: H + 30n, cpu: 1, pid: 9, tid: 3, traits: false, fields: [u64('Seq', 2n), utf8('Fn', 'WSPCloseSocket'), hex64('Socket', 0x2a0n), {name: 'Extra', inType: 15, value: '00000000-0000-0000-0000-00000000000a'}]},
      {name: 'SpiCall', ts: H + 20n, cpu: 0, fields: [u64('Seq', 1n), utf8('Fn', 'WSPCleanup')]},
      {provider: 'Other.Provider', name: 'Noise', ts: H + 25n, fields: [u32('x', 1)]},
      {provider: 'Other.Provider', name: 'Noise', ts: H + 26n, fields: [u32('x', 2)]},
      {name: 'SpiCall', ts: H + 40n, cpu: 0, fields: [u64('Seq', 3n), utf8('Fn', 'WSPSend'), {name: 'Blob', inType: 14, value: Uint8Array.from([1, 2])}, {name: 'pid', inType: 8, value: 99}]},
    ])
    const r = await mapAll(path)
    expect(r.events.map((e) => [e.record.event, e.record.Seq, e.record.cpu, e.record.pid])).toEqual([
      ['SpiCall', 1, 0, 4120],
      ['SpiCall', 2, 1, 9],
      ['SpiCall', 3, 0, 4120],
    ])
    expect(r.events[1].record).toEqual({pid: 9, tid: 3, cpu: 1, provider: 'WSD.SanSpi', event: 'SpiCall', Seq: 2, Fn: 'WSPCloseSocket', Socket: '0x2a0', Extra: '{00000000-0000-0000-0000-00000000000a}'})
    expect(r.events[2].record).toMatchObject({Blob: '0102', pid: 4120}) // header pid, never a field's
    expect(r.san.otherProviders).toEqual(new Map([['Other.Provider', 2], ['EventTrace', 1]]))
    // offsets point at the records
    const raw = new Uint8Array(await import('node:fs').then((fs) => fs.readFileSync(path)))
    for (const e of r.events) expect([raw[e.offset + 2], raw[e.offset + 3]]).toEqual([0x13, 0xc0])
  })

  it('SAN-provider events that are not TraceLogging are counted as unmapped', async () => {
    const rec = eventRecord({provider: tlGuid('WSD.SanSpi'), ts: H + 5n, channel: 0, userData: new Bytes().u32(1).bytes()})
    const path = join(tmp, 'nontl.etl')
    writeFileSync(path, etlFile({cpus: {0: [rec]}, startTime: START, headerTs: H}))
    const r = await mapAll(path)
    expect(r.events).toEqual([])
    expect(r.san.unmapped).toBe(1)
  })
})
