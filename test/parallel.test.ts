import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {expandInputs, globToRegExp, groupFiles} from '../src/parallel.js'
import {TraceBuilder} from '../src/synth/builder.js'
import {demoTracePath} from '../src/util/paths.js'
import {cli} from './helpers/cli.js'
import {jsonl, tempDir} from './helpers/run.js'

function tree(): string {
  const root = join(tempDir, 'traces')
  mkdirSync(join(root, 'night', 'deep'), {recursive: true})
  const demo = readFileSync(demoTracePath(), 'utf8')
  writeFileSync(join(root, 'a.jsonl'), demo)
  writeFileSync(join(root, 'night', 'b.jsonl'), demo)
  writeFileSync(join(root, 'night', 'deep', 'c.ndjson'), demo)
  writeFileSync(join(root, 'night', 'notes.txt'), 'not a trace')
  return root
}

describe('many traces', () => {
  it('globs', () => {
    expect(globToRegExp('**/*.etl').test('x/y/z.etl')).toBe(true)
    expect(globToRegExp('**/*.etl').test('z.etl')).toBe(true)
    expect(globToRegExp('*.etl').test('x/z.etl')).toBe(false)
    expect(globToRegExp('night/?.jsonl').test('night/b.jsonl')).toBe(true)
  })

  it('directories are searched recursively for traces, with include and exclude globs', async () => {
    const root = tree()
    const all = await expandInputs([root])
    expect(all.fromDirectory).toBe(true)
    expect(all.files.map((f) => f.slice(root.length + 1))).toEqual(['a.jsonl', 'night/b.jsonl', 'night/deep/c.ndjson'])
    expect((await expandInputs([root], ['**/*.ndjson'])).files).toHaveLength(1)
    expect((await expandInputs([root], [], ['night/**'])).files.map((f) => f.slice(root.length + 1))).toEqual(['a.jsonl'])
    await expect(expandInputs([root], ['*.etl'])).rejects.toThrow(/no trace files in this directory matching \*\.etl/)
  })

  it('--group keeps files with the same key together', () => {
    expect(groupFiles(['x/run1-client.jsonl', 'x/run2-client.jsonl', 'x/run1-server.jsonl'], '(run\\d)-')).toEqual([['x/run1-client.jsonl', 'x/run1-server.jsonl'], ['x/run2-client.jsonl']])
    expect(groupFiles(['a', 'b'])).toEqual([['a'], ['b']])
    expect(() => groupFiles(['a'], '(')).toThrow(/--group: not a regular expression/)
  })

  it('worker threads give the same result as one thread, in input order', async () => {
    const root = tree()
    const one = JSON.parse((await cli(['analyze', root, '--json', '-j', '1'])).stdout)
    const two = await cli(['analyze', root, '--json', '-j', '3'])
    expect(two.code).toBe(1)
    const par = JSON.parse(two.stdout)
    const key = (r: {findings: Array<{rule: string; pid: number; socket?: string; fingerprint: string; evidence: Array<{file: string}>}>}) =>
      r.findings.map((f) => `${f.rule} ${f.pid} ${f.socket} ${f.fingerprint} ${f.evidence[0].file}`)
    expect(key(par)).toEqual(key(one))
    expect(par.findings).toHaveLength(15)
    expect(par.inputs.map((i: {file: string}) => i.file.slice(root.length + 1))).toEqual(['a.jsonl', 'night/b.jsonl', 'night/deep/c.ndjson'])
    expect(par.summary.events).toBe(3 * one.inputs[0].events)
    expect(par.rules.find((s: {rule: string}) => s.rule === 'SAN013')).toMatchObject({status: 'violated', findings: 3})
  })

  it('files given one by one are one trace; --each and --group split them', async () => {
    const mk = (name: string): string => {
      const b = new TraceBuilder()
      b.connect(100, 1, '0x10', '0x20', '10.0.0.2:1')
      const p = join(tempDir, name)
      writeFileSync(p, jsonl(b.events))
      return p
    }
    const a1 = mk('g-a-1.jsonl')
    const a2 = mk('g-a-2.jsonl')
    const b = mk('g-b.jsonl')
    const procs = async (...args: string[]): Promise<number> => JSON.parse((await cli(['analyze', ...args, '--json', '--fail-on', 'never'])).stdout).summary.processes
    expect(await procs(a1, a2, b)).toBe(1)
    expect(await procs(a1, a2, b, '--each')).toBe(3)
    expect(await procs(a1, a2, b, '--group', 'g-(a|b)')).toBe(2)
  })
})
