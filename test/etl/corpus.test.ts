/** Ground truth of /work/shared/corpus/etl/SOURCES.md, file by file. */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {openEtl, readAllEtl, unixNsToFileTime, type EtlEvent, type EtlFileHeader, type EtlStats} from '../../src/etl/index.js'
import {corpusDir, requireShared} from '../helpers/shared.js'

const dir = requireShared('ETL corpus', corpusDir())

interface Parsed {
  header: EtlFileHeader
  stats: EtlStats
  events: EtlEvent[]
  diags: number
}
const cache = new Map<string, Promise<Parsed>>()
function parse(name: string, order: 'time' | 'file' = 'time'): Promise<Parsed> {
  const key = `${name}|${order}`
  let p = cache.get(key)
  if (!p) {
    p = (async () => {
      let diags = 0
      const r = await readAllEtl(join(dir!, name), {order, onDiagnostic: () => diags++})
      return {...r, diags}
    })()
    cache.set(key, p)
  }
  return p
}

const ft = (e: EtlEvent): bigint => unixNsToFileTime(e.tsAbsNs)
const relMs = (e: EtlEvent): string => (e.tsNs / 1e6).toFixed(3)
const count = (events: EtlEvent[], pred: (e: EtlEvent) => boolean): number => events.reduce((n, e) => n + (pred(e) ? 1 : 0), 0)
function kinds(s: EtlStats): Record<string, number> {
  return Object.fromEntries(Object.entries(s.recordsByKind).filter(([, v]) => v > 0))
}

/** Every corpus file: record counts by header kind (SOURCES.md OBSERVED/UPSTREAM). */
const EXPECTED_KINDS: Record<string, Record<string, number>> = {
  'perfview_SelfDescribingSingleEvent.etl': {system: 4, full: 18, 'event-header': 1},
  'perfview_primitive-types.etl': {system: 2, 'event-header': 5},
  'perfview_gcevents.etl': {system: 2, 'event-header': 69},
  'perfview_gcrundownevents.etl': {system: 2, 'event-header': 110},
  'perfview_net.4.5.2.x64.etl': {system: 3189 + 2, perfinfo: 100157, full: 7956 + 27, 'event-header': 33378 + 34765},
  'tx_HTTP_Server.etl': {system: 1, 'event-header': 2041},
  'tx_Process.etl': {system: 1, 'event-header': 10343},
  'tx_KernelNetwork.etl': {system: 1, 'event-header': 8923},
  'tx_BondEtwSample.etl': {system: 1, 'event-header': 12},
  'airbus_AMSITrace.etl': {system: 2, 'event-header': 19},
  'airbus_ShutdownPerfDiagLogger.etl': {system: 8433, perfinfo: 8645},
  'airbus_lxcore_kernel.etl': {system: 2, 'event-header': 2},
  'krabsetw_powershell.etl': {system: 2, 'event-header': 112},
  's4_waasmedic.20251005.etl': {system: 2, perfinfo: 2, 'event-header': 17},
  's4_SIH.20230422.etl': {system: 2, 'event-header': 10},
  's4_OneDrive_CldFlt0.etl': {system: 2, perfinfo: 2, wpp: 13},
  's4_OneDrive_CldFlt1.etl': {system: 2, perfinfo: 2, wpp: 3},
  's4_OneDrive_CldFlt2.etl': {system: 2},
}

describe.skipIf(!dir)('ETL corpus', () => {
  describe('every file', () => {
    for (const [name, exp] of Object.entries(EXPECTED_KINDS)) {
      it(`${name}: parses every buffer to its end, record kinds`, async () => {
        const r = await parse(name)
        expect(r.diags).toBe(0)
        expect(r.stats.diagnostics).toBe(0)
        expect(r.stats.buffersParsedToEnd).toBe(r.stats.buffers)
        expect(r.stats.skippedRecords).toBe(0)
        expect(r.stats.skippedBytes).toBe(0)
        expect(kinds(r.stats)).toEqual(exp)
        expect(r.events.length).toBe(r.stats.records)
        expect(r.header.present).toBe(true)
        // Global time order: timestamps never decrease.
        for (let i = 1; i < r.events.length; i++) if (r.events[i].tsNs < r.events[i - 1].tsNs) throw new Error(`order broken at ${i}`)
        // Memory: at most one decoded buffer per CPU at a time.
        const cpus = new Set(r.events.map((e) => e.cpu)).size
        expect(r.stats.maxLiveBuffers).toBeLessThanOrEqual(Math.max(cpus, 1) + 1)
      })
    }

    it('file order yields the same records as time order', async () => {
      for (const name of ['tx_Process.etl', 'perfview_net.4.5.2.x64.etl', 'airbus_lxcore_kernel.etl']) {
        const a = await parse(name, 'time')
        const b = await parse(name, 'file')
        expect(b.events.length).toBe(a.events.length)
        const key = (e: EtlEvent): string => `${e.bufferOffset}:${e.posInBuffer}`
        expect(new Set(b.events.map(key))).toEqual(new Set(a.events.map(key)))
      }
    })
  })

  describe('perfview_SelfDescribingSingleEvent.etl (compressed, relogged, TL struct)', () => {
    let r: Parsed
    beforeAll(async () => {
      r = await parse('perfview_SelfDescribingSingleEvent.etl')
    })
    it('header', () => {
      const h = r.header
      expect(h.loggerName).toBe('Relogger')
      expect(h.logFileName).toBe('[multiple files]')
      expect(h.logFileMode).toBe(0x04010001)
      expect(h.compressed).toBe(true)
      expect(h.compressionFormat).toBe(3)
      expect(h.providerVersion).toBe(22000)
      expect(h.numberOfProcessors).toBe(12)
      expect(h.perfFreq).toBe(10_000_000n)
      expect(h.clockType).toBe(1)
    })
    it('buffers: unaligned, variable on-disk size', async () => {
      const f = await openEtl(join(dir!, 'perfview_SelfDescribingSingleEvent.etl'))
      await f.close()
      expect(f.buffers.map((b) => [b.offset, b.size, b.compressed, b.savedOffset])).toEqual([
        [0, 1024, false, 440],
        [1024, 6153, true, 7168],
        [7177, 226, true, 240],
      ])
      expect(f.buffers[0].end).toBe(520)
    })
    it('the TraceLogging event', () => {
      const e = r.events.find((x) => x.kind === 'event-header')!
      expect(e.providerGuid).toBe('a61ea624-4944-55fc-c2a8-37838829438d')
      expect(e.providerName).toBe('MySource')
      expect(e.eventName).toBe('TestEvent')
      expect([e.id, e.version, e.channel, e.level]).toEqual([3, 0, 11, 5])
      expect([e.pid, e.tid, e.cpu]).toEqual([111592, 52284, 1])
      expect(e.timestampRaw).toBe(6459804190760n)
      expect(ft(e)).toBe(132949636365904094n)
      expect(new Date(Number(e.tsAbsNs / 1_000_000n)).toISOString()).toBe('2022-04-20T21:27:16.590Z')
      expect(e.extended!.map((x) => [x.type, x.data.length])).toEqual([
        [12, 11],
        [11, 23],
      ])
      expect(e.userDataLength).toBe(26)
      expect(e.fields).toEqual({a: {b: 'Hello', c: 'World!'}})
      expect(e.fieldsError).toBeUndefined()
      expect(e.tl!.fields.map((f) => [f.name, f.inType])).toEqual([
        ['a', 24],
        ['b', 1],
        ['c', 1],
      ])
    })
  })

  describe('perfview_primitive-types.etl (every primitive TL type)', () => {
    let r: Parsed
    beforeAll(async () => {
      r = await parse('perfview_primitive-types.etl')
    })
    it('header (baseline line 1)', () => {
      const h = r.header
      expect(h.dataLength).toBe(366)
      expect(h.bufferSize).toBe(8192)
      expect(h.version).toBe(83951626)
      expect(h.providerVersion).toBe(19043)
      expect(h.numberOfProcessors).toBe(8)
      expect(h.timerResolution).toBe(156250)
      expect(h.maximumFileSize).toBe(0)
      expect(h.logFileMode).toBe(0)
      expect(h.buffersWritten).toBe(2)
      expect(h.startBuffers).toBe(1)
      expect(h.pointerSize).toBe(8)
      expect(h.eventsLost).toBe(0)
      expect(h.cpuSpeedMHz).toBe(2304)
      expect(h.perfFreq).toBe(10_000_000n)
      expect(h.clockType).toBe(1)
      expect(h.buffersLost).toBe(0)
      expect(h.loggerName).toBe('solar_system')
      expect(h.logFileName.startsWith('C:\\primitive-types_0')).toBe(true)
      expect(h.timeZone.bias).toBe(-120) // UtcOffsetMinutes=-120
      const hdr = r.events[0]
      expect([hdr.kind, hdr.hookId, hdr.pid, hdr.tid, hdr.cpu, hdr.userDataLength]).toEqual(['system', 0, 39096, 29376, 0, 366])
    })
    it('five PrimitiveTypesTest events with baseline times, ids and fields', () => {
      const ev = r.events.filter((e) => e.eventName === 'PrimitiveTypesTest')
      expect(ev.length).toBe(5)
      expect(ev.map(relMs)).toEqual(['2942.306', '3381.259', '3814.002', '4190.408', '4626.652'])
      expect(ev.map((e) => e.userDataLength)).toEqual([78, 76, 76, 75, 78])
      expect(ev.map((e) => e.fields!.string_type)).toEqual(['Mercury', 'Venus', 'Earth', 'Mars', 'Jupiter'])
      for (const e of ev) expect([e.pid, e.tid, e.cpu, e.providerName, e.providerGuid]).toEqual([33984, 21768, 2, 'solar_system', 'd3dd3dd4-aac2-4e2a-8dd4-a8fb61b77615'])
      const f = ev[0].fields!
      expect(f).toEqual({
        string_type: 'Mercury',
        boolean_type: false,
        char_type: 77,
        int16_type: -51,
        int32_type: -102,
        uint16_type: 51,
        uint32_type: 102,
        int64_type: 18446744073709551412n, // declared UINT64 (PerfView prints -204)
        uint64_type: 204, // 64-bit integers decode to numbers when exact
        guid_type: '0ad614c4-0ef4-4225-8013-f44f37cb0397',
        file_time_type: 132756731757990000n, // 21/09/09 14:59:35.799
        system_time_type: {year: 2021, month: 9, dayOfWeek: 4, day: 9, hour: 14, minute: 59, second: 35, milliseconds: 799},
      })
      expect(ev[1].fields!.boolean_type).toBe(true)
      expect(ev.map((e) => BigInt.asIntN(64, BigInt(e.fields!.int64_type as bigint)))).toEqual([-204n, -380n, -260n, -116n, -276n])
      const types = ev[0].tl!.fields.map((x) => [x.name, x.inType, x.outType])
      expect(types).toEqual([
        ['string_type', 2, 0],
        ['boolean_type', 4, 3],
        ['char_type', 4, 2],
        ['int16_type', 5, 0],
        ['int32_type', 7, 0],
        ['uint16_type', 6, 0],
        ['uint32_type', 8, 0],
        ['int64_type', 10, 0],
        ['uint64_type', 10, 0],
        ['guid_type', 15, 0],
        ['file_time_type', 17, 0],
        ['system_time_type', 18, 0],
      ])
    })
  })

  describe('PerfView baselines: every EVENT line has a record (relative ms, ProceNum, DataLen, PID/TID)', () => {
    for (const name of ['perfview_primitive-types', 'perfview_gcevents', 'perfview_gcrundownevents', 'perfview_net.4.5.2.x64']) {
      it(name, async () => {
        const r = await parse(`${name}.etl`)
        const full = new Set<string>()
        const partial = new Set<string>()
        for (const e of r.events) {
          full.add(`${relMs(e)}|${e.pid | 0}|${e.tid | 0}|${e.cpu}|${e.userDataLength}`)
          partial.add(`${relMs(e)}|${e.cpu}|${e.userDataLength}`)
        }
        const lines = readFileSync(join(dir!, `${name}.baseline.txt`), 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('EVENT'))
        expect(lines.length).toBeGreaterThan(0)
        const missing: string[] = []
        for (const l of lines) {
          const m = /^EVENT ([\d,.-]+): (.+?) PID=(-?\d+); TID=(-?\d+); PName=[^;]*; ProceNum=(\d+); DataLen=(\d+);/.exec(l)
          if (!m) throw new Error(`unparsed baseline line ${l}`)
          const rel = Number(m[1].replace(/,/g, ''))
          const cands = [rel, rel + 0.001, rel - 0.001].map((x) => x.toFixed(3))
          // Kernel events: PerfView substitutes PID/TID from the payload, so match without them.
          const ok = m[2].startsWith('Windows Kernel')
            ? cands.some((c) => partial.has(`${c}|${m[5]}|${m[6]}`))
            : cands.some((c) => full.has(`${c}|${m[3]}|${m[4]}|${m[5]}|${m[6]}`))
          if (!ok) missing.push(l.slice(0, 120))
        }
        expect(missing).toEqual([])
        // COUNT lines of events the decoder can name (TraceLogging provider/event names).
        const named = new Map<string, number>()
        for (const e of r.events) if (e.providerName && e.eventName) named.set(`${e.providerName}/${e.eventName}`, (named.get(`${e.providerName}/${e.eventName}`) ?? 0) + 1)
        const counts = readFileSync(join(dir!, `${name}.baseline.txt`), 'utf8')
          .split('\n')
          .map((l) => /^COUNT (.+):(\d+)$/.exec(l.trim()))
          .filter((m): m is RegExpExecArray => m !== null && named.has(m[1]))
        for (const m of counts) expect([m[1], named.get(m[1])]).toEqual([m[1], Number(m[2])])
        if (name === 'perfview_primitive-types') expect(counts.map((m) => m[1])).toEqual(['solar_system/PrimitiveTypesTest'])
      })
    }
  })

  describe('perfview_gcevents.etl / gcrundownevents.etl (manifest events, circular)', () => {
    it('gcevents header, first event and per-id counts (= baseline histogram)', async () => {
      const r = await parse('perfview_gcevents.etl')
      const h = r.header
      expect([h.dataLength, h.bufferSize, h.version, h.providerVersion, h.numberOfProcessors, h.timerResolution, h.maximumFileSize]).toEqual([392, 65536, 83951626, 19045, 8, 156250, 800])
      expect([h.logFileMode, h.buffersWritten, h.startBuffers, h.pointerSize, h.eventsLost, h.cpuSpeedMHz, h.clockType]).toEqual([134217730, 5, 1, 8, 0, 3408, 1])
      expect(h.perfFreq).toBe(10_000_000n)
      expect(h.loggerName).toBe('PerfViewSession')
      expect(h.timeZone.bias).toBe(480) // UtcOffsetMinutes=480
      expect(r.events.slice(0, 2).map((e) => e.hookId)).toEqual([0x0000, 0x0050])
      const clr = r.events.filter((e) => e.providerGuid === 'e13c0d23-ccbc-4e12-931b-d9cc2eee27e4')
      expect(clr.length).toBe(69)
      const first = clr[0]
      expect([first.id, relMs(first), first.cpu, first.userDataLength, first.pid, first.tid]).toEqual([187, '8184.674', 4, 203, 179596, 168672])
      const byId = (id: number): number => count(clr, (e) => e.id === id)
      // AllocationTick 12, CreateSegment 7, FinalizeObject 6, FinalizersStart/Stop 3, MarkWithType 13, Start 2, Stop 2, Runtime/Start 1
      expect([byId(10), byId(5), byId(29), byId(14), byId(13), byId(202), byId(1), byId(2), byId(187)]).toEqual([12, 7, 6, 3, 3, 13, 2, 2, 1])
    })
    it('gcrundownevents header, first event, per-id counts', async () => {
      const r = await parse('perfview_gcrundownevents.etl')
      expect([r.header.dataLength, r.header.buffersWritten, r.header.logFileMode]).toEqual([428, 2, 134217729])
      const ev = r.events.filter((e) => e.kind === 'event-header')
      expect(new Set(ev.map((e) => e.providerGuid))).toEqual(new Set(['a669021c-c450-4609-a035-5af59af4df18']))
      expect(new Set(r.events.map((e) => e.cpu))).toEqual(new Set([0]))
      const first = ev[0]
      expect([first.id, relMs(first), first.pid, first.tid, first.cpu, first.userDataLength]).toEqual([187, '40.384', 179596, 179828, 0, 203])
      const ids: Record<number, number> = {}
      for (const e of ev) ids[e.id] = (ids[e.id] ?? 0) + 1
      expect(ids).toEqual({10: 1, 144: 80, 146: 2, 148: 2, 152: 7, 154: 7, 156: 7, 158: 1, 187: 2, 280: 1})
    })
  })

  describe('perfview_net.4.5.2.x64.etl (merged, compressed, 32/64-bit records)', () => {
    let r: Parsed
    beforeAll(async () => {
      r = await parse('perfview_net.4.5.2.x64.etl')
    })
    it('header and buffers', async () => {
      const h = r.header
      expect([h.logFileMode, h.versionMajor, h.versionMinor, h.providerVersion, h.numberOfProcessors, h.dataLength, h.buffersWritten]).toEqual([0x04010001, 6, 2, 9200, 8, 332, 360])
      expect(h.perfFreq).toBe(10_000_000n)
      expect(r.stats.buffers).toBe(360)
      expect(r.stats.compressedBuffers).toBe(359)
      expect(r.events.length).toBe(179474)
    })
    it('record kinds by header type (32- and 64-bit)', () => {
      const byType: Record<number, number> = {}
      for (const e of r.events) byType[e.headerType] = (byType[e.headerType] ?? 0) + 1
      expect(byType).toEqual({0x02: 3189, 0x01: 2, 0x11: 100157, 0x14: 7956, 0x0a: 27, 0x12: 33378, 0x13: 34765})
      expect(count(r.events, (e) => e.headerType === 0x12 && e.pointerSize === 4)).toBe(33378)
    })
    it('counts per provider/id agree with the baseline histogram', () => {
      const c = (guid: string, pred: (e: EtlEvent) => boolean): number => count(r.events, (e) => e.providerGuid === guid && pred(e))
      const IMAGEID = 'b3e675d7-2554-4f18-830b-2762732560de'
      const METADATA = 'bbccf6c1-6cd1-48c4-80ff-839482e37671'
      const CLR = 'e13c0d23-ccbc-4e12-931b-d9cc2eee27e4'
      expect(c(IMAGEID, (e) => e.opcode === 0)).toBe(3590) // ImageID
      expect(c(IMAGEID, (e) => e.opcode === 36)).toBe(3534) // DbgID_RSDS
      expect(c(IMAGEID, (e) => e.opcode === 64)).toBe(705) // FileVersion
      expect(c(METADATA, (e) => e.opcode === 32)).toBe(61) // EventInfo
      expect(c(METADATA, (e) => e.opcode === 33)).toBe(24) // EventMapInfo
      expect(c(CLR, (e) => e.id === 10)).toBe(10382) // GC/AllocationTick
      expect(c(CLR, (e) => e.id === 23)).toBe(2112) // GC/GenerationRange
      expect(c(CLR, (e) => e.id === 1)).toBe(528) // GC/Start
      expect(c(CLR, (e) => e.id === 145)).toBe(290) // Method/JittingStarted
      expect(c(CLR, (e) => e.id === 143)).toBe(290) // Method/LoadVerbose
      expect(c('3d6fa8d4-fe05-11d0-9dda-00c04fd7ba7c', (e) => e.opcode === 10)).toBe(1208) // DiskIO/Read
      expect(c('edd08927-9cc4-4e65-b970-c2560fb5c289', (e) => e.id === 12)).toBe(562) // Kernel-File/Create
    })
    it('first lines of the baseline', () => {
      const dbg = r.events.find((e) => relMs(e) === '28.609' && e.providerGuid === 'b3e675d7-2554-4f18-830b-2762732560de' && e.opcode === 36)!
      expect([dbg.pid, dbg.tid | 0, dbg.cpu, dbg.userDataLength]).toEqual([4, -1, 7, 43])
      const plat = r.events.find((e) => relMs(e) === '9975.128' && e.cpu === 1 && e.userDataLength === 112)!
      expect([plat.pid, plat.tid, plat.providerGuid]).toEqual([3988, 3784, '01853a65-418f-4f36-aefc-dc0f1d2fd235'])
      const kb = r.events.find((e) => relMs(e) === '9975.283' && e.cpu === 1 && e.userDataLength === 8)!
      expect([kb.pid | 0, kb.tid | 0, kb.kind]).toEqual([-1, -1, 'perfinfo'])
      const dv = new DataView(kb.payloadBytes.buffer, kb.payloadBytes.byteOffset, 8)
      expect(dv.getBigUint64(0, true)).toBe(0xfffff80021489000n)
    })
    it('extended items: STACK_TRACE64 and RELATED_ACTIVITYID', () => {
      const types = new Set<number>()
      for (const e of r.events) for (const x of e.extended ?? []) types.add(x.type)
      expect(types.has(6)).toBe(true)
      expect(types.has(1)).toBe(true)
    })
  })

  describe('Tx traces (Windows 7 quirks, odd QPC frequencies)', () => {
    it('tx_HTTP_Server.etl: first event, counts, Parse events', async () => {
      const r = await parse('tx_HTTP_Server.etl')
      expect(r.header.perfFreq).toBe(1_818_300n)
      expect(r.header.providerVersion).toBe(7601)
      const ev = r.events.filter((e) => e.providerGuid !== '68fdd900-4a3e-11d1-84f4-0000f80464e3')
      expect(ev.length).toBe(2041)
      const e = ev[0]
      expect(e.providerGuid).toBe('dd5ef90a-6398-47a4-ad34-4dcecdef795f')
      expect([e.id, e.version, e.channel, e.level, e.opcode, e.task]).toEqual([21, 0, 16, 4, 28, 4])
      expect(e.keyword).toBe(9223372036854775824n)
      expect([e.pid, e.tid, e.size, e.userDataLength, e.eventProperty, e.flags]).toEqual([0, 0, 152, 72, 0, 0])
      expect(e.kernelTime + 0 * e.userTime).toBeTypeOf('number')
      expect(e.activityId).toBe('00000100-0000-0003-193d-42fb30bbcb01')
      expect(e.extended).toBeUndefined()
      expect(ft(e)).toBe(129402940472257591n)
      const byId = (id: number): number => count(ev, (x) => x.id === id)
      expect([byId(2), byId(12), byId(3), byId(8)]).toEqual([291, 289, 291, 289])
      expect(new Set(ev.map((x) => `${x.id}/${x.version}`)).size).toBe(12)
      const parses = ev.filter((x) => x.id === 2)
      // 291 records carry a RELATED_ACTIVITYID item. SOURCES.md says "exactly the Parse events";
      // by the manifest they are the id-1 events (RecvReq), as many as the Parse events.
      const related = ev.filter((x) => x.relatedActivityId !== undefined)
      expect(related.length).toBe(291)
      expect(new Set(related.map((x) => x.id))).toEqual(new Set([1]))
      expect(related[0].extended!.map((x) => [x.type, x.data.length])).toEqual([[1, 16]])
      // First Parse: RequestObj (pointer), HttpVerb 4, Url (not NUL-terminated).
      const p = parses[0]
      expect(p.userDataLength).toBe(70)
      const u = p.payloadBytes
      const dv = new DataView(u.buffer, u.byteOffset, u.length)
      expect(dv.getBigUint64(0, true)).toBe(18446738026454074672n)
      expect(dv.getUint32(8, true)).toBe(4)
      expect(Buffer.from(u.subarray(12)).toString('utf16le')).toBe('http://georgis2:80/windir.txt')
      // The first 13 Parse events fall 7 + 6 into two consecutive one-second windows.
      const secs = parses.slice(0, 13).map((x) => Math.floor((x.tsNs - parses[0].tsNs) / 1e9))
      expect([secs.filter((s) => s === 0).length, secs.filter((s) => s === 1).length]).toEqual([7, 6])
      // Windows 7: CPU from the ProcessorNumber byte (not 0x0800 + n).
      expect(Math.max(...r.events.map((x) => x.cpu))).toBeLessThan(r.header.numberOfProcessors)
    })
    it('tx_Process.etl: per-id counts', async () => {
      const r = await parse('tx_Process.etl')
      const ev = r.events.filter((e) => e.providerGuid === '22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716')
      expect(ev.length).toBe(10343)
      const ids: Record<string, number> = {}
      for (const e of ev) ids[`${e.id}/${e.version}`] = (ids[`${e.id}/${e.version}`] ?? 0) + 1
      expect(ids).toMatchObject({'8/0': 5088, '6/0': 1153, '5/0': 1115, '9/0': 838, '7/0': 810, '10/0': 780, '3/1': 287, '4/1': 264, '1/0': 4, '2/1': 4})
    })
    it('tx_KernelNetwork.etl: per-id counts', async () => {
      const r = await parse('tx_KernelNetwork.etl')
      const ev = r.events.filter((e) => e.providerGuid === '7dd42a49-5329-4832-8dfd-43d979153a88')
      const ids: Record<number, number> = {}
      for (const e of ev) ids[e.id] = (ids[e.id] ?? 0) + 1
      expect(ids).toEqual({11: 7968, 10: 575, 43: 149, 27: 134, 59: 61, 26: 26, 42: 8, 29: 2})
    })
    it('tx_BondEtwSample.etl: in-band EventSource manifest', async () => {
      const r = await parse('tx_BondEtwSample.etl')
      expect(r.header.perfFreq).toBe(2_630_627n)
      expect(r.header.bufferSize).toBe(1 << 20)
      const ev = r.events.filter((e) => e.kind === 'event-header')
      expect(new Set(ev.map((e) => e.providerGuid))).toEqual(new Set(['4f8f06bf-8261-4099-ae5f-07c54bbcfab3']))
      const man = ev.find((e) => e.id === 65534)!
      expect([man.version, man.task, man.opcode, man.userDataLength]).toEqual([1, 0xfffe, 0xfe, 6329])
      expect(Buffer.from(man.payloadBytes.subarray(0, 8)).toString('hex')).toBe('0101005b01000000')
      expect(Buffer.from(man.payloadBytes.subarray(8, 33)).toString('utf8')).toBe('<instrumentationManifest ')
      expect(ev.filter((e) => e.id === 1).map((e) => e.userDataLength)).toEqual(Array(10).fill(156))
      expect(ev.filter((e) => e.id === 3).map((e) => e.userDataLength)).toEqual([352])
    })
  })

  describe('airbus files', () => {
    it('airbus_AMSITrace.etl: AmsiScript TraceLogging events', async () => {
      const r = await parse('airbus_AMSITrace.etl')
      expect([r.header.providerVersion, r.header.numberOfProcessors, r.header.eventsLost]).toEqual([18362, 8, 3])
      const ev = r.events.filter((e) => e.kind === 'event-header')
      expect(ev.length).toBe(19)
      for (const e of ev) {
        expect([e.providerName, e.providerGuid, e.eventName, e.fieldsError]).toEqual(['AmsiTrace', '8e805eb3-6a8f-4a1e-90fa-a831d94e54a1', 'AmsiScript', undefined])
        expect(Object.keys(e.fields!)).toEqual(['Engine', 'Script', 'Raw Script'])
        expect(String.fromCharCode(...(e.fields!['Raw Script'] as number[]))).toBe(e.fields!.Script)
      }
      const ga = ev.find((e) => e.fields!.Script === 'Get-Alias')!
      expect(ga.fields!['Raw Script']).toEqual([71, 101, 116, 45, 65, 108, 105, 97, 115])
      expect(ev[0].tl!.fields.map((f) => [f.name, f.inType, f.arity, f.outType])).toEqual([
        ['Engine', 1, 0, 0],
        ['Script', 1, 0, 0],
        ['Raw Script', 6, 0x40, 2],
      ])
    })
    it('airbus_ShutdownPerfDiagLogger.etl: classic kernel groups', async () => {
      const r = await parse('airbus_ShutdownPerfDiagLogger.etl')
      expect(r.stats.buffers).toBe(49)
      expect(r.header.numberOfProcessors).toBe(2)
      const groups = new Set(r.events.map((e) => e.hookId >>> 8))
      for (const g of [0x14, 0x05, 0x03]) expect(groups.has(g)).toBe(true)
      const img = r.events.filter((e) => e.hookId >>> 8 === 0x14)
      for (const op of [2, 3, 4]) expect(img.some((e) => e.opcode === op && e.version === 3)).toBe(true)
      expect(img[0].providerName).toBe('Image')
      const thr = r.events.filter((e) => e.hookId >>> 8 === 0x05)
      expect([...new Set(thr.map((e) => e.opcode))].sort()).toEqual([1, 2, 3, 4])
    })
    it('airbus_lxcore_kernel.etl: BreakPoint events, group GUID trait, CountedAnsiString', async () => {
      const r = await parse('airbus_lxcore_kernel.etl', 'file')
      const ev = r.events.filter((e) => e.kind === 'event-header')
      expect(ev.map((e) => e.eventName)).toEqual(['BreakPoint', 'BreakPoint'])
      const e = ev[0]
      expect(e.providerGuid).toBe('0cd1c309-0878-4515-83db-749843b3f5c9')
      expect(e.providerName).toBe('Microsoft.Windows.Subsystem.LxCore')
      expect(e.tlProvider!.traits.map((t) => [t.type, t.data.length])).toEqual([[1, 16]])
      expect(e.tlProvider!.groupGuid).toMatch(/^[0-9a-f-]{36}$/)
      expect(e.tl!.fields.map((f) => [f.name, f.inType])).toEqual([
        ['ErrorLevel', 4],
        ['instanceId', 15],
        ['LxPid', 7],
        ['LxTid', 7],
        ['LxNs', 7],
        ['ExecutablePath', 23],
        ['Function', 2],
        ['Line', 8],
        ['Message', 2],
      ])
      expect(e.fields).toMatchObject({Function: 'LxpInstanceStart', Line: 2659, Message: '[0xc0000034] LxpInstanceInitialize\n', ExecutablePath: ''})
      // In time order the other CPU's event comes first.
      const t = (await parse('airbus_lxcore_kernel.etl')).events.filter((x) => x.kind === 'event-header')
      expect(t.map((x) => x.fields!.Function)).toEqual(['LxpDrvFsTypeMount', 'LxpInstanceStart'])
    })
  })

  it('krabsetw_powershell.etl: manifest events, ids', async () => {
    const r = await parse('krabsetw_powershell.etl')
    expect([r.header.providerVersion, r.header.numberOfProcessors]).toEqual([22623, 32])
    const ev = r.events.filter((e) => e.kind === 'event-header')
    expect(new Set(ev.map((e) => e.providerGuid))).toEqual(new Set(['a0c1853b-5c40-4b15-8766-3cf1c58f985a']))
    const ids: Record<string, number> = {}
    for (const e of ev) ids[e.id] = (ids[e.id] ?? 0) + 1
    expect(ids).toEqual({7937: 101, 7939: 6, 7938: 1, 7942: 1, 40961: 1, 40962: 1, 53504: 1})
    expect(count(ev, (e) => e.id === 7937 && e.version === 1)).toBe(101)
    expect(new Set(ev.filter((e) => e.id === 7937).map((e) => e.channel))).toEqual(new Set([17]))
    expect([ev[0].id, ev[0].userDataLength]).toEqual([7937, 1368])
  })

  describe('s4 files (Windows 11)', () => {
    it('s4_waasmedic: header, header-buffer records past SavedOffset, TL events', async () => {
      const r = await parse('s4_waasmedic.20251005.etl')
      const h = r.header
      expect([h.bufferSize, h.version, h.providerVersion, h.numberOfProcessors, h.logFileMode, h.buffersWritten, h.pointerSize, h.cpuSpeedMHz, h.clockType]).toEqual([
        0x2000, 0x501000a, 0x5867, 1, 0x11002002, 2, 8, 0x118b, 1,
      ])
      expect(h.perfFreq).toBe(0x989680n)
      expect(h.startTime).toBe(0x1dc35eb6deb9a24n)
      expect(h.loggerName).toBe('ECCB175F-1EB2-43DA-BFB5-A8D58A40A4D7')
      expect(h.logFileName).toBe('C:\\Windows\\logs\\waasmedic\\waasmedic.20251005_113019_195.etl')
      expect(r.events.length).toBe(21)
      expect(r.events.slice(1, 4).map((e) => [e.kind, e.opcode])).toEqual([
        ['system', 80],
        ['perfinfo', 66],
        ['perfinfo', 64],
      ])
      const build = Buffer.from(r.events[2].payloadBytes)
      expect(build.toString('latin1')).toBe('22621.1.amd64fre.ni_release.220506-1250\0')
      expect(Buffer.from(r.events[3].payloadBytes).toString('latin1')).toContain('WaaSMedicSvcImpl.pdb')
      const iso = (e: EtlEvent): string => new Date(Number(e.tsAbsNs / 1_000_000n)).toISOString()
      expect(iso(r.events[0])).toBe('2025-10-05T11:30:19.201Z')
      expect(iso(r.events[20])).toBe('2025-10-05T11:31:19.384Z')
      const tl = r.events.filter((e) => e.kind === 'event-header')
      expect(tl.length).toBe(17)
      expect(new Set(tl.map((e) => e.eventName))).toEqual(new Set(['Info', 'Warning']))
      expect(tl[0].providerGuid).toBe('30d25124-a468-505c-de82-8411646eb8b5')
      expect(tl[0].providerName).toBe('Microsoft.Windows.WaaSMedic.Local')
      expect(tl[0].fields).toEqual({m: '** Service starting **'})
      expect(ft(tl[0])).toBe(134041374192020528n)
    })
    it('s4_SIH: TraceLogging SIH events', async () => {
      const r = await parse('s4_SIH.20230422.etl')
      const tl = r.events.filter((e) => e.kind === 'event-header')
      expect(tl.length).toBe(10)
      expect([tl[0].providerName, tl[0].providerGuid, tl[0].eventName]).toEqual(['SIHTraceLogging', '9906081d-e45a-4f41-a53f-2ac2e0225de1', 'SIH'])
      expect(tl[0].fields).toEqual({Info: 'wmain'})
      for (const e of tl) expect(e.fieldsError).toBeUndefined()
    })
    it('s4_OneDrive_CldFlt*: WPP messages with system-time clock', async () => {
      const r0 = await parse('s4_OneDrive_CldFlt0.etl')
      expect([r0.header.clockType, r0.header.logFileMode, r0.header.providerVersion, r0.header.numberOfProcessors]).toEqual([2, 0x90000002, 26100, 1])
      // ClockType 2: raw timestamps are FILETIMEs; the header record's equals StartTime.
      expect(r0.events[0].timestampRaw).toBe(r0.header.startTime)
      const wpp = r0.events.filter((e) => e.kind === 'wpp')
      expect(wpp.length).toBe(13)
      for (const e of wpp) {
        expect([e.size, e.id, e.flags, e.userDataLength, e.pointerSize]).toEqual([60, 43, 0xaa, 20, 8])
        expect(ft(e)).toBe(e.timestampRaw) // system time clock: FILETIME == raw
      }
      // GUID, FILETIME, TID, PID in that order: the first message comes from PID 4 (System).
      const w0 = (await parse('s4_OneDrive_CldFlt0.etl', 'file')).events.find((e) => e.kind === 'wpp')!
      expect([w0.pid, w0.tid, w0.providerGuid]).toEqual([4, 244, '2818ef08-6a54-396f-2244-5a6ea4a98cf0'])
      const r1 = await parse('s4_OneDrive_CldFlt1.etl')
      expect(r1.events.length).toBe(7)
      const r2 = await parse('s4_OneDrive_CldFlt2.etl')
      expect([r2.header.buffersWritten, r2.stats.buffers, r2.events.length]).toEqual([0, 1, 2])
    })
  })
})
