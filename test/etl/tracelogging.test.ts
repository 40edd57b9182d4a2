/** TraceLogging metadata and payload decoding (etl-format.md §9), provider GUIDs, extended items. */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {decodeExtendedItem, decodeTlPayload, parseEventMetadata, parseProviderTraits, providerGuidFromName, readAllEtl, TL_IN} from '../../src/etl/index.js'
import {Bytes, eventRecord, etlFile, tlEventMeta, tlGuid, tlProviderTraits, tlRecord, type FieldDef} from './builder.js'

const tmp = mkdtempSync(join(tmpdir(), 'santrace-tl-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

function decode(fields: FieldDef[], payload: Uint8Array, ptr = 8) {
  const m = parseEventMetadata(tlEventMeta('E', fields), 0, tlEventMeta('E', fields).length)
  expect(m.error).toBeUndefined()
  const b = Buffer.from(payload)
  return decodeTlPayload(m, b, new DataView(b.buffer, b.byteOffset, b.length), 0, b.length, ptr)
}

describe('provider GUID from name (§9.7)', () => {
  it('reproduces the documented GUIDs', () => {
    expect(providerGuidFromName('MySource')).toBe('a61ea624-4944-55fc-c2a8-37838829438d')
    expect(providerGuidFromName('Microsoft.Windows.WaaSMedic.Local')).toBe('30d25124-a468-505c-de82-8411646eb8b5')
    expect(providerGuidFromName('mysource')).toBe(providerGuidFromName('MYSOURCE'))
    expect(providerGuidFromName('WSD.SanSpi')).toBe(tlGuid('WSD.SanSpi'))
  })
})

describe('event metadata (§9.2)', () => {
  it('name, tags, field in/out types, counts, field tags', () => {
    const blob = tlEventMeta(
      'MyEvent',
      [
        {name: 'a', inType: TL_IN.UInt32},
        {name: 'b', inType: TL_IN.UInt8, outType: 3},
        {name: 'c', inType: TL_IN.Int16, arity: 0x20, ccount: 3},
        {name: 'd', inType: TL_IN.UnicodeString, arity: 0x40, outType: 0, tags: 0x0abcdef},
      ],
      0x1234567,
    )
    const m = parseEventMetadata(blob, 0, blob.length)
    expect(m.error).toBeUndefined()
    expect(m.name).toBe('MyEvent')
    expect(m.tags).toBe(0x1234567)
    expect(m.fields.map((f) => [f.name, f.inType, f.outType, f.arity, f.ccount, f.tags])).toEqual([
      ['a', 8, 0, 0, 0, 0],
      ['b', 4, 3, 0, 0, 0],
      ['c', 5, 0, 0x20, 3, 0],
      ['d', 1, 0, 0x40, 0, 0x0abcdef],
    ])
  })
  it('custom arity carries its schema; duplicate names get distinct keys', () => {
    const blob = new Bytes().u8(0).cstr('E').cstr('x').u8(0x60 | TL_IN.Binary).u16(3).raw([1, 2, 3]).cstr('x').u8(TL_IN.UInt8).bytes()
    const full = new Bytes().u16(blob.length + 2).raw(blob).bytes()
    const m = parseEventMetadata(full, 0, full.length)
    expect(m.error).toBeUndefined()
    expect(Array.from(m.fields[0].schema!)).toEqual([1, 2, 3])
    expect(m.fields.map((f) => f.key)).toEqual(['x', 'x_2'])
    const b = Buffer.from([2, 0, 0xaa, 0xbb, 7])
    const r = decodeTlPayload(m, b, new DataView(b.buffer, b.byteOffset, b.length), 0, b.length, 8)
    expect(r.fields).toEqual({x: Uint8Array.from([0xaa, 0xbb]), x_2: 7})
  })
  it('errors: Size outside the blob, unknown InType, missing struct members', () => {
    const ok = tlEventMeta('E', [{name: 'a', inType: 8}])
    const big = ok.slice()
    big[0] = 200
    expect(parseEventMetadata(big, 0, big.length).error).toMatch(/points outside/)
    expect(parseEventMetadata(tlEventMeta('E', [{name: 'a', inType: 30}]), 0, 9).error).toMatch(/unknown InType 30/)
    const s = tlEventMeta('E', [{name: 'a', inType: 24, outType: 2}, {name: 'b', inType: 8}])
    expect(parseEventMetadata(s, 0, s.length).error).toMatch(/declares 2 members/)
    expect(parseEventMetadata(ok, 0, 3).error).toMatch(/too short/)
  })
})

describe('payload decoding, every InType (§9.4)', () => {
  it('scalars', () => {
    const guid = '0ad614c4-0ef4-4225-8013-f44f37cb0397'
    const p = new Bytes()
      .wstr('héllo wörld')
      .cstr('ansi')
      .u8(0xff)
      .u8(200)
      .u16(0xfffe)
      .u16(65000)
      .i32(-5)
      .u32(4000000000)
      .u64(-7n)
      .u64(2n ** 64n - 1n)
      .raw(Buffer.from(Float32Array.of(1.5).buffer))
      .raw(Buffer.from(Float64Array.of(-2.25).buffer))
      .u32(1)
      .u16(3)
      .raw([9, 8, 7])
      .guid(guid)
      .u64(0x1122334455667788n)
      .u64(132756731757990000n)
      .u16(2021).u16(9).u16(4).u16(9).u16(14).u16(59).u16(35).u16(799)
      .raw([1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 0x02, 0, 0])
      .u32(0xdeadbeef)
      .u64(0xfeedfacecafebeefn)
      .u16(6)
      .raw(Buffer.from('abc', 'utf16le'))
      .u16(3)
      .raw(Buffer.from('xyz'))
      .u16(2)
      .raw([0xca, 0xfe])
      .bytes()
    const fields: FieldDef[] = [
      {name: 'UnicodeString', inType: 1},
      {name: 'AnsiString', inType: 2},
      {name: 'Int8', inType: 3},
      {name: 'UInt8', inType: 4},
      {name: 'Int16', inType: 5},
      {name: 'UInt16', inType: 6},
      {name: 'Int32', inType: 7},
      {name: 'UInt32', inType: 8},
      {name: 'Int64', inType: 9},
      {name: 'UInt64', inType: 10},
      {name: 'Float', inType: 11},
      {name: 'Double', inType: 12},
      {name: 'Bool32', inType: 13},
      {name: 'Binary', inType: 14},
      {name: 'Guid', inType: 15},
      {name: 'Pointer', inType: 16},
      {name: 'FileTime', inType: 17},
      {name: 'SystemTime', inType: 18},
      {name: 'Sid', inType: 19},
      {name: 'HexInt32', inType: 20},
      {name: 'HexInt64', inType: 21},
      {name: 'CountedString', inType: 22},
      {name: 'CountedAnsiString', inType: 23},
      {name: 'CountedBinary', inType: 25},
    ]
    const r = decode(fields, p)
    expect(r.error).toBeUndefined()
    expect(r.consumed).toBe(p.length)
    expect(r.fields).toEqual({
      UnicodeString: 'héllo wörld',
      AnsiString: 'ansi',
      Int8: -1,
      UInt8: 200,
      Int16: -2,
      UInt16: 65000,
      Int32: -5,
      UInt32: 4000000000,
      Int64: -7, // 64-bit integers: numbers when exact, else bigint
      UInt64: 2n ** 64n - 1n,
      Float: 1.5,
      Double: -2.25,
      Bool32: true,
      Binary: Uint8Array.from([9, 8, 7]),
      Guid: guid,
      Pointer: 0x1122334455667788n,
      FileTime: 132756731757990000n,
      SystemTime: {year: 2021, month: 9, dayOfWeek: 4, day: 9, hour: 14, minute: 59, second: 35, milliseconds: 799},
      Sid: 'S-1-5-32-544',
      HexInt32: 0xdeadbeef,
      HexInt64: 0xfeedfacecafebeefn,
      CountedString: 'abc',
      CountedAnsiString: 'xyz',
      CountedBinary: Uint8Array.from([0xca, 0xfe]),
    })
  })
  it('pointer size follows the record (EVENT32 → 4 bytes)', () => {
    expect(decode([{name: 'p', inType: 16}], new Bytes().u32(0x1234).bytes(), 4).fields).toEqual({p: 0x1234})
  })
  it('ANSI: CP1252 by default, UTF-8 with OutType Utf8/Json/Xml', () => {
    const bytes = new Bytes().raw([0x80, 0x41, 0xe9, 0]).raw(Buffer.from('é€', 'utf8')).u8(0).bytes()
    const r = decode(
      [
        {name: 'cp', inType: 2},
        {name: 'u8', inType: 2, outType: 35},
      ],
      bytes,
    )
    expect(r.fields).toEqual({cp: '€Aé', u8: 'é€'})
  })
  it('booleans: Bool32 and UInt8/Boolean; values other than 0/1 stay numbers', () => {
    const r = decode(
      [
        {name: 'a', inType: 13},
        {name: 'b', inType: 4, outType: 3},
        {name: 'c', inType: 13},
      ],
      new Bytes().u32(0).u8(1).u32(2).bytes(),
    )
    expect(r.fields).toEqual({a: false, b: true, c: 2})
  })
  it('arrays: constant count, variable count, of strings', () => {
    const r = decode(
      [
        {name: 'c', inType: 7, arity: 0x20, ccount: 3},
        {name: 'v', inType: 6, arity: 0x40},
        {name: 's', inType: 1, arity: 0x40},
      ],
      new Bytes().i32(1).i32(-2).i32(3).u16(2).u16(10).u16(20).u16(2).wstr('x').wstr('yz').bytes(),
    )
    expect(r.fields).toEqual({c: [1, -2, 3], v: [10, 20], s: ['x', 'yz']})
    expect(r.error).toBeUndefined()
  })
  it('structs, nested structs, arrays of structs', () => {
    const fields: FieldDef[] = [
      {name: 'hdr', inType: 24, outType: 2},
      {name: 'inner', inType: 24, outType: 1},
      {name: 'x', inType: 8},
      {name: 'y', inType: 1},
      {name: 'Buffers', inType: 24, outType: 3, arity: 0x40},
      {name: 'Addr', inType: 21},
      {name: 'Len', inType: 8},
      {name: 'Handle', inType: 21},
      {name: 'after', inType: 4},
    ]
    const p = new Bytes().u32(5).wstr('q').u16(2).u64(0x1000n).u32(16).u64(1n).u64(0x2000n).u32(32).u64(2n).u8(9).bytes()
    const r = decode(fields, p)
    expect(r.error).toBeUndefined()
    expect(r.fields).toEqual({
      hdr: {inner: {x: 5}, y: 'q'},
      Buffers: [
        {Addr: 0x1000, Len: 16, Handle: 1},
        {Addr: 0x2000, Len: 32, Handle: 2},
      ],
      after: 9,
    })
  })
  it('a missing string terminator ends at the payload end', () => {
    const r = decode([{name: 's', inType: 1}], Buffer.from('abc', 'utf16le'))
    expect(r.fields).toEqual({s: 'abc'})
    expect(r.error).toBeUndefined()
  })
  it('overrun keeps what decoded plus the raw remainder', () => {
    const r = decode(
      [
        {name: 'a', inType: 8},
        {name: 'b', inType: 10},
      ],
      new Bytes().u32(1).u16(2).bytes(),
    )
    expect(r.error).toMatch(/payload ends/)
    expect(r.fields.a).toBe(1)
    expect(Array.from(r.fields.__remainder as Uint8Array)).toEqual([2, 0])
  })
})

describe('provider traits (§9.3)', () => {
  it('name and group GUID trait', () => {
    const t = tlProviderTraits('My.Provider', '4f50731a-89cf-4782-b3e0-dce8c90476ba')
    const m = parseProviderTraits(t, 0, t.length)
    expect(m.error).toBeUndefined()
    expect(m.name).toBe('My.Provider')
    expect(m.groupGuid).toBe('4f50731a-89cf-4782-b3e0-dce8c90476ba')
    const bad = t.slice()
    bad[t.length - 17 - 2] = 200 // trait size past the blob
    expect(parseProviderTraits(bad, 0, bad.length).error).toMatch(/trait size/)
  })
})

describe('through a file', () => {
  it('metadata is cached by bytes; channel-11 events without extended items; STRING_ONLY; EVENT32', async () => {
    const meta = tlEventMeta('Hello', [{name: 'v', inType: 8}])
    const traits = tlProviderTraits('Old.Os')
    const recs = [
      ...Array.from({length: 50}, (_, i) => tlRecord({providerName: 'Cached', meta, ts: 2000n + BigInt(i), userData: new Bytes().u32(i).bytes()})),
      // TraceLogging on an OS that keeps the blobs in the user data (§9.1)
      eventRecord({provider: tlGuid('Old.Os'), ts: 3000n, channel: 11, userData: new Bytes().raw(traits).raw(meta).u32(77).bytes()}),
      eventRecord({provider: tlGuid('S'), ts: 3001n, channel: 0, flags: 0x4, userData: new Bytes().wstr('just text').bytes()}),
      tlRecord({providerName: 'P32', meta: tlEventMeta('Ptr', [{name: 'p', inType: 16}]), ts: 3002n, headerType: 0x12, userData: new Bytes().u32(0xabcd).bytes()}),
      eventRecord({
        provider: tlGuid('X'),
        ts: 3003n,
        channel: 0,
        ext: [
          {type: 1, data: new Bytes().guid('11111111-2222-3333-4444-555555555555').bytes()},
          {type: 6, data: new Bytes().u64(9n).u64(0xfffff80000001000n).u64(0x7ff00000n).bytes()},
          {type: 3, data: new Bytes().u32(2).bytes()},
        ],
        userData: new Uint8Array(0),
      }),
    ]
    const path = join(tmp, 'tl.etl')
    writeFileSync(path, etlFile({cpus: {0: recs}}))
    const diags: unknown[] = []
    const r = await readAllEtl(path, {onDiagnostic: (d) => diags.push(d)})
    expect(diags).toEqual([])
    const ev = r.events.filter((e) => e.kind === 'event-header')
    const cached = ev.filter((e) => e.providerName === 'Cached')
    expect(cached.length).toBe(50)
    expect(new Set(cached.map((e) => e.tl)).size).toBe(1) // one compiled metadata object
    expect(cached.map((e) => e.fields!.v)).toEqual(Array.from({length: 50}, (_, i) => i))
    expect(r.stats.metadataCacheEntries).toBeLessThanOrEqual(6)
    const old = ev.find((e) => e.providerName === 'Old.Os')!
    expect([old.eventName, old.fields, old.userDataLength]).toEqual(['Hello', {v: 77}, 4])
    expect(ev.find((e) => e.flags & 4)!.fields).toEqual({String: 'just text'})
    const p32 = ev.find((e) => e.eventName === 'Ptr')!
    expect([p32.pointerSize, p32.fields]).toEqual([4, {p: 0xabcd}])
    const x = ev.find((e) => e.providerGuid === tlGuid('X'))!
    expect(x.relatedActivityId).toBe('11111111-2222-3333-4444-555555555555')
    expect(x.extended!.map(decodeExtendedItem)).toEqual([
      {type: 1, name: 'RelatedActivityId', guid: '11111111-2222-3333-4444-555555555555'},
      {type: 6, name: 'StackTrace', matchId: 9n, addresses: [0xfffff80000001000n, 0x7ff00000n]},
      {type: 3, name: 'TsId', sessionId: 2},
    ])
  })
})
