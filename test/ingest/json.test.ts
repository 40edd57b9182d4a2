import {gzipSync} from 'node:zlib'
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {analyze} from '../../src/analyze.js'
import {createIngestContext, readTrace} from '../../src/ingest/index.js'
import type {Ev} from '../../src/model/event.js'
import {InputError} from '../../src/util/errors.js'
import {jsonl, tempDir, tempFile} from '../helpers/run.js'

async function read(path: string, strict = false): Promise<{events: Ev[]; ctx: ReturnType<typeof createIngestContext>}> {
  const ctx = createIngestContext({strict})
  const events: Ev[] = []
  for await (const b of readTrace(path, ctx)) events.push(...b)
  return {events, ctx}
}

const call = (ts: number | string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  ts,
  pid: 1,
  tid: 2,
  event: 'SpiCall',
  Seq: 1,
  Fn: 'WSPSend',
  Socket: '0x2A0',
  Overlapped: 4096,
  ...extra,
})

describe('JSON containers', () => {
  const events = [call(100), {ts: 200, pid: 1, tid: 2, event: 'SpiReturn', Seq: 1, Fn: 'WSPSend', Rc: -1, Errno: 'WSA_IO_PENDING'}]

  it('reads JSON Lines and normalizes handles and symbolic error codes', async () => {
    const {events: evs} = await read(tempFile('a.jsonl', jsonl(events)))
    expect(evs).toHaveLength(2)
    expect(evs[0]).toMatchObject({ts: 100, pid: 1, kind: 'call', fn: 'WSPSend', key: 'call:WSPSend', seq: 1, src: {line: 1}})
    expect(evs[0].f.Socket).toBe('0x2a0')
    expect(evs[0].f.Overlapped).toBe('0x1000')
    expect(evs[1].f.Errno).toBe(997)
    expect(evs[1].src.line).toBe(2)
  })

  it('reads .ndjson and gzip-compressed JSON Lines', async () => {
    expect((await read(tempFile('a.ndjson', jsonl(events)))).events).toHaveLength(2)
    expect((await read(tempFile('a.jsonl.gz', gzipSync(jsonl(events))))).events).toHaveLength(2)
  })

  it('reads a JSON array with the line of each element', async () => {
    const text = '[\n' + events.map((e) => JSON.stringify(e, null, 2)).join(',\n') + '\n]\n'
    const {events: evs} = await read(tempFile('a.json', text))
    expect(evs.map((e) => e.src.line)).toEqual([2, 2 + JSON.stringify(events[0], null, 2).split('\n').length])
  })

  it('reads a {header, events} document, placing integer times after header.startTime', async () => {
    const doc = {header: {formatVersion: 1, startTime: '2026-01-02T03:04:05.000000001Z'}, events}
    const file = tempFile('doc.json', JSON.stringify(doc, null, 1))
    const report = await analyze({files: [file]})
    expect(report.origin).toBe('2026-01-02T03:04:05.000000101Z')
    expect(report.summary.events).toBe(2)
  })

  it('accepts RFC 3339 times with 9 fractional digits and offsets', async () => {
    const evs = [call('2026-01-02T03:04:05.000000100+01:00'), call('2026-01-02T02:04:05.000000350Z', {Seq: 2})]
    const {events: out} = await read(tempFile('t.jsonl', jsonl(evs)))
    expect(out[1].ts - out[0].ts).toBe(250)
  })

  it('re-sorts events slightly out of time order and says so', async () => {
    const {events: out, ctx} = await read(tempFile('o.jsonl', jsonl([call(300, {Seq: 3}), call(100, {Seq: 1}), call(200, {Seq: 2})])))
    expect(out.map((e) => e.seq)).toEqual([1, 2, 3])
    expect([...ctx.diag.notes.values()][0]).toBe(2)
  })

  it('merges several files by time, ties keeping file order', async () => {
    const a = tempFile('a.jsonl', jsonl([call(100, {pid: 1}), call(300, {pid: 1, Seq: 2})]))
    const b = tempFile('b.jsonl', jsonl([call(100, {pid: 2}), call(200, {pid: 2, Seq: 2})]))
    const report = await analyze({files: [a, b], only: ['SAN001']})
    expect(report.summary.events).toBe(4)
    expect(report.inputs.map((i) => i.events)).toEqual([2, 2])
  })
})

describe('bad input is reported, counted and skipped', () => {
  it('wrong types: file, line, JSON pointer and what was expected', async () => {
    const {events: evs, ctx} = await read(tempFile('bad.jsonl', jsonl([call(1), call(2, {Socket: 'zz'}), call(3, {Seq: -4})])))
    expect(evs).toHaveLength(1)
    expect(ctx.diag.totalSkipped).toBe(2)
    const [p1, p2] = ctx.diag.samples
    expect(p1).toMatchObject({line: 2, pointer: '/Socket', reason: 'invalid field'})
    expect(p1.message).toMatch(/expected a handle.*got "zz"/)
    expect(p2).toMatchObject({line: 3, pointer: '/Seq'})
  })

  it('unknown event names and missing envelope fields', async () => {
    const {ctx} = await read(tempFile('u.jsonl', jsonl([call(1), {ts: 2, pid: 1, event: 'Bogus'}, {pid: 1, event: 'SpiCall', Fn: 'WSPSend'}, {ts: 3, event: 'SpiCall', Fn: 'X'}])))
    expect(Object.fromEntries(ctx.diag.skipped)).toEqual({'unknown event': 1, 'missing field': 2})
    expect(ctx.diag.samples[0].message).toMatch(/unknown event "Bogus" \(expected one of SpiCall, SpiReturn/)
    expect(ctx.diag.samples[1]).toMatchObject({pointer: '/ts', message: 'missing required field "ts"'})
    expect(ctx.diag.samples[2]).toMatchObject({pointer: '/pid'})
  })

  it('a line that is not JSON, and a truncated last line', async () => {
    const text = jsonl([call(1)]) + 'hello world\n' + JSON.stringify(call(5)).slice(0, 30)
    const {events: evs, ctx} = await read(tempFile('t.jsonl', text))
    expect(evs).toHaveLength(1)
    expect(ctx.diag.skipped.get('invalid JSON')).toBe(2)
    expect(ctx.diag.samples.map((p) => p.line)).toEqual([2, 3])
  })

  it('mixed timestamp forms in one file', async () => {
    const {ctx} = await read(tempFile('m.jsonl', jsonl([call(1), call('2026-01-01T00:00:00Z')])))
    expect(ctx.diag.skipped.get('mixed timestamp forms')).toBe(1)
  })

  it('--strict stops at the first invalid event with its location', async () => {
    const f = tempFile('s.jsonl', jsonl([call(1), call(2, {pid: 'x'})]))
    await expect(read(f, true)).rejects.toThrow(/s\.jsonl:2: \/pid: expected/)
  })

  it('an empty file, a directory, a missing file, a binary file', async () => {
    await expect(read(tempFile('e.jsonl', ''))).rejects.toThrow(/the file is empty/)
    await expect(read(tempFile('e2.json', '  \n'))).rejects.toThrow(/the file is empty/)
    const d = join(tempDir, 'adir')
    mkdirSync(d, {recursive: true})
    await expect(read(d)).rejects.toThrow(/is a directory/)
    await expect(read(join(tempDir, 'nope.jsonl'))).rejects.toThrow(/no such file/)
    await expect(read(tempFile('b.bin', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2])))).rejects.toBeInstanceOf(InputError)
  })

  it('a file with no valid event at all is an error naming the first problem', async () => {
    await expect(read(tempFile('n.jsonl', '{"a":1}\n{"b":2}\n'))).rejects.toThrow(/no valid events \(2 skipped\); first problem at line 1: \/event: missing required field "event"/)
  })

  it('a truncated JSON document names the line', async () => {
    const text = '[\n' + JSON.stringify(call(1)) + ',\n' + JSON.stringify(call(2)).slice(0, 20)
    await expect(read(tempFile('tr.json', text))).rejects.toThrow(/tr\.json:3: .*truncated/)
  })

  it('a corrupt gzip stream keeps what was read and counts the loss', async () => {
    const gz = gzipSync(jsonl(Array.from({length: 200}, (_, i) => call(i, {Seq: i}))))
    const {events: evs, ctx} = await read(tempFile('c.jsonl.gz', gz.subarray(0, gz.length - 40)))
    expect(evs.length).toBeGreaterThan(0)
    expect(ctx.diag.skipped.get('truncated gzip stream')).toBe(1)
  })

  it('unknown extra fields are kept', async () => {
    const {events: evs} = await read(tempFile('x.jsonl', jsonl([call(1, {Vendor: 'acme', Extra: {a: 1}})])))
    expect(evs[0].f.Vendor).toBe('acme')
    expect(evs[0].f.Extra).toEqual({a: 1})
  })
})
