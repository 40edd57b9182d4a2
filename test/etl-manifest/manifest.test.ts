/** Manifest-based event decoding (etl-format.md §10.1): corpus ground truth and hostile input. */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {readAllEtl, type EtlEvent} from '../../src/etl/index.js'
import {decodeManifestEvent, loadManifest, ManifestSet, parseManifest, type Manifest, type ManifestDecoded} from '../../src/etl/manifest.js'
import {InputError} from '../../src/util/errors.js'
import {cli} from '../helpers/cli.js'
import {corpusDir, requireShared} from '../helpers/shared.js'

const HTTP = 'dd5ef90a-6398-47a4-ad34-4dcecdef795f'

describe('tx_HTTP_Server.etl with tx_HTTP_Server.man (SOURCES.md ground truth)', () => {
  let events: EtlEvent[] = []
  let decoded: (ManifestDecoded | undefined)[] = []
  let man: Manifest
  let dir: string | undefined
  beforeAll(async () => {
    dir = requireShared('ETL corpus', corpusDir())
    if (!dir) return
    man = await loadManifest(join(dir, 'tx_HTTP_Server.man'))
    const set = new ManifestSet([man])
    events = (await readAllEtl(join(dir, 'tx_HTTP_Server.etl'))).events
    decoded = events.map((ev) => decodeManifestEvent(ev, set))
  })

  it('loads the provider, its events and templates', () => {
    if (!dir) return
    expect(man.providers).toHaveLength(1)
    const p = man.providers[0]
    expect(p).toMatchObject({name: 'Microsoft-Windows-HttpService', guid: HTTP})
    expect(p.events.size).toBe(85)
    expect(p.templates.get('tid_60')?.fields.map((f) => [f.name, f.inType])).toEqual([
      ['RequestObj', 'win:Pointer'],
      ['HttpVerb', 'win:UInt32'],
      ['Url', 'win:UnicodeString'],
    ])
    expect(p.events.get('2/0')).toMatchObject({name: 'HTTP Request Trace Task/Parse', template: 'tid_60', keywords: ['keyword1'], channel: 'Microsoft-Windows-HttpService/Trace'})
  })

  it('decodes all 2041 events (header record excluded), every payload exactly, no errors', () => {
    if (!dir) return
    const ours = events.filter((e) => e.kind === 'event-header')
    expect(ours).toHaveLength(2041)
    expect(events.filter((e) => e.kind !== 'event-header')).toHaveLength(1)
    const errors: string[] = []
    events.forEach((ev, i) => {
      const d = decoded[i]
      if (ev.kind !== 'event-header') return expect(d).toBeUndefined()
      if (!d) return errors.push(`undecoded id ${ev.id}`)
      if (d.error) errors.push(`${ev.id}: ${d.error}`)
      if (d.consumed !== ev.payloadBytes.length) errors.push(`${ev.id}: consumed ${d.consumed} of ${ev.payloadBytes.length}`)
      // The manifest's task/opcode/level values agree with the record header.
      if (d.event.task?.value !== ev.task || d.event.opcode?.value !== ev.opcode || d.event.level?.value !== ev.level) errors.push(`${ev.id}: header/manifest mismatch`)
    })
    expect(errors).toEqual([])
  })

  it('event counts by id: Parse 291, FastSend 289, Deliver 291, FastResp 289; 12 distinct types', () => {
    if (!dir) return
    const byId = new Map<number, number>()
    const names = new Set<string>()
    for (const d of decoded) {
      if (!d) continue
      byId.set(d.event.id, (byId.get(d.event.id) ?? 0) + 1)
      names.add(d.eventName!)
    }
    expect(byId.get(2)).toBe(291)
    expect(byId.get(12)).toBe(289)
    expect(byId.get(3)).toBe(291)
    expect(byId.get(8)).toBe(289)
    expect(byId.size).toBe(12)
    expect(names.size).toBe(12)
    expect(names).toContain('HTTP Request Trace Task/Parse')
    expect(names).toContain('HTTP Request Trace Task/FastSend')
  })

  it('first event: ConnConnect (id 21, task 4, opcode 28), 72 bytes of user data', () => {
    if (!dir) return
    const i = events.findIndex((e) => e.kind === 'event-header')
    const ev = events[i]
    expect(ev).toMatchObject({providerGuid: HTTP, id: 21, version: 0, level: 4, opcode: 28, task: 4, keyword: 0x8000000000000010n, userDataLength: 72})
    const d = decoded[i]!
    expect(d.provider).toBe('Microsoft-Windows-HttpService')
    expect(d.eventName).toBe('HTTP Connection Trace Task/ConnConnect')
    expect(d.consumed).toBe(72)
    expect(Object.keys(d.fields)).toEqual(['ConnectionObj', 'LocalAddrLength', 'LocalAddr', 'RemoteAddrLength', 'RemoteAddr'])
    expect(d.fields.LocalAddrLength).toBe(28)
    expect(d.fields.LocalAddr).toBeInstanceOf(Uint8Array)
    expect((d.fields.LocalAddr as Uint8Array).length).toBe(28)
    expect(d.fields.RemoteAddrLength).toBe(28)
  })

  it('first Parse event: HTTP_Parse_Format ground truth, unterminated Url at the end of 70 bytes', () => {
    if (!dir) return
    const i = events.findIndex((e) => e.kind === 'event-header' && e.id === 2)
    expect(events[i].payloadBytes.length).toBe(70)
    const d = decoded[i]!
    expect(d.fields).toEqual({RequestObj: 18446738026454074672n, HttpVerb: 4, Url: 'http://georgis2:80/windir.txt'})
    expect(d.message).toBe('Parsed request (request pointer 18446738026454074672, method 4) with URI http://georgis2:80/windir.txt.')
    expect(d.error).toBeUndefined()
    expect(d.consumed).toBe(70)
  })

  it('the first 13 Parse events fall 7 + 6 into two consecutive 1-second windows (EtwFileSourceTest)', () => {
    if (!dir) return
    const parse = events.filter((e, i) => decoded[i]?.eventName === 'HTTP Request Trace Task/Parse').slice(0, 13)
    const t0 = parse[0].tsAbsNs
    const windows = new Map<bigint, number>()
    for (const e of parse) windows.set((e.tsAbsNs - t0) / 1_000_000_000n, (windows.get((e.tsAbsNs - t0) / 1_000_000_000n) ?? 0) + 1)
    expect([...windows]).toEqual([[0n, 7], [1n, 6]])
  })

  it('a truncated payload yields the fields decoded so far plus an error, never a throw', () => {
    if (!dir) return
    const ev = events.find((e) => e.kind === 'event-header' && e.id === 2)!
    const set = new ManifestSet([man])
    const cut = (n: number) => decodeManifestEvent({...pick(ev), payloadBytes: ev.payloadBytes.slice(0, n)}, set)!
    const r0 = cut(0)
    expect(r0.fields).toEqual({})
    expect(r0.error).toMatch(/RequestObj .*needs 8 bytes/)
    const r10 = cut(10)
    expect(r10.fields).toEqual({RequestObj: 18446738026454074672n})
    expect(r10.error).toMatch(/HttpVerb/)
    // Pointer + UInt32 present, string missing entirely: an empty string (TDH accepts no NUL).
    const r12 = cut(12)
    expect(r12.fields).toMatchObject({HttpVerb: 4, Url: ''})
    expect(r12.error).toBeUndefined()
    // Cut inside the string (odd byte count): the whole characters before it.
    const r21 = cut(21)
    expect(r21.error).toBeUndefined()
    expect(r21.fields.Url).toBe('http')
    // Every prefix length decodes without throwing.
    for (let n = 0; n <= ev.payloadBytes.length; n++) expect(() => cut(n)).not.toThrow()
    // 32-bit pointer size: RequestObj is 4 bytes, the rest shifts.
    const p32 = decodeManifestEvent({...pick(ev), pointerSize: 4}, set)!
    expect(typeof p32.fields.RequestObj).toBe('number')
  })

  it('random payloads for every event type never throw and never read past the payload', () => {
    if (!dir) return
    const set = new ManifestSet([man])
    let seed = 12345
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32)
    const seen = new Set<number>()
    for (const ev of events) {
      if (ev.kind !== 'event-header' || seen.has(ev.id)) continue
      seen.add(ev.id)
      for (let k = 0; k < 200; k++) {
        const n = Math.floor(rnd() * (ev.payloadBytes.length + 16))
        const b = new Uint8Array(n)
        for (let i = 0; i < n; i++) b[i] = rnd() < 0.5 && i < ev.payloadBytes.length ? ev.payloadBytes[i] : Math.floor(rnd() * 256)
        const d = decodeManifestEvent({...pick(ev), payloadBytes: b}, set)!
        expect(d.consumed).toBeLessThanOrEqual(n)
      }
    }
    expect(seen.size).toBe(12)
  })

  it('events of providers or (id, version) pairs the manifest does not define are left alone', () => {
    if (!dir) return
    const ev = events.find((e) => e.kind === 'event-header' && e.id === 2)!
    const set = new ManifestSet([man])
    expect(decodeManifestEvent({...pick(ev), version: 1}, set)).toBeUndefined()
    expect(decodeManifestEvent({...pick(ev), id: 9999}, set)).toBeUndefined()
    expect(decodeManifestEvent({...pick(ev), providerGuid: '22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716'}, set)).toBeUndefined()
    const other = parseManifest(manifestXml({guid: HTTP, events: '<event value="77" version="0" symbol="Other"/>'}))
    expect(decodeManifestEvent(ev, [other])).toBeUndefined()
    // Braced/uppercase GUIDs on either side still match.
    expect(decodeManifestEvent({...pick(ev), providerGuid: `{${HTTP.toUpperCase()}}`}, set)?.eventName).toBe('HTTP Request Trace Task/Parse')
  })
})

function pick(ev: EtlEvent) {
  return {kind: ev.kind, providerGuid: ev.providerGuid, id: ev.id, version: ev.version, payloadBytes: ev.payloadBytes, pointerSize: ev.pointerSize}
}

const G = '11111111-2222-3333-4444-555555555555'

function manifestXml(o: {guid?: string; events?: string; templates?: string; extra?: string}): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<instrumentationManifest xmlns="http://schemas.microsoft.com/win/2004/08/events" xmlns:win="http://manifests.microsoft.com/win/2004/08/windows/events">
 <instrumentation><events>
  <provider name="Test-Provider" guid="{${o.guid ?? G}}" symbol="TP">
   <events>${o.events ?? ''}</events>
   <templates>${o.templates ?? ''}</templates>
   ${o.extra ?? ''}
  </provider>
 </events></instrumentation>
 <localization><resources culture="en-US"><stringTable>
  <string id="m1" value="v=%1 %2"/><string id="mA" value="alpha "/><string id="mB" value="beta"/>
 </stringTable></resources></localization>
</instrumentationManifest>`
}

class Bytes {
  a: number[] = []
  u8(v: number) { this.a.push(v & 0xff); return this }
  u16(v: number) { return this.u8(v).u8(v >> 8) }
  u32(v: number) { return this.u16(v & 0xffff).u16(v >>> 16) }
  u64(v: bigint) { for (let i = 0n; i < 8n; i++) this.u8(Number((v >> (8n * i)) & 0xffn)); return this }
  w(s: string, nul = true) { for (const ch of s) this.u16(ch.charCodeAt(0)); return nul ? this.u16(0) : this }
  s(s: string, nul = true) { for (const ch of s) this.u8(ch.charCodeAt(0)); return nul ? this.u8(0) : this }
  raw(b: number[]) { this.a.push(...b); return this }
  get bytes() { return Uint8Array.from(this.a) }
}

describe('synthetic manifests: types, references, structs, maps', () => {
  const tpl = `
   <template tid="T">
    <data name="B" inType="win:Boolean"/>
    <data name="I8" inType="win:Int8"/>
    <data name="I16" inType="win:Int16"/>
    <data name="I64" inType="win:Int64"/>
    <data name="H32" inType="win:HexInt32"/>
    <data name="G" inType="win:GUID"/>
    <data name="Sid" inType="win:SID"/>
    <data name="When" inType="win:FILETIME"/>
    <data name="St" inType="win:SYSTEMTIME"/>
    <data name="A" inType="win:AnsiString"/>
    <data name="Fixed" inType="win:UnicodeString" length="4"/>
    <data name="N" inType="win:UInt16"/>
    <data name="Bin" inType="win:Binary" length="N"/>
    <data name="Cnt" inType="win:UInt8"/>
    <struct name="Pairs" count="Cnt">
      <data name="K" inType="win:UInt8"/>
      <data name="V" inType="win:UInt32" map="Colors"/>
    </struct>
    <data name="Arr" inType="win:UInt16" count="2"/>
    <data name="Flags" inType="win:UInt32" map="Bits"/>
    <data name="Ptr" inType="win:Pointer"/>
   </template>
   <template tid="U"><data name="X" inType="win:UInt32"/><data name="Y" inType="win:Mystery"/><data name="Z" inType="win:UInt32"/></template>
   <template tid="R"><data name="Bin" inType="win:Binary" length="Missing"/></template>
   <template tid="C"><data name="N" inType="win:UInt32"/><data name="Arr" inType="win:UInt32" count="N"/></template>`
  const evs = `
   <event value="1" version="2" symbol="AllTypes" template="T" message="$(string.m1)"/>
   <event value="2" template="U" task="MyTask" opcode="win:Start"/>
   <event value="3" template="R"/>
   <event value="4" template="C"/>
   <event value="5"/>`
  const maps = `<tasks><task name="MyTask" value="7"/></tasks>
   <maps><valueMap name="Colors"><map value="1" message="$(string.mA)"/><map value="2" message="$(string.mB)"/></valueMap>
   <bitMap name="Bits"><map value="0x1" message="$(string.mA)"/><map value="0x4" message="$(string.mB)"/></bitMap></maps>`
  const man = parseManifest(manifestXml({events: evs, templates: tpl, extra: maps}), 'synthetic.man')
  const ev = (id: number, version: number, payload: Uint8Array, pointerSize = 8) => ({providerGuid: G, id, version, payloadBytes: payload, pointerSize})

  const allTypes = () =>
    new Bytes()
      .u32(1).u8(0xff).u16(0xfffe).u64(0xffffffffffffffffn).u32(0xdeadbeef)
      .raw([0x44, 0x33, 0x22, 0x11, 0x66, 0x55, 0x88, 0x77, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00])
      .raw([1, 2, 0, 0, 0, 0, 0, 5]).u32(32).u32(544)
      .u64(133000000000000000n)
      .u16(2024).u16(2).u16(4).u16(29).u16(13).u16(14).u16(15).u16(16)
      .s('héllo')
      .w('ab', false).u16(0).u16(0)
      .u16(3).raw([9, 8, 7])
      .u8(2).u8(10).u32(1).u8(11).u32(9)
      .u16(5).u16(6)
      .u32(0x7)
      .u32(0x1234)

  it('decodes every supported inType, field references, struct arrays and maps', () => {
    const d = decodeManifestEvent(ev(1, 2, allTypes().bytes, 4), [man])!
    expect(d.error).toBeUndefined()
    expect(d.eventName).toBe('AllTypes')
    expect(d.fields).toEqual({
      B: true, I8: -1, I16: -2, I64: -1, H32: 0xdeadbeef,
      G: '11223344-5566-7788-99aa-bbccddeeff00',
      Sid: 'S-1-5-32-544',
      When: 133000000000000000n,
      St: {year: 2024, month: 2, dayOfWeek: 4, day: 29, hour: 13, minute: 14, second: 15, milliseconds: 16},
      A: 'héllo', Fixed: 'ab', N: 3, Bin: Uint8Array.from([9, 8, 7]), Cnt: 2,
      Pairs: [{K: 10, V: 'alpha'}, {K: 11, V: 9}],
      Arr: [5, 6],
      Flags: 'alpha | beta | 0x2',
      Ptr: 0x1234,
    })
    expect(d.consumed).toBe(allTypes().bytes.length)
    expect(d.message).toBe('v=true -1')
  })

  it('every truncation of the all-types payload returns partial fields and an error', () => {
    const full = allTypes().bytes
    let prevKeys = -1
    for (let n = 0; n < full.length; n++) {
      const d = decodeManifestEvent(ev(1, 2, full.slice(0, n), 4), [man])!
      const keys = Object.keys(d.fields).length
      expect(keys).toBeGreaterThanOrEqual(prevKeys)
      prevKeys = keys
      // Only the string fields may stop early without an error (TDH accepts a missing NUL).
      if (!d.error) expect(n).toBeGreaterThan(0)
    }
    expect(decodeManifestEvent(ev(1, 2, full.slice(0, 20), 4), [man])!.error).toMatch(/G \(win:GUID\): needs 16 bytes/)
  })

  it('an unknown inType stops decoding and says so', () => {
    const d = decodeManifestEvent(ev(2, 0, new Bytes().u32(42).u32(1).u32(2).bytes), [man])!
    expect(d.fields).toEqual({X: 42})
    expect(d.error).toMatch(/Y: unsupported inType "win:Mystery"/)
    expect(d.eventName).toBe('MyTask/Start')
    expect(d.event.task?.value).toBe(7)
    expect(d.event.opcode?.value).toBe(1)
  })

  it('a length naming no earlier item, or a huge count, is an error, not a throw', () => {
    expect(decodeManifestEvent(ev(3, 0, new Bytes().u32(1).bytes), [man])!.error).toMatch(/length="Missing" names no earlier data item/)
    const huge = decodeManifestEvent(ev(4, 0, new Bytes().u32(0xffffffff).u32(1).bytes), [man])!
    expect(huge.fields.N).toBe(0xffffffff)
    expect(huge.error).toMatch(/count/)
    const short = decodeManifestEvent(ev(4, 0, new Bytes().u32(3).u32(1).u32(2).bytes), [man])!
    expect(short.fields.Arr).toEqual([1, 2])
    expect(short.error).toMatch(/Arr/)
  })

  it('an event without a template decodes to no fields; its name falls back to "id N"', () => {
    const d = decodeManifestEvent(ev(5, 0, new Bytes().u32(1).bytes), [man])!
    expect(d).toMatchObject({eventName: 'id 5', fields: {}, consumed: 0})
    expect(d.error).toBeUndefined()
  })

  it('reads UTF-16 manifests (with BOM)', () => {
    const xml = manifestXml({events: '<event value="9" symbol="Nine"/>'}).replace('utf-8', 'utf-16')
    const b = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')])
    expect(parseManifest(b, 'u16.man').providers[0].events.get('9/0')?.name).toBe('Nine')
  })
})

describe('bad manifest files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'santrace-man-'))
  const file = (name: string, text: string) => {
    const p = join(dir, name)
    writeFileSync(p, text)
    return p
  }
  const fails = async (p: string, re: RegExp) => {
    const e = await loadManifest(p).then(() => undefined, (x: unknown) => x)
    expect(e).toBeInstanceOf(InputError)
    expect((e as InputError).exitCode).toBe(2)
    expect((e as InputError).message).toContain(p)
    expect((e as InputError).message).toMatch(re)
  }
  it('missing, not XML, empty, no providers, provider without GUID, unknown template', async () => {
    await fails(join(dir, 'nope.man'), /not found/)
    await fails(file('text.man', 'this is not xml'), /not well-formed XML/)
    await fails(file('broken.man', '<instrumentationManifest><a></instrumentationManifest>'), /not well-formed XML/)
    await fails(file('empty.man', ''), /empty/)
    await fails(file('noprov.man', '<instrumentationManifest><instrumentation/></instrumentationManifest>'), /no <provider>/)
    await fails(file('noguid.man', '<instrumentationManifest><provider name="X"/></instrumentationManifest>'), /no valid guid/)
    await fails(file('notpl.man', manifestXml({events: '<event value="1" template="T9"/>'})), /template "T9"/)
  })
})

describe('santrace dump --manifest', () => {
  it('names the provider, event and fields of manifest events; --event matches the short name', async () => {
    const dir = requireShared('ETL corpus', corpusDir())
    if (!dir) return
    const etl = join(dir, 'tx_HTTP_Server.etl')
    const man = join(dir, 'tx_HTTP_Server.man')
    // A second manifest (repeatable flag) for another provider does not disturb the first.
    const other = join(mkdtempSync(join(tmpdir(), 'santrace-man-')), 'other.man')
    writeFileSync(other, manifestXml({events: '<event value="1" symbol="One"/>'}))
    const r = await cli(['dump', etl, '--manifest', man, '--manifest', other, '--event', 'Parse', '--format', 'jsonl'])
    expect(r.code).toBe(0)
    const evs = r.stdout.trim().split('\n').slice(1).map((l) => JSON.parse(l))
    expect(evs).toHaveLength(291)
    expect(evs[0]).toMatchObject({
      provider: 'Microsoft-Windows-HttpService',
      event: 'HTTP Request Trace Task/Parse',
      id: 2,
      fields: {RequestObj: '18446738026454074672', HttpVerb: 4, Url: 'http://georgis2:80/windir.txt'},
      message: 'Parsed request (request pointer 18446738026454074672, method 4) with URI http://georgis2:80/windir.txt.',
    })
    expect(evs.every((e: {fieldsError?: string}) => e.fieldsError === undefined)).toBe(true)
    const text = await cli(['dump', etl, '--manifest', man, '--provider', 'Microsoft-Windows-HttpService', '--limit', '1'])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/Microsoft-Windows-HttpService\/HTTP Connection Trace Task\/ConnConnect op 28 .* ConnectionObj=18446738026461208592 LocalAddrLength=28 LocalAddr=17000050/)
    // Without the manifest the same events stay raw.
    const raw = await cli(['dump', etl, '--limit', '2', '--format', 'jsonl'])
    expect(JSON.parse(raw.stdout.trim().split('\n')[2])).toMatchObject({provider: HTTP, event: 'id 21'})
  })

  it('a missing or invalid manifest is an error naming the file, exit 2', async () => {
    const dir = requireShared('ETL corpus', corpusDir())
    if (!dir) return
    const etl = join(dir, 'tx_HTTP_Server.etl')
    const missing = await cli(['dump', etl, '--manifest', '/nonexistent/x.man'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/\/nonexistent\/x\.man: manifest file not found/)
    expect(missing.stdout).toBe('')
    const notXml = await cli(['dump', etl, '--manifest', 'package.json'])
    expect(notXml.code).toBe(2)
    expect(notXml.stderr).toMatch(/package\.json.*not well-formed XML/)
    const empty = join(mkdtempSync(join(tmpdir(), 'santrace-man-')), 'noprov.man')
    writeFileSync(empty, '<instrumentationManifest/>')
    const noProv = await cli(['dump', etl, '--manifest', empty])
    expect(noProv.code).toBe(2)
    expect(noProv.stderr).toContain(`${empty}: no <provider> element`)
  })
})
