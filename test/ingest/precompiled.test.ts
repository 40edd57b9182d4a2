// The build precompiles the event schema's validators (scripts/gen-validators.mjs); the CLI
// uses them instead of compiling the schema at start-up. They must judge exactly as the
// validators ajv compiles at run time, and a stale module must be ignored.
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'

const dist = new URL('../../dist/src/ingest/validate.js', import.meta.url)
type ValidateModule = typeof import('../../src/ingest/validate.js')
const load = async (): Promise<ValidateModule> => (await import(dist.href)) as ValidateModule

/** Valid events of every kind (the demo trace) and each of them broken in several ways. */
function samples(): unknown[] {
  const demo = readFileSync(fileURLToPath(new URL('../../fixtures/demo/demo.jsonl', import.meta.url)), 'utf8')
  const events = demo.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>)
  const byKind = new Map<string, Record<string, unknown>>()
  for (const e of events) if (!byKind.has(`${e.event}:${e.Fn ?? e.Up ?? ''}`)) byKind.set(`${e.event}:${e.Fn ?? e.Up ?? ''}`, e)
  const out: unknown[] = [null, 7, [], {}, {event: 'Nope', ts: 0, pid: 1}, {event: 3, ts: 0, pid: 1}]
  for (const e of byKind.values()) {
    out.push(e)
    out.push({...e, ts: -1}, {...e, ts: '2026-13-01T00:00:00Z'}, {...e, pid: 'x'}, {...e, tid: -2}, {...e, provider: 'Other'})
    const {ts: _ts, ...noTs} = e
    out.push(noTs)
    for (const k of Object.keys(e)) {
      if (['ts', 'pid', 'tid', 'event'].includes(k)) continue
      out.push({...e, [k]: 'zz'}, {...e, [k]: -5}, {...e, [k]: {a: 1}}, {...e, [k]: [1, 'x']}, {...e, [k]: true})
    }
    out.push({...e, Buffers: [{Addr: '0x10', Len: 4}, {Addr: 'bad'}]}, {...e, IoctlGuid: '{1234}'}, {...e, TargetDescriptor: '0xabc'})
  }
  return out
}

describe('precompiled event validators', () => {
  it('are what the built CLI uses', async () => {
    const {EventValidator} = await load()
    expect(new EventValidator().precompiled).toBe(true)
    expect(new EventValidator({compile: true}).precompiled).toBe(false)
  })

  it('judge every sample exactly as run-time compiled validators do', async () => {
    const {EventValidator} = await load()
    const pre = new EventValidator()
    const compiled = new EventValidator({compile: true})
    const all = samples()
    expect(all.length).toBeGreaterThan(500)
    let invalid = 0
    for (const s of all) {
      const a = pre.validate(s)
      expect(a, JSON.stringify(s)).toEqual(compiled.validate(s))
      if (a) invalid++
    }
    // Both outcomes are exercised.
    expect(invalid).toBeGreaterThan(300)
    expect(all.length - invalid).toBeGreaterThan(10)
  })

  it('are ignored when made from another schema text', async () => {
    const {loadPrecompiled, eventSchemaSource} = await load()
    expect(loadPrecompiled(eventSchemaSource().hash, new URL('.', dist))).toBeDefined()
    expect(loadPrecompiled('0'.repeat(64), new URL('.', dist))).toBeUndefined()
    // Running from the TypeScript sources there is no precompiled module beside validate.ts.
    expect(loadPrecompiled(eventSchemaSource().hash, new URL('../../src/ingest/', import.meta.url))).toBeUndefined()
  })
})
