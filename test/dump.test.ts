import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {convert} from '../src/convert.js'
import {cli} from './helpers/cli.js'
import {tempDir} from './helpers/run.js'
import {corpusDir, requireShared} from './helpers/shared.js'

describe('santrace dump', () => {
  it('lists the header and decoded TraceLogging events of a corpus file', async () => {
    const dir = requireShared('ETL corpus', corpusDir())
    if (!dir) return
    const r = await cli(['dump', join(dir, 'perfview_primitive-types.etl'), '--provider', 'solar_system', '--format', 'jsonl'])
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
    expect(lines[0].header).toMatchObject({loggerName: 'solar_system', processors: 8, pointerSize: 8, clockType: 'QPC'})
    const events = lines.slice(1)
    expect(events).toHaveLength(5)
    expect(events[0]).toMatchObject({provider: 'solar_system', event: 'PrimitiveTypesTest', pid: 33984, tid: 21768, cpu: 2, level: 5})
    expect(events[0].fields).toMatchObject({string_type: 'Mercury', boolean_type: false, int16_type: -51, int32_type: -102, uint64_type: 204})
    expect(events.map((e: {fields: {string_type: string}}) => e.fields.string_type)).toEqual(['Mercury', 'Venus', 'Earth', 'Mars', 'Jupiter'])
  })

  it('filters by pid, event and time range, and says when a file is not .etl', async () => {
    const etl = join(tempDir, 'dump-demo.etl')
    await convert(['fixtures/demo/demo.jsonl'], etl)
    const r = await cli(['dump', etl, '--pid', '6344', '--event', 'AppCancel', '--format', 'jsonl'])
    const evs = r.stdout.trim().split('\n').slice(1).map((l) => JSON.parse(l))
    expect(evs.map((e: {fields: {AppReqId: number}}) => e.fields.AppReqId)).toEqual([20, 21])
    expect(evs.every((e: {provider: string}) => e.provider === 'WSD.SwitchShim')).toBe(true)
    const ranged = await cli(['dump', etl, '--from', '1s', '--to', '1.5s', '--provider', 'WSD.SanSpi'])
    expect(ranged.code).toBe(0)
    expect(ranged.stdout).toMatch(/WSD\.SanSpi\/SpiCall/)
    const text = await cli(['dump', etl, '--limit', '1', '--provider', 'WSD.SanSpi'])
    expect(text.stdout).toMatch(/pid \d+ tid \d+ WSD\.SanSpi\/SpiCall op 1 .* Seq=1 Fn=WSPStartupEx/)
    const bad = await cli(['dump', 'fixtures/demo/demo.jsonl'])
    expect(bad.code).toBe(2)
  })
})
