import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {analyze} from '../src/analyze.js'
import {loadConfig, parseConfig} from '../src/config.js'
import {TraceBuilder} from '../src/synth/builder.js'
import {demoTracePath} from '../src/util/paths.js'
import {cli} from './helpers/cli.js'
import {jsonl, tempFile} from './helpers/run.js'

const bad = (raw: unknown): (() => void) => () => parseConfig(raw, 'santrace.config.json')

describe('configuration file', () => {
  it('is found in the working directory, or given explicitly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'santrace-cfg-'))
    expect(loadConfig(undefined, dir).path).toBeUndefined()
    writeFileSync(join(dir, 'santrace.config.json'), JSON.stringify({thresholds: {'close-grace': '3s'}}))
    expect(loadConfig(undefined, dir)).toMatchObject({path: join(dir, 'santrace.config.json'), thresholds: {'close-grace': '3s'}})
    const other = tempFile('other.json', JSON.stringify({rules: {SAN013: 'off'}}))
    expect(loadConfig(other, dir).disabled.has('SAN013')).toBe(true)
  })

  it('reports bad settings with the path of the bad key', () => {
    expect(bad({rules: {SAN999: 'off'}})).toThrow(/santrace\.config\.json: \/rules\/SAN999: unknown rule/)
    expect(bad({rules: {foo: 'off'}})).toThrow(/"foo" is not a rule id/)
    expect(bad({rules: {SAN013: 'loud'}})).toThrow(/\/rules\/SAN013/)
    expect(bad({thresholds: {'close-grace': 5}})).toThrow(/\/thresholds\/close-grace: must be string/)
    expect(bad({thresholds: {'close-grace': '-5s'}})).toThrow(/\/thresholds\/close-grace: expected a positive duration/)
    expect(bad({thresholds: {'close-grace': '0ms'}})).toThrow(/\/thresholds\/close-grace: must be greater than zero/)
    expect(bad({thresholds: {'nap-time': '1s'}})).toThrow(/\/thresholds\/nap-time: unknown threshold/)
    expect(bad({provider: {maxMsgSize: -1}})).toThrow(/\/provider\/maxMsgSize/)
    expect(bad({colour: true})).toThrow(/unknown key "colour"/)
    expect(() => loadConfig(tempFile('broken.json', '{"rules": '))).toThrow(/broken\.json: not valid JSON/)
    expect(() => loadConfig('/nonexistent/santrace.config.json')).toThrow(/no such file/)
  })

  it('sets thresholds, turns rules off, re-grades them; flags override the file', async () => {
    const config = parseConfig({thresholds: {'connect-call-max': '3s'}, rules: {SAN001: 'off', SAN032: 'warning'}}, 'cfg.json')
    const r = await analyze({files: [demoTracePath()], config})
    const rules = r.findings.map((f) => `${f.rule}:${f.severity}`)
    expect(rules).toEqual(['SAN012:error', 'SAN032:warning', 'SAN035:warning'])
    expect(r.rules.find((s) => s.rule === 'SAN001')).toMatchObject({status: 'disabled', reason: 'turned off in cfg.json'})
    expect(r.thresholds.find((t) => t.flag === 'connect-call-max')).toMatchObject({text: '3s', source: 'config'})
    const r2 = await analyze({files: [demoTracePath()], config, thresholds: {'connect-call-max': '2s'}})
    expect(r2.findings.map((f) => f.rule)).toContain('SAN013')
    expect(r2.thresholds.find((t) => t.flag === 'connect-call-max')).toMatchObject({text: '2s', source: 'flag'})
  })

  it('sanProviders: SPI events of other providers are skipped and counted', async () => {
    const b = new TraceBuilder()
    b.callRet(1, 1, 'WSPCancelBlockingCall', {ProviderId: '{11111111-2222-3333-4444-555555555555}'})
    b.callRet(1, 1, 'WSPCancelBlockingCall', {ProviderId: '{C943654D-2C84-4DB7-AF3E-FDF1C5322458}'})
    const config = parseConfig({sanProviders: ['{c943654d-2c84-4db7-af3e-fdf1c5322458}']}, 'cfg.json')
    const r = await analyze({files: [tempFile('p.jsonl', jsonl(b.events))], config})
    expect(r.findings).toHaveLength(1)
    // The call is skipped; its return carries no ProviderId and stays, unpaired.
    expect(r.skipped).toEqual({'not a SAN provider': 1})
  })

  it('the command line: --config, exit code 2 on a bad file, rules shows where values come from', async () => {
    const good = tempFile('good.json', JSON.stringify({thresholds: {'close-grace': '4s'}, failOn: 'never'}))
    expect((await cli(['analyze', '--config', good])).code).toBe(0)
    const list = await cli(['rules', '--config', good])
    expect(list.stdout).toMatch(/--close-grace +│ 4s +│ .*good\.json/)
    const broken = tempFile('bad.json', JSON.stringify({rules: {SAN999: 'off'}}))
    const r = await cli(['analyze', '--config', broken])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/bad\.json: \/rules\/SAN999: unknown rule/)
  })
})
