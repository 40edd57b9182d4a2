import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {analyze, type Report} from '../../src/analyze.js'
import {convert} from '../../src/convert.js'
import {createIngestContext, readTrace} from '../../src/ingest/index.js'
import type {Ev} from '../../src/model/event.js'
import {TraceBuilder} from '../../src/synth/builder.js'
import {demoTracePath} from '../../src/util/paths.js'
import {cli} from '../helpers/cli.js'
import {jsonl, tempDir, tempFile} from '../helpers/run.js'

async function events(path: string): Promise<Ev[]> {
  const ctx = createIngestContext()
  const out: Ev[] = []
  for await (const b of readTrace(path, ctx)) out.push(...b)
  return out
}

const key = (r: Report): string[] => r.findings.map((f) => `${f.rule}|${f.severity}|${f.pid}|${f.socket}|${f.message}|${f.fingerprint}`)

/** JSON traces with something in every event kind and field kind. */
function richTrace(): TraceBuilder {
  const b = new TraceBuilder()
  b.startup(7, 1)
  b.connect(7, 1, '0x2a0', '0x3c4', '10.0.0.2:445')
  b.register(7, 1, '0x2a0', '0x5000000', 65536, '0x9001')
  b.callRet(7, 1, 'WSPRegisterRdmaMemory', {Socket: '0x2a0', RegAddr: '0x5100000', RegLen: 8192, MemFlags: 3, DescriptorLenIn: 16}, 0, 0, 0.01, {DescriptorOut: '00112233445566778899aabbccddeeff', DescriptorLenOut: 16})
  b.post(7, 1, 'WSPRdmaWrite', '0x2a0', '0x7000', 4096, {memHandle: '0x9001', extra: {TargetDescriptor: 'a0a1a2a3', TargetDescriptorLen: 4, TargetOffset: 0}})
  b.complete(7, 2, '0x3c4', '0x7000', 4096)
  b.callRet(7, 1, 'WSPIoctl', {Socket: '0x2a0', IoctlCode: 0xc8000006, IoctlGuid: '{c0b422f5-f58c-11d1-ad6c-00c04fa34a2d}', InLen: 16, OutLen: 8, Overlapped: '0x0'}, 0, 0, 0.01, {BytesOut: 8})
  b.emit(7, 3, 'AppRequest', {provider: 'WSD.SwitchShim', AppReqId: 4, AppSocket: '0x120', Kind: 'send', Blocking: true, BufAddr: '0x10000', BufLen: 100})
  b.emit(7, 3, 'AppCancel', {provider: 'WSD.SwitchShim', AppReqId: 4})
  b.emit(7, 3, 'SwitchMap', {provider: 'WSD.SwitchShim', AppReqId: 4, SanSocket: '0x2a0', Overlapped: ['0x7000', '0x7040'], RdmaRanges: [{Addr: '0x10000', Len: 100}]})
  b.emit(7, 3, 'AppComplete', {provider: 'WSD.SwitchShim', AppReqId: 4, Status: 'WSA_OPERATION_ABORTED', Bytes: 0})
  b.callRet(7, 1, 'WSPCloseSocket', {Socket: '0x2a0'}, -1, 'WSAEWOULDBLOCK' as unknown as number)
  b.wait(3000)
  b.callRet(7, 1, 'WSPCleanup', {})
  return b
}

describe('.etl round trip and mixed inputs', () => {
  for (const [name, text] of [
    ['demo', () => readFileSync(demoTracePath(), 'utf8')],
    ['every event and field kind', () => jsonl(richTrace().events)],
  ] as const) {
    it(`${name}: JSON → .etl → the same normalized events and the same findings`, async () => {
      const json = tempFile(`${name}.jsonl`, text())
      const etl = join(tempDir, `${name.replace(/\W+/g, '-')}.etl`)
      const r = await convert([json], etl)
      expect(r.skipped).toBe(0)
      const [a, b] = [await events(json), await events(etl)]
      expect(b).toHaveLength(a.length)
      const t0a = a[0].ts
      const t0b = b[0].ts
      for (let i = 0; i < a.length; i++) {
        expect({pid: b[i].pid, tid: b[i].tid, key: b[i].key, seq: b[i].seq, dt: b[i].ts - t0b, f: b[i].f}).toEqual({pid: a[i].pid, tid: a[i].tid, key: a[i].key, seq: a[i].seq, dt: a[i].ts - t0a, f: a[i].f})
        expect(b[i].src.offset).toBeGreaterThan(0)
      }
      const [ra, rb] = [await analyze({files: [json]}), await analyze({files: [etl]})]
      expect(key(rb)).toEqual(key(ra))
      expect(rb.rules.map((s) => s.status)).toEqual(ra.rules.map((s) => s.status))
      // And back to JSON Lines: the same events again.
      const back = join(tempDir, `${name.replace(/\W+/g, '-')}.back.jsonl`)
      await convert([etl], back)
      expect(key(await analyze({files: [back]}))).toEqual(key(ra))
    })
  }

  it('analyze takes .etl and JSON files mixed in one run', async () => {
    const b = new TraceBuilder()
    b.connect(1, 1, '0x10', '0x20', '10.0.0.2:1')
    b.close(1, 1, '0x10', '0x20', {release: false})
    b.wait(3000)
    b.callRet(1, 1, 'WSPCleanup', {})
    const etl = join(tempDir, 'leak.etl')
    await convert([tempFile('leak.jsonl', jsonl(b.events))], etl, {start: BigInt(Date.UTC(2026, 0, 1)) * 1_000_000n})
    const other = new TraceBuilder()
    other.callRet(2, 1, 'WSPCancelBlockingCall', {})
    const json = tempFile('other.jsonl', jsonl(other.events.map((e) => ({...e, ts: '2026-01-01T00:00:01Z'}))))
    const r = await analyze({files: [etl, json]})
    expect(r.inputs.map((i) => i.format)).toEqual(['etl', 'jsonl'])
    expect(r.findings.map((f) => f.rule).sort()).toEqual(['SAN001', 'SAN032'])
  })

  it('damaged .etl files: counted and reported with byte offsets, or a clear error', async () => {
    const etl = join(tempDir, 'demo-cut.etl')
    await convert([demoTracePath()], etl)
    const bytes = readFileSync(etl)
    const cut = join(tempDir, 'cut.etl')
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6) + 3))
    const r = await cli(['analyze', cut, '--json', '--fail-on', 'never'])
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.summary.events).toBeGreaterThan(0)
    expect(doc.summary.events).toBeLessThan(773)
    expect(doc.skipped['damaged .etl data']).toBeGreaterThan(0)
    expect(doc.problems.find((p: {reason: string}) => p.reason === 'damaged .etl data').offset).toBeGreaterThan(0)
    const fake = tempFile('fake.etl', '{"not": "an etl"}\n')
    const bad = await cli(['analyze', fake])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/fake\.etl.*(no ETW buffers|not a readable \.etl)/)
  })

  it('santrace convert names the output format by extension and rejects the unknown', async () => {
    const out = join(tempDir, 'c.etl')
    const r = await cli(['convert', 'fixtures/demo/demo.jsonl', out])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/wrote .*c\.etl: 773 events/)
    const bad = await cli(['convert', 'fixtures/demo/demo.jsonl', join(tempDir, 'c.txt')])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/cannot tell the output format/)
  })
})
