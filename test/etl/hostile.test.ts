/** Hostile input: truncation, corrupt headers, lying sizes, bad metadata, bad compression, fuzzing. */
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import fc from 'fast-check'
import {afterAll, describe, expect, it} from 'vitest'
import {openEtl, readAllEtl, type EtlDiagnostic} from '../../src/etl/index.js'
import {corpusDir, requireShared} from '../helpers/shared.js'
import {Bytes, etlFile, tlEventMeta, tlRecord} from './builder.js'

const dir = requireShared('ETL corpus', corpusDir())
const tmp = mkdtempSync(join(tmpdir(), 'santrace-etl-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))
let n = 0
function tmpFile(bytes: Uint8Array): string {
  const p = join(tmp, `f${n++}.etl`)
  writeFileSync(p, bytes)
  return p
}

async function run(bytes: Uint8Array, opts: {order?: 'time' | 'file'} = {}) {
  const path = tmpFile(bytes)
  const diags: EtlDiagnostic[] = []
  const r = await readAllEtl(path, {...opts, onDiagnostic: (d) => diags.push(d)})
  for (const d of diags) {
    expect(d.file).toBe(path)
    expect(Number.isInteger(d.offset)).toBe(true)
    expect(d.offset).toBeGreaterThanOrEqual(0)
    expect(d.offset).toBeLessThanOrEqual(bytes.length)
    expect(d.message.length).toBeGreaterThan(0)
  }
  return {...r, diags, path}
}

/** A synthetic file: header buffer + 3 buffers per CPU of TraceLogging events on CPUs 0 and 1. */
const meta = tlEventMeta('Ev', [
  {name: 'n', inType: 8},
  {name: 's', inType: 1},
])
function ev(i: number): Uint8Array {
  const ud = new Bytes().u32(i).wstr(`event number ${i}`).bytes()
  return tlRecord({providerName: 'Test.Provider', meta, ts: 2000n + BigInt(i) * 10n, pid: 10, tid: 20, userData: ud})
}
const recsPerCpu = 40
const sample = etlFile({
  bufferSize: 2048,
  cpus: {
    0: Array.from({length: recsPerCpu}, (_, i) => ev(2 * i)),
    1: Array.from({length: recsPerCpu}, (_, i) => ev(2 * i + 1)),
  },
})
const BS = 2048

describe('synthetic file sanity', () => {
  it('parses cleanly, time-ordered across CPUs', async () => {
    const r = await run(sample)
    expect(r.diags).toEqual([])
    const tl = r.events.filter((e) => e.kind === 'event-header')
    expect(tl.length).toBe(2 * recsPerCpu)
    expect(tl.map((e) => e.fields!.n)).toEqual(Array.from({length: 2 * recsPerCpu}, (_, i) => i))
    expect(r.stats.buffers).toBe(sample.length / BS)
    expect(r.stats.buffers).toBeGreaterThan(4)
  })
})

describe('hostile input', () => {
  it('truncated file (mid-buffer): parses what is there, reports the truncation', async () => {
    const cut = BS * 3 + 700
    const r = await run(sample.subarray(0, cut))
    expect(r.diags.some((d) => /truncated/.test(d.message) && d.offset === BS * 3)).toBe(true)
    const tl = r.events.filter((e) => e.kind === 'event-header')
    expect(tl.length).toBeGreaterThan(0)
    expect(tl.length).toBeLessThan(2 * recsPerCpu)
    expect(r.stats.skippedBytes).toBeGreaterThan(0)
  })

  it('truncated inside a buffer header and below 72 bytes', async () => {
    for (const cut of [BS * 2 + 30, 10, 0]) {
      const r = await run(sample.subarray(0, cut))
      if (cut > 0) expect(r.diags.length).toBeGreaterThan(0)
      if (cut < 72) expect(r.header.present).toBe(false)
    }
  })

  it('corrupt buffer header (BufferSize 0): resynchronizes at the next buffer', async () => {
    const b = sample.slice()
    new DataView(b.buffer).setUint32(BS * 2, 0, true)
    const r = await run(b)
    const d = r.diags.find((x) => /invalid BufferSize/.test(x.message))!
    expect(d.offset).toBe(BS * 2)
    expect(d.skippedBytes).toBe(BS)
    const tl = r.events.filter((e) => e.kind === 'event-header')
    const perBuf = Math.floor((BS - 72) / ((ev(0).length + 7) & ~7))
    expect(tl.length).toBe(2 * recsPerCpu - perBuf)
  })

  it('huge BufferSize: no allocation from it, diagnostic, resync', async () => {
    const b = sample.slice()
    new DataView(b.buffer).setUint32(BS, 0xfffffff0, true)
    const r = await run(b)
    expect(r.diags[0].offset).toBe(BS)
    expect(r.diags[0].expected).toMatch(/72\.\./)
    expect(r.events.filter((e) => e.kind === 'event-header').length).toBeGreaterThan(recsPerCpu)
  })

  it('record size past its buffer: that record and the rest of the buffer are skipped', async () => {
    const b = sample.slice()
    const at = BS + 72 // first record of buffer 1
    new DataView(b.buffer).setUint16(at, 0xfff0, true)
    const r = await run(b)
    const d = r.diags.find((x) => /runs .* past the end of its buffer/.test(x.message))!
    expect(d.offset).toBe(at)
    expect(d.expected).toMatch(/size <=/)
    expect(r.stats.skippedRecords).toBe(1)
    expect(r.stats.skippedBytes).toBeGreaterThan(0)
    expect(r.stats.buffersParsedToEnd).toBe(r.stats.buffers - 1)
  })

  it('record size smaller than its header', async () => {
    const b = sample.slice()
    new DataView(b.buffer).setUint16(BS + 72, 8, true)
    const r = await run(b)
    expect(r.diags.some((x) => /smaller than its 80-byte header/.test(x.message) && x.offset === BS + 72)).toBe(true)
  })

  it('unknown header type / marker', async () => {
    const b = sample.slice()
    b[BS + 72 + 2] = 0x3f
    let r = await run(b)
    expect(r.diags.some((x) => /unknown record header type 0x3f/.test(x.message) && x.offset === BS + 72)).toBe(true)
    b[BS + 72 + 3] = 0x00
    r = await run(b)
    expect(r.diags.some((x) => /unrecognized record marker/.test(x.message))).toBe(true)
  })

  it('framed-only header types (TIMED/ERROR/WNODE) are counted by kind', async () => {
    const rec = (ht: number): Uint8Array => new Bytes().u16(16).u8(ht).u8(0xc0).u32(0).u64(0n).bytes()
    const f = etlFile({cpus: {0: [rec(0x0c), rec(0x0d), rec(0x0e), ev(0)]}})
    const r = await run(f)
    expect(r.diags).toEqual([])
    expect(r.stats.recordsByKind).toMatchObject({timed: 1, error: 1, wnode: 1, 'event-header': 1})
  })

  it('lying extended item size', async () => {
    const b = sample.slice()
    const at = BS + 72 + 0x50 // first ext item of the first record of buffer 1
    new DataView(b.buffer).setUint16(at, 0x4000, true)
    const r = await run(b)
    const d = r.diags.find((x) => /extended data item/.test(x.message))!
    expect(d.offset).toBe(at)
    expect(r.events.filter((e) => e.kind === 'event-header').length).toBe(2 * recsPerCpu)
  })

  it('TraceLogging metadata pointing outside its blob', async () => {
    const bad = tlEventMeta('Ev', [{name: 'n', inType: 8}]).slice()
    new DataView(bad.buffer).setUint16(0, 500, true) // Size past the blob
    const r1 = tlRecord({providerName: 'P', meta: bad, ts: 2000n, userData: new Bytes().u32(1).bytes()})
    const unterminated = new Bytes().u16(9).u8(0).raw(Buffer.from('EvName')).bytes() // name runs to the end
    const r2 = tlRecord({providerName: 'P', meta: unterminated, ts: 2001n, userData: new Uint8Array(4)})
    const structTooBig = tlEventMeta('S', [
      {name: 'a', inType: 24, outType: 5},
      {name: 'b', inType: 8},
    ])
    const r3 = tlRecord({providerName: 'P', meta: structTooBig, ts: 2002n, userData: new Uint8Array(4)})
    const r = await run(etlFile({cpus: {0: [r1, r2, r3, r1]}}))
    const msgs = r.diags.map((d) => d.message)
    expect(msgs.filter((m) => /Size 500 points outside/.test(m)).length).toBe(1) // reported once per blob
    expect(msgs.some((m) => /not NUL-terminated/.test(m))).toBe(true)
    expect(msgs.some((m) => /declares 5 members/.test(m))).toBe(true)
    const tl = r.events.filter((e) => e.kind === 'event-header')
    expect(tl.length).toBe(4)
    for (const e of tl) expect(e.fieldsError).toMatch(/metadata/)
  })

  it('TraceLogging payload shorter than its metadata says; lying counts', async () => {
    const m = tlEventMeta('Ev', [
      {name: 'arr', inType: 8, arity: 0x40},
      {name: 'str', inType: 22},
    ])
    const short = tlRecord({providerName: 'P', meta: m, ts: 2000n, userData: new Bytes().u16(60000).u32(1).u32(2).bytes()})
    const lyingCounted = tlRecord({providerName: 'P', meta: m, ts: 2001n, userData: new Bytes().u16(1).u32(7).u16(5000).u16(0x41).bytes()})
    const r = await run(etlFile({cpus: {0: [short, lyingCounted]}}))
    const tl = r.events.filter((e) => e.kind === 'event-header')
    expect(tl.map((e) => e.fieldsError)).toEqual(['payload ends before the field', 'payload ends before the field'])
    expect(tl[1].fields!.arr).toEqual([7])
    expect(r.diags.filter((d) => /TraceLogging payload/.test(d.message)).length).toBe(2)
  })

  it('nested zero-size arrays cannot make decoding explode', async () => {
    const m = tlEventMeta('Bomb', [
      {name: 'o', inType: 24, outType: 1, arity: 0x20, ccount: 65535},
      {name: 'i', inType: 24, outType: 1, arity: 0x20, ccount: 65535},
      {name: 'z', inType: 8, arity: 0x20, ccount: 0},
    ])
    const rec = tlRecord({providerName: 'P', meta: m, ts: 2000n, userData: new Uint8Array(0)})
    const t0 = Date.now()
    const r = await run(etlFile({cpus: {0: [rec]}}))
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(r.events.find((e) => e.kind === 'event-header')!.fieldsError).toMatch(/exceed/)
  })

  it('ever-new TraceLogging metadata (one blob per event) decodes without code generation per event', async () => {
    const recs = Array.from({length: 3000}, (_, i) =>
      tlRecord({providerName: 'P', meta: tlEventMeta(`E${i}`, [{name: `f${i}`, inType: 8}]), ts: 2000n + BigInt(i), userData: new Bytes().u32(i).bytes()}),
    )
    const t0 = Date.now()
    const r = await run(etlFile({bufferSize: 65536, cpus: {0: recs}}))
    expect(Date.now() - t0).toBeLessThan(10_000)
    const tl = r.events.filter((e) => e.kind === 'event-header')
    expect(tl.length).toBe(3000)
    expect(tl.every((e, i) => e.eventName === `E${i}` && e.fields![`f${i}`] === i)).toBe(true)
  })

  it.skipIf(!dir)('compressed buffer decompressing to the wrong size', async () => {
    const src = readFileSync(join(dir!, 'perfview_SelfDescribingSingleEvent.etl'))
    // Buffer 2 (offset 1024): claim a larger uncompressed size than the stream yields.
    const a = Uint8Array.from(src)
    new DataView(a.buffer).setUint32(1024 + 4, 9000, true)
    let r = await run(a)
    const d = r.diags.find((x) => /decompressed to/.test(x.message))!
    expect(d.offset).toBe(1024 + 72)
    expect(d.expected).toMatch(/exactly 8928 bytes/)
    expect(r.events.some((e) => e.kind === 'event-header')).toBe(true) // the other buffer still parses
    // A smaller claim: the output is bounded by it; the stream's remainder is not decoded.
    const b = Uint8Array.from(src)
    new DataView(b.buffer).setUint32(1024 + 4, 72 + 100, true)
    r = await run(b)
    expect(r.events.length).toBeLessThan(23)
    // Corrupt the compressed stream itself.
    const c = Uint8Array.from(src)
    for (let i = 1024 + 80; i < 1024 + 200; i++) c[i] ^= 0x5a
    r = await run(c)
    expect(r.diags.length).toBeGreaterThan(0)
    // A lying SavedOffset beyond any sane buffer size is refused before allocating.
    const e = Uint8Array.from(src)
    new DataView(e.buffer).setUint32(1024 + 4, 0x7fffffff, true)
    r = await run(e)
    expect(r.diags.some((x) => /uncompressed size/.test(x.message) && x.offset === 1024)).toBe(true)
  })

  it.skipIf(!dir)('corrupt header buffer: no TRACE_LOGFILE_HEADER, events still read', async () => {
    const src = Uint8Array.from(readFileSync(join(dir!, 's4_SIH.20230422.etl')))
    src[72 + 6] = 0x33 // hook of the header record
    const r = await run(src)
    expect(r.header.present).toBe(false)
    expect(r.diags.some((d) => d.offset === 72 && /not a trace header record/.test(d.message))).toBe(true)
    expect(r.events.filter((e) => e.eventName === 'SIH').length).toBe(10)
  })

  it('random garbage (3 MiB): terminates quickly with diagnostics, no events', async () => {
    const g = new Uint8Array(3 << 20)
    let x = 12345
    for (let i = 0; i < g.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0
      g[i] = x >>> 24
    }
    const t0 = Date.now()
    const r = await run(g)
    expect(Date.now() - t0).toBeLessThan(10_000)
    expect(r.header.present).toBe(false)
    expect(r.diags.length).toBeGreaterThan(0)
    expect(r.stats.skippedBytes).toBeGreaterThan(0)
  })

  it('garbage between valid buffers of a regular file is skipped by resynchronizing', async () => {
    const junk = new Uint8Array(BS).fill(0x5a)
    const b = new Uint8Array(sample.length + BS)
    b.set(sample.subarray(0, 3 * BS), 0)
    b.set(junk, 3 * BS)
    b.set(sample.subarray(3 * BS), 4 * BS)
    const r = await run(b)
    expect(r.diags.map((d) => [d.offset, d.skippedBytes])).toEqual([[3 * BS, BS]])
    expect(r.events.filter((e) => e.kind === 'event-header').length).toBe(2 * recsPerCpu)
  })

  it('missing file rejects (I/O error, not bad data)', async () => {
    await expect(openEtl(join(tmp, 'nope.etl'))).rejects.toThrow()
  })

  it('memory budget: evicted cursors are re-read and still give every event in order', async () => {
    const path = tmpFile(sample)
    const r = await readAllEtl(path, {memoryBudget: 1})
    const tl = r.events.filter((e) => e.kind === 'event-header')
    expect(tl.map((e) => e.fields!.n)).toEqual(Array.from({length: 2 * recsPerCpu}, (_, i) => i))
  })
})

describe.skipIf(!dir)('fuzzing corpus files (fast-check)', () => {
  const files = ['s4_SIH.20230422.etl', 'perfview_SelfDescribingSingleEvent.etl', 'airbus_lxcore_kernel.etl', 's4_OneDrive_CldFlt0.etl', 'perfview_primitive-types.etl', 's4_waasmedic.20251005.etl']
  const originals = files.map((f) => Uint8Array.from(readFileSync(join(dir!, f))))
  it('mutations: never throws, terminates, diagnostics carry offsets', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({min: 0, max: files.length - 1}),
        fc.array(fc.tuple(fc.nat(), fc.integer({min: 0, max: 255}), fc.constantFrom('set', 'xor', 'u16', 'u32')), {minLength: 1, maxLength: 12}),
        fc.option(fc.nat(), {nil: undefined}),
        fc.constantFrom<'time' | 'file'>('time', 'file'),
        async (fi, muts, cut, order) => {
          const b = originals[fi].slice()
          const dv = new DataView(b.buffer)
          for (const [pos, v, how] of muts) {
            const p = pos % b.length
            if (how === 'set') b[p] = v
            else if (how === 'xor') b[p] ^= v || 1
            else if (how === 'u16' && p + 2 <= b.length) dv.setUint16(p, v * 257, true)
            else if (how === 'u32' && p + 4 <= b.length) dv.setUint32(p, (v * 0x01010101) >>> 0, true)
          }
          const bytes = cut === undefined ? b : b.subarray(0, cut % (b.length + 1))
          const r = await run(bytes, {order})
          expect(r.events.length).toBe(r.stats.records)
          for (const e of r.events) {
            expect(e.offset).toBeGreaterThanOrEqual(0)
            expect(e.offset).toBeLessThan(bytes.length)
            void e.tsAbsNs
            void e.extended
          }
        },
      ),
      {numRuns: 400, seed: 20240611},
    )
  })
})

describe('onDiagnostic callback errors', () => {
  it('propagate unchanged (a caller may stop at the first problem)', async () => {
    const b = sample.slice()
    new DataView(b.buffer).setUint16(BS + 72, 0xfff0, true)
    const path = tmpFile(b)
    class Stop extends Error {}
    const f = await openEtl(path, {
      onDiagnostic: (d) => {
        throw new Stop(`stop at ${d.offset}`)
      },
    })
    const it = async (): Promise<void> => {
      for await (const batch of f.batches()) void batch
    }
    await expect(it()).rejects.toThrow(new Stop(`stop at ${BS + 72}`))
    await f.close()
  })
})
