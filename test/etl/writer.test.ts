/** ETL writer: byte-for-byte re-encoding of corpus TraceLogging records, whole-file round trips, writeSanEtl. */
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {EtlWriter, SanEtlWriter, encodeTlEventRecord, openSanEtl, readAllEtl, writeSanEtl, type EtlEvent, type SanEtlEvent, type TlWriteEvent} from '../../src/etl/index.js'
import {corpusDir, requireShared} from '../helpers/shared.js'

const dir = requireShared('ETL corpus', corpusDir())
const tmp = mkdtempSync(join(tmpdir(), 'santrace-writer-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

const FILES = ['perfview_primitive-types.etl', 'airbus_AMSITrace.etl', 'airbus_lxcore_kernel.etl', 's4_waasmedic.20251005.etl', 's4_SIH.20230422.etl']

/** Rebuilds the writer's input from a decoded event (nothing taken from the raw record bytes). */
function toWrite(e: EtlEvent): TlWriteEvent {
  const tl = e.tl!
  return {
    providerName: e.tlProvider!.name,
    providerGuid: e.providerGuid,
    providerTraits: e.tlProvider!.traits,
    event: {name: tl.name, tags: tl.tags, tagBytes: tl.tagBytes, fields: tl.fields},
    values: e.fields!,
    pointerSize: e.pointerSize,
    flags: e.flags & ~1,
    eventProperty: e.eventProperty,
    pid: e.pid,
    tid: e.tid,
    timestampRaw: e.timestampRaw,
    id: e.id,
    version: e.version,
    channel: e.channel,
    level: e.level,
    opcode: e.opcode,
    task: e.task,
    keyword: e.keyword,
    kernelTime: e.kernelTime,
    userTime: e.userTime,
    activityId: e.activityId,
    extended: (e.extended ?? []).filter((x) => x.type !== 11 && x.type !== 12).map((x) => ({type: x.type, data: Uint8Array.from(x.data)})),
  }
}

describe.skipIf(!dir)('writer: corpus TraceLogging records re-encode byte for byte', () => {
  for (const f of FILES) {
    it(f, async () => {
      const r = await readAllEtl(join(dir!, f))
      const tl = r.events.filter((e) => e.tl !== undefined)
      expect(tl.length).toBeGreaterThan(0)
      for (const e of tl) {
        const again = encodeTlEventRecord(toWrite(e))
        expect(Buffer.from(again).toString('hex')).toBe(Buffer.from(e.recordBytes).toString('hex'))
      }
    })
  }
})

describe.skipIf(!dir)('writer: whole files', () => {
  for (const compress of [false, true]) {
    it(`re-written files read back identically (compress: ${compress})`, async () => {
      for (const f of FILES) {
        const r = await readAllEtl(join(dir!, f))
        const out = join(tmp, `${f}.${compress}.etl`)
        const w = await EtlWriter.create(out, {
          compress,
          bufferSize: r.header.bufferSize,
          startTime: r.header.startTime,
          headerTimestamp: r.header.headerTimestamp,
          perfFreq: r.header.perfFreq,
          loggerName: r.header.loggerName,
        })
        const tl = r.events.filter((e) => e.tl !== undefined)
        for (const e of tl) await w.writeTraceLogging(e.cpu, toWrite(e))
        await w.close()
        const diags: unknown[] = []
        const back = await readAllEtl(out, {onDiagnostic: (d) => diags.push(d)})
        expect(diags).toEqual([])
        expect(back.header.compressed).toBe(compress)
        expect(back.header.loggerName).toBe(r.header.loggerName)
        expect(back.stats.buffersParsedToEnd).toBe(back.stats.buffers)
        const again = back.events.filter((e) => e.tl !== undefined)
        expect(again.map((e) => [e.tsAbsNs, e.cpu, e.pid, e.tid, e.eventName, e.providerName])).toEqual(tl.map((e) => [e.tsAbsNs, e.cpu, e.pid, e.tid, e.eventName, e.providerName]))
        expect(again.map((e) => Buffer.from(e.recordBytes).toString('hex'))).toEqual(tl.map((e) => Buffer.from(e.recordBytes).toString('hex')))
        // Layout: records 8-byte aligned in their buffer; uncompressed buffers 0xFF-filled after Offset.
        for (const e of again) expect(e.posInBuffer % 8).toBe(0)
        if (!compress) {
          const raw = readFileSync(out)
          const dv = new DataView(raw.buffer, raw.byteOffset, raw.length)
          for (let o = 0; o < raw.length; ) {
            const size = dv.getUint32(o, true)
            const used = dv.getUint32(o + 0x30, true)
            expect(size).toBe(r.header.bufferSize)
            expect(raw.subarray(o + used, o + size).every((x) => x === 0xff)).toBe(true)
            o += size
          }
        }
      }
    })
  }
})

describe('writeSanEtl', () => {
  it('is the inverse of the SAN mapping (100 ns time resolution)', async () => {
    const base = 1_700_000_000_000_000_000n
    const events: Array<{record: Record<string, unknown>; tsAbsNs: bigint}> = [
      {tsAbsNs: base + 1500n, record: {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SanSpi', event: 'SpiCall', Seq: 12, Fn: 'WSPSend', Socket: '0x2a0', Overlapped: '0x7ffd1200', HEvent: '0x1f0', CompletionRoutine: '0x0', Flags: 0, BufferCount: 1, TotalLen: 4096, Buffers: [{Addr: '0x10000', Len: 4096, Handle: '0x5'}]}},
      {tsAbsNs: base + 900n, record: {pid: 4120, tid: 78, cpu: 1, provider: 'WSD.SanSpi', event: 'SpiReturn', Seq: 11, Fn: 'WSPEnumNetworkEvents', Rc: -1, Errno: 10035, NetworkEventsOut: 16, ErrorCodes: [0, 0, 0, 0, 10061, 0, 0, 0, 0, 0]}},
      {tsAbsNs: base + 2500n, record: {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SanSpi', event: 'SpiCall', Seq: 13, Fn: 'WSPIoctl', Socket: '0x2a0', IoctlGuid: '{b5367df2-cbac-11cf-95ca-00805f48a192}', IoctlCode: 3355443206}},
      {tsAbsNs: base + 2600n, record: {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SanSpi', event: 'SpiReturn', Seq: 13, Fn: 'WSPRegisterRdmaMemory', Rc: 0, Errno: 0, DescriptorOut: 'deadbeef', DescriptorLenOut: 4}},
      {tsAbsNs: base + 3000n, record: {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SanSpi', event: 'OpDone', Socket: '0x2a0', Overlapped: '0x7ffd1200', Error: 0, Bytes: 4096, Notified: true, Reason: 'normal'}},
      {tsAbsNs: base + 3100n, record: {pid: 900, tid: 5, cpu: 1, provider: 'WSD.SwitchShim', event: 'SwitchMap', AppReqId: 1, SanSocket: '0x2a0', Overlapped: ['0x10', '0x20'], RdmaRanges: [{Addr: '0x5000', Len: 100}]}},
      {tsAbsNs: base + 3200n, record: {pid: 900, tid: 5, cpu: 1, provider: 'WSD.SwitchShim', event: 'AppRequest', AppReqId: 2, AppSocket: '0x100', Kind: 'recv', Blocking: false, BufAddr: '0x5000', BufLen: 100, Note: 'extra field'}},
      {tsAbsNs: base + 3300n, record: {pid: 4120, tid: 77, cpu: 0, provider: 'WSD.SanSpi', event: 'SpiReturn', Seq: '9007199254740993', Fn: 'WSPSocket', Rc: -1, Errno: 10047}},
    ]
    for (const compress of [false, true]) {
      const path = join(tmp, `san-${compress}.etl`)
      await writeSanEtl(path, events, {compress, bufferSize: 4096})
      const f = await openSanEtl(path)
      const back: SanEtlEvent[] = []
      for await (const b of f.batches()) back.push(...b)
      await f.close()
      const sorted = [...events].sort((a, b) => (a.tsAbsNs < b.tsAbsNs ? -1 : 1))
      expect(back.map((e) => e.record)).toEqual(sorted.map((e) => e.record))
      expect(back.map((e) => e.tsAbsNs)).toEqual(sorted.map((e) => e.tsAbsNs))
      expect(f.san.otherProviders.get('EventTrace')).toBe(1)
    }
  })

  it('streams through SanEtlWriter: events earlier than the start time (within an hour) keep their times', async () => {
    const start = 1_700_000_000_000_000_000n
    const rec = (seq: number): Record<string, unknown> => ({pid: 7, tid: 1, cpu: 0, provider: 'WSD.SanSpi', event: 'SpiCall', Seq: seq, Fn: 'WSPSend', Socket: '0x2a0'})
    const times = [start, start + 100n, start - 59n * 60n * 1_000_000_000n, start + 5_000_000_000n]
    const path = join(tmp, 'stream.etl')
    const w = await SanEtlWriter.create(path, start, {bufferSize: 4096})
    for (let i = 0; i < times.length; i++) await w.write({record: rec(i + 1), tsAbsNs: times[i]})
    await expect(w.write({record: rec(9), tsAbsNs: start - 61n * 60n * 1_000_000_000n})).rejects.toThrow(/more than an hour before the trace start/)
    await w.close()
    const back = (await readAllEtlSan(path)).map((e) => [e.record.Seq, e.tsAbsNs])
    // Written in the order given, each with its own time (santrace's ingestion re-sorts them).
    expect(back).toEqual(times.map((t, i) => [i + 1, t]))
  })
})

async function readAllEtlSan(path: string): Promise<SanEtlEvent[]> {
  const f = await openSanEtl(path)
  const out: SanEtlEvent[] = []
  for await (const b of f.batches()) out.push(...b)
  await f.close()
  return out
}
