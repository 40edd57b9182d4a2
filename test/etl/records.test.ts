/** Record header kinds absent from the corpus, the 32-bit header layout, and every clock type. */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {readAllEtl, unixNsToFileTime, type EtlDiagnostic} from '../../src/etl/index.js'
import {Bytes, etlFile, eventRecord, tlGuid, type FileDef} from './builder.js'

const tmp = mkdtempSync(join(tmpdir(), 'santrace-rec-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))
let n = 0
async function read(def: FileDef) {
  const path = join(tmp, `r${n++}.etl`)
  writeFileSync(path, etlFile(def))
  const diags: EtlDiagnostic[] = []
  const r = await readAllEtl(path, {onDiagnostic: (d) => diags.push(d)})
  return {...r, diags}
}

const START = 133000000000000000n
const START_NS = (START - 116444736000000000n) * 100n
const CLASS = '9b79ee91-b5fd-41c0-a243-4248e266e9d0'
const PARENT = '11111111-2222-3333-4444-555555555555'

function system(ht: number, hook: number, ts: bigint, payload: number[], version = 2, ext: number[] = []): Uint8Array {
  const hdr = ht === 0x03 || ht === 0x04 ? 0x18 : 0x20
  const b = new Bytes().u16(version).u8(ht).u8(0xc0).u16(hdr + ext.length + payload.length).u8(hook & 0xff).u8(hook >>> 8).u32(11).u32(22).u64(ts)
  if (hdr === 0x20) b.u32(5).u32(6)
  return b.raw(ext).raw(payload).bytes()
}

function perfinfo(ht: number, hook: number, ts: bigint, payload: number[], version = 2, ext: number[] = []): Uint8Array {
  return new Bytes().u16(version).u8(ht).u8(0xc0).u16(0x10 + ext.length + payload.length).u8(hook & 0xff).u8(hook >>> 8).u64(ts).raw(ext).raw(payload).bytes()
}

function full(ht: number, ts: bigint, payload: number[], instance = false): Uint8Array {
  const hdr = instance ? 0x48 : 0x30
  const b = new Bytes().u16(hdr + payload.length).u8(ht).u8(0xc0).u8(33).u8(4).u16(2).u32(7).u32(8).u64(ts).guid(CLASS).u32(100).u32(200)
  if (instance) b.u32(41).u32(42).guid(PARENT)
  return b.raw(payload).bytes()
}

function wpp(flags: number, ts: bigint | undefined, args: number[], opts: {seq?: number; comp?: number} = {}): Uint8Array {
  const b = new Bytes()
  if (flags & 1) b.u32(opts.seq ?? 0)
  if (flags & 2) b.guid(PARENT)
  else if (flags & 4) b.u32(opts.comp ?? 0)
  if (flags & 8) b.u64(ts!)
  if (flags & 0x20) b.u32(300).u32(400)
  const body = b.raw(args).bytes()
  return new Bytes().u16(8 + body.length).u8(0).u8(0x90).u16(55).u16(flags).raw(body).bytes()
}

describe('record header kinds (§4)', () => {
  it('SYSTEM32/64, COMPACT32/64, PERFINFO32/64 with PEBS/PMC extensions, FULL32/64, INSTANCE32/64, WPP', async () => {
    const recs = [
      system(0x01, 0x0302, 2000n, [1, 2, 3, 4]), // SYSTEM32 Process/End
      system(0x02, 0x0501, 2001n, [5, 6, 7, 8, 9, 10, 11, 12]),
      system(0x03, 0x0a01, 2002n, [1]), // COMPACT32
      system(0x04, 0x1402, 2003n, [1, 2]), // COMPACT64
      perfinfo(0x10, 0x0f2e, 2004n, [1, 2, 3, 4]),
      perfinfo(0x11, 0x0f2e, 2005n, [9, 9], 0x8000 | 0x0200 | 3, new Array(8 + 16).fill(0xee)), // PEBS + 2 PMC counters
      system(0x02, 0x0501, 2006n, [7], 0x0100 | 2, new Array(8).fill(0xdd)), // 1 PMC counter
      full(0x0a, 2007n, [1, 2, 3]),
      full(0x14, 2008n, [4, 5]),
      full(0x0b, 2009n, [6], true),
      full(0x15, 2010n, [7, 8], true),
      wpp(0x2a, 2011n, [1, 2, 3, 4]), // GUID | TIMESTAMP | SYSTEMINFO
      wpp(0x05, undefined, [9, 9], {seq: 77, comp: 12}), // SEQUENCE | COMPONENTID, no timestamp
      wpp(0x80 | 0x40 | 0x08, 2012n, []), // POINTER32 only affects args
    ]
    const r = await read({cpus: {0: recs}, startTime: START, headerTs: 1000n})
    expect(r.diags).toEqual([])
    expect(r.stats.recordsByKind).toMatchObject({system: 4, compact: 2, perfinfo: 2, full: 2, instance: 2, wpp: 3})
    const ev = r.events.slice(1)
    expect(ev.map((e) => [e.kind, e.headerType, e.pointerSize, e.userDataLength])).toEqual([
      ['system', 0x01, 4, 4],
      ['system', 0x02, 8, 8],
      ['compact', 0x03, 4, 1],
      ['compact', 0x04, 8, 2],
      ['perfinfo', 0x10, 4, 4],
      ['perfinfo', 0x11, 8, 2],
      ['system', 0x02, 8, 1],
      ['full', 0x0a, 4, 3],
      ['full', 0x14, 8, 2],
      ['instance', 0x0b, 4, 1],
      ['instance', 0x15, 8, 2],
      ['wpp', 0, 8, 4],
      ['wpp', 0, 8, 2],
      ['wpp', 0, 4, 0],
    ])
    // SYSTEM: group GUID, hook, opcode, version, TID then PID, kernel/user time
    expect([ev[0].providerGuid, ev[0].providerName, ev[0].hookId, ev[0].opcode, ev[0].version, ev[0].tid, ev[0].pid, ev[0].kernelTime, ev[0].userTime]).toEqual([
      '3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c', 'Process', 0x0302, 2, 2, 11, 22, 5, 6,
    ])
    expect([ev[2].providerName, ev[3].providerName, ev[3].kernelTime]).toEqual(['DbgPrint', 'Image', 0])
    // PERFINFO: no TID/PID; extension flags masked from the version, payload after them
    expect([ev[4].pid, ev[4].tid, ev[4].providerName, ev[4].opcode]).toEqual([0xffffffff, 0xffffffff, 'PerfInfo', 0x2e])
    expect([ev[5].version, Array.from(ev[5].payloadBytes)]).toEqual([3, [9, 9]])
    expect([ev[6].version, Array.from(ev[6].payloadBytes)]).toEqual([2, [7]])
    // FULL / INSTANCE: class GUID, Class.Type/Level/Version, instance info
    for (const e of ev.slice(7, 11)) expect([e.providerGuid, e.opcode, e.level, e.version, e.tid, e.pid, e.kernelTime, e.userTime]).toEqual([CLASS, 33, 4, 2, 7, 8, 100, 200])
    expect(ev[9].extended!.map((x) => [x.type, Array.from(x.data)])).toEqual([[4, Array.from(new Bytes().u32(41).u32(42).guid(PARENT).bytes())]])
    // WPP: message GUID, number, options, TID/PID; no timestamp → previous record's time
    expect([ev[11].providerGuid, ev[11].id, ev[11].flags, ev[11].tid, ev[11].pid, ev[11].timestampRaw]).toEqual([PARENT, 55, 0x2a, 300, 400, 2011n])
    expect([ev[12].providerGuid, ev[12].sequence, ev[12].timestampRaw, ev[12].pid]).toEqual(['component:12', 77, 2011n, 0xffffffff])
    expect(ev.map((e) => e.tsNs)).toEqual([1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1011, 1012].map((x) => x * 100))
  })
})

describe('TRACE_LOGFILE_HEADER', () => {
  it('32-bit layout (SYSTEM32 header record, PointerSize 4)', async () => {
    const r = await read({pointerSize: 4, cpus: {0: [system(0x01, 0x0302, 1500n, [1])]}, startTime: START, headerTs: 1000n, perfFreq: 3_000_000n, loggerName: 'logger32'})
    expect(r.diags).toEqual([])
    expect([r.header.present, r.header.pointerSize, r.header.loggerName, r.header.logFileName, r.header.clockType]).toEqual([true, 4, 'logger32', 'C:\\test.etl', 1])
    expect([r.header.perfFreq, r.header.startTime]).toEqual([3_000_000n, START])
    expect(r.events[1].tsNs).toBe(166666) // 500 ticks at 3 MHz = 166.666 µs (floor)
  })
  it('fields of the 64-bit layout', async () => {
    const r = await read({cpus: {0: []}, numberOfProcessors: 6, bufferSize: 8192, cpuSpeedMHz: 2400})
    const h = r.header
    expect([h.bufferSize, h.versionMajor, h.versionMinor, h.providerVersion, h.numberOfProcessors, h.timerResolution, h.logFileMode, h.pointerSize, h.cpuSpeedMHz, h.loggerName]).toEqual([
      8192, 10, 0, 22631, 6, 156250, 1, 8, 2400, 'test',
    ])
  })
})

describe('timestamps → absolute time (§7), every clock type', () => {
  const rec = (ts: bigint): Uint8Array => eventRecord({provider: tlGuid('T'), ts, channel: 0, userData: new Uint8Array(0)})
  it('ClockType 1 (QPC), odd frequency: floor to the nanosecond, FILETIME to 100 ns', async () => {
    const r = await read({cpus: {0: [rec(1000n + 1_818_300n), rec(1000n + 1n), rec(1000n + 12_345_678_901n)]}, startTime: START, headerTs: 1000n, perfFreq: 1_818_300n})
    const [b, a, c] = r.events.slice(1).sort((x, y) => x.tsNs - y.tsNs)
    expect(b.tsAbsNs - START_NS).toBe(549n) // 1 tick = 549.964 ns
    expect(a.tsAbsNs - START_NS).toBe(1_000_000_000n)
    expect(c.tsAbsNs - START_NS).toBe((12_345_678_901n * 1_000_000_000n) / 1_818_300n)
    expect(unixNsToFileTime(c.tsAbsNs)).toBe(START + (12_345_678_901n * 10_000_000n) / 1_818_300n)
  })
  it('ClockType 2 (system time): raw timestamps are FILETIMEs', async () => {
    const r = await read({clockType: 2, headerTs: START, startTime: START, perfFreq: 0n, cpus: {0: [rec(START + 12345n)]}})
    expect(r.diags).toEqual([])
    expect(r.header.clockFrequency).toBe(10_000_000)
    expect(unixNsToFileTime(r.events[1].tsAbsNs)).toBe(START + 12345n)
  })
  it('ClockType 3 (CPU cycles): CpuSpeedInMHz', async () => {
    const r = await read({clockType: 3, cpuSpeedMHz: 3000, headerTs: 5_000_000n, startTime: START, cpus: {0: [rec(5_000_000n + 7n), rec(5_000_000n + 3_000_000_000n)]}})
    expect(r.header.clockFrequency).toBe(3_000_000_000)
    const ev = r.events.slice(1)
    expect(ev.map((e) => e.tsAbsNs - START_NS)).toEqual([2n, 1_000_000_000n])
  })
  it('events before the sync point (circular/merged files) get negative offsets, floored', async () => {
    const r = await read({headerTs: 1000n, startTime: START, perfFreq: 3n, cpus: {1: [rec(999n)]}})
    expect(r.events[0].tsAbsNs - START_NS).toBe(-333333334n)
    expect(r.events[0].tsNs).toBe(-333333334)
  })
  it('huge raw timestamps fall back to BigInt arithmetic', async () => {
    const big = 0xfff0_0000_0000_0000n
    const r = await read({headerTs: 1000n, startTime: START, cpus: {0: [rec(big)]}})
    const e = r.events.find((x) => x.timestampRaw === big)!
    expect(e.tsAbsNs - START_NS).toBe((big - 1000n) * 100n)
  })
  it('unknown ClockType or zero frequency: diagnostic, 10 MHz assumed', async () => {
    const r = await read({clockType: 7, perfFreq: 0n, cpus: {0: [rec(1010n)]}, headerTs: 1000n, startTime: START})
    expect(r.diags.map((d) => d.message).join('\n')).toMatch(/unusable|unknown ClockType/)
    expect(r.events[1].tsAbsNs - START_NS).toBe(1000n)
  })
})
