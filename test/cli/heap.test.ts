import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {DEFAULT_HEAP_MB, outOfMemoryMessage, planHeap, relaunch} from '../../src/cli/heap.js'
import {cli} from '../helpers/cli.js'

describe('heap budget: the plan', () => {
  it('relaunches with the default budget and a smaller semi-space', () => {
    const p = planHeap({}, [])
    expect(p).toEqual({relaunch: true, budgetMb: DEFAULT_HEAP_MB, flags: [`--max-old-space-size=${DEFAULT_HEAP_MB}`, '--max-semi-space-size=8']})
  })

  it('SANTRACE_MAX_HEAP sets the budget; 0 leaves Node its own limit', () => {
    expect(planHeap({SANTRACE_MAX_HEAP: '4096'}, [])).toMatchObject({relaunch: true, budgetMb: 4096, flags: ['--max-old-space-size=4096', '--max-semi-space-size=8']})
    expect(planHeap({SANTRACE_MAX_HEAP: ' 0 '}, [])).toMatchObject({relaunch: false})
  })

  it('leaves heap flags the user gave to Node alone, runs in place under a debugger or profiler, and never relaunches the child', () => {
    expect(planHeap({NODE_OPTIONS: '--max-old-space-size=300'}, [])).toMatchObject({relaunch: false, why: 'heap flags given to Node'})
    expect(planHeap({}, ['--max-semi-space-size=4'])).toMatchObject({relaunch: false})
    expect(planHeap({NODE_OPTIONS: '--max_old_space_size=4096'}, [])).toMatchObject({relaunch: false, why: 'heap flags given to Node'})
    expect(planHeap({NODE_OPTIONS: '--enable-source-maps'}, [])).toMatchObject({relaunch: true})
    expect(planHeap({SANTRACE_HEAP_CHILD: '1'}, [])).toMatchObject({relaunch: false, why: 'already the relaunched child'})
    expect(planHeap({}, ['--inspect-brk'])).toMatchObject({relaunch: false, why: 'debugger or profiler attached'})
    expect(planHeap({NODE_OPTIONS: '--cpu-prof'}, [])).toMatchObject({relaunch: false, why: 'debugger or profiler attached'})
  })

  it('rejects a budget that is not a number of MB, or too small to start', () => {
    expect(() => planHeap({SANTRACE_MAX_HEAP: '1g'}, [])).toThrow(/expected a number of MB .* got "1g"/)
    expect(() => planHeap({SANTRACE_MAX_HEAP: '10'}, [])).toThrow(/at least 64/)
    // Checked however Node was started.
    expect(() => planHeap({SANTRACE_MAX_HEAP: 'x', NODE_OPTIONS: '--max-old-space-size=300'}, [])).toThrow(/SANTRACE_MAX_HEAP/)
  })
})

describe('heap budget: the relaunch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'santrace-heap-'))

  it('passes arguments, standard streams and the exit code through', async () => {
    const script = join(dir, 'echo.mjs')
    const out = join(dir, 'echo.json')
    writeFileSync(script, `import v8 from "node:v8"\nimport {writeFileSync} from "node:fs"\nwriteFileSync(${JSON.stringify(out)}, JSON.stringify({argv: process.argv.slice(2), child: process.env.SANTRACE_HEAP_CHILD, limit: v8.getHeapStatistics().heap_size_limit}))\nprocess.exitCode = 3\n`)
    const code = await relaunch(script, {relaunch: true, budgetMb: 200, flags: ['--max-old-space-size=200']}, ['a', '--b'])
    expect(code).toBe(3)
    const seen = JSON.parse(readFileSync(out, 'utf8'))
    expect(seen.argv).toEqual(['a', '--b'])
    expect(seen.child).toBe('1')
    expect(seen.limit / 1048576).toBeGreaterThanOrEqual(200)
    expect(seen.limit / 1048576).toBeLessThan(300)
  })

  it('explains a child that ran out of its heap, and ends with exit code 2', async () => {
    const script = join(dir, 'grow.mjs')
    writeFileSync(script, 'const a = []\nfor (;;) a.push({x: Math.random(), y: [1, 2, 3]})\n')
    const writes: string[] = []
    const write = process.stderr.write
    process.stderr.write = ((s: string) => (writes.push(String(s)), true)) as typeof process.stderr.write
    let code: number
    try {
      code = await relaunch(script, {relaunch: true, budgetMb: 64, flags: ['--max-old-space-size=64']}, [], 'ignore')
    } finally {
      process.stderr.write = write
    }
    expect(code).toBe(2)
    expect(writes.join('')).toContain(outOfMemoryMessage(64))
    expect(outOfMemoryMessage(64)).toMatch(/most likely out of memory.*more than its 64 MB heap budget.*SANTRACE_MAX_HEAP=256/)
  }, 60_000)

  it('the CLI runs its commands in a child with the budget (SANTRACE_MAX_HEAP), or in place when Node has heap flags', async () => {
    // A module loaded into every Node process of the run reports each one's heap limit.
    const probe = join(dir, 'probe.mjs')
    writeFileSync(probe, 'import v8 from "node:v8"\nprocess.on("exit", () => process.stderr.write(`heap-limit ${process.env.SANTRACE_HEAP_CHILD ? "child" : "parent"} ${Math.round(v8.getHeapStatistics().heap_size_limit / 1048576)}\\n`))\n')
    const r = await cli(['rules'], {env: {NODE_OPTIONS: `--import=${probe}`, SANTRACE_MAX_HEAP: '300'}})
    expect(r.code).toBe(0)
    const child = /heap-limit child (\d+)/.exec(r.stderr)
    expect(child, r.stderr).not.toBeNull()
    // The limit covers the old generation plus the young one.
    expect(Number(child![1])).toBeGreaterThanOrEqual(300)
    expect(Number(child![1])).toBeLessThan(400)
    expect(r.stderr).toMatch(/heap-limit parent/)

    const own = await cli(['rules'], {env: {NODE_OPTIONS: `--import=${probe} --max-old-space-size=200`}})
    expect(own.code).toBe(0)
    expect(own.stderr).not.toMatch(/heap-limit child/)
    expect(own.stderr).toMatch(/heap-limit parent 2\d\d/)
  }, 60_000)
})
