/**
 * `santrace synth`, run out of process through the built CLI: files written, summary on
 * stderr, exit code 2 with a clear message for bad flags.
 */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {parseSize} from '../../commands/synth.js'
import {type PlantedSidecar, synthJsonl} from '../../src/synth/sim.js'
import {cli, type CliResult} from '../helpers/cli.js'
import {tempDir} from '../helpers/run.js'

const synth = (args: string[]): Promise<CliResult> => cli(['synth', ...args], {env: {CI: '1'}})

describe('santrace synth', () => {
  it('writes the trace and its sidecar, and says what it did', async () => {
    const out = join(tempDir, 'cmd.jsonl')
    const r = await synth(['-o', out, '--events', '3000', '--seed', '42', '--processes', '3', '--sockets', '4', '--inject', 'SAN013=2,san030=1'])
    expect(r.stderr).toMatch(/^wrote .*cmd\.jsonl: [\d,]+ events, [\d.]+ kB, 3 processes, \d+ sockets, .* of trace, generated in .* \([\d,]+ events\/s\)\nplanted 3 violations of 2 rules; sidecar .*cmd\.jsonl\.planted\.json\n$/)
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('')
    const lines = readFileSync(out, 'utf8').trim().split('\n')
    expect(lines.length).toBeGreaterThanOrEqual(3000)
    const sidecar = JSON.parse(readFileSync(`${out}.planted.json`, 'utf8')) as PlantedSidecar
    expect(sidecar).toMatchObject({format: 'santrace-planted/1', trace: out, seed: 42, events: lines.length, planted: {SAN013: 2, SAN030: 1}, expected: {SAN013: 2, SAN030: 1}})
    expect(sidecar.instances.map((i) => i.rule).sort()).toEqual(['SAN013', 'SAN013', 'SAN030'])
    // What the library writes for the same options (the seed given as a number).
    expect(readFileSync(out, 'utf8')).toBe(synthJsonl({seed: 42, events: 3000, processes: 3, sockets: 4, inject: {SAN013: 2, SAN030: 1}}).text)
  })

  it('bad flags: exit 2 with a clear message, nothing written', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--inject', 'SAN099=1'], /^santrace: unknown rule 'SAN099' in --inject \(rules are SAN001 to SAN040, or all\)\n$/],
      [['--inject', 'SAN013=-1'], /^santrace: invalid --inject count '-1' for SAN013: expected a non-negative integer\n$/],
      [['--format', 'etl'], /^santrace: --format etl is not supported yet: santrace synth writes JSON Lines only/],
    ]
    const outs = cases.map((_, i) => join(tempDir, `bad-${i}.jsonl`))
    const results = await Promise.all([...cases.map(([args], i) => synth(['-o', outs[i], ...args])), synth(['--events', '10'])])
    cases.forEach(([args, message], i) => {
      expect(results[i].stderr, args.join(' ')).toMatch(message)
      expect(results[i].code, args.join(' ')).toBe(2)
      expect(existsSync(outs[i])).toBe(false)
    })
    const missing = results[cases.length]
    expect(missing.stderr).toMatch(/Missing required flag out/)
    expect(missing.code).toBe(2)
  })

  it('parses sizes with decimal and binary units (other bad values: test/synth/sim.test.ts for --inject)', () => {
    expect(parseSize('200MB')).toBe(200_000_000)
    expect(parseSize('1.5GiB')).toBe(1.5 * 1024 ** 3)
    expect(parseSize('64k')).toBe(65536)
    expect(parseSize('5000')).toBe(5000)
    expect(() => parseSize('0')).toThrow(/at least 1 byte/)
    expect(() => parseSize('-5MB')).toThrow(/invalid size/)
    expect(() => parseSize('12XB')).toThrow(/^invalid size '12XB': expected a number with an optional unit, e.g. 200MB, 1.5GiB, 64KB$/)
  })
})
