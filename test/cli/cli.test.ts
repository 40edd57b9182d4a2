import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {cli, demoEventCount} from '../helpers/cli.js'
import {jsonl, tempFile} from '../helpers/run.js'

const ANSI = /\u001b\[/

function emptyDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'santrace-empty-'))
  writeFileSync(join(d, 'readme.txt'), 'no traces here')
  return d
}

describe('santrace analyze (out of process)', () => {
  it('analyzes the bundled demo trace with no argument, exit 1 on errors, no colour in a pipe', async () => {
    const r = await cli(['analyze'])
    expect(r.code).toBe(1)
    expect(r.stdout).not.toMatch(ANSI)
    for (const id of ['SAN001', 'SAN012', 'SAN013', 'SAN032', 'SAN035']) expect(r.stdout).toContain(id)
    expect(r.stdout).toMatch(/Process 4120/)
    expect(r.stdout).toMatch(/Socket 0x2b8 generation 1, switch handle 0x3d0/)
    expect(r.stdout).toMatch(/WSPConnect blocked 2\.4 s > 1 s/)
    expect(r.stdout).toContain(`demo.jsonl (jsonl): ${demoEventCount()} events read, 0 skipped`)
    expect(r.stderr).toBe('')
  })

  it('colour: FORCE_COLOR turns it on, NO_COLOR off, and the flags win over both', async () => {
    expect((await cli(['analyze'], {env: {FORCE_COLOR: '1'}})).stdout).toMatch(ANSI)
    expect((await cli(['analyze'], {env: {NO_COLOR: '1', FORCE_COLOR: '1'}})).stdout).not.toMatch(ANSI)
    expect((await cli(['analyze', '--color'], {env: {NO_COLOR: '1'}})).stdout).toMatch(ANSI)
    expect((await cli(['analyze', '--no-color'], {env: {FORCE_COLOR: '1'}})).stdout).not.toMatch(ANSI)
  })

  it('--json prints one document; --fail-on moves the exit code', async () => {
    const r = await cli(['analyze', '--json'])
    expect(r.code).toBe(1)
    const doc = JSON.parse(r.stdout)
    expect(doc.schemaVersion).toBe(1)
    expect(doc.findings.map((f: {rule: string}) => f.rule).sort()).toEqual(['SAN001', 'SAN012', 'SAN013', 'SAN032', 'SAN035'])
    expect(doc.rules.find((s: {rule: string}) => s.rule === 'SAN031').status).toBe('not-evaluated')
    expect((await cli(['analyze', '--fail-on', 'never'])).code).toBe(0)
    const onlyWarn = await cli(['analyze', '--rule', 'SAN035'])
    expect(onlyWarn.code).toBe(0)
    expect((await cli(['analyze', '--rule', 'SAN035', '--fail-on', 'warning'])).code).toBe(1)
  })

  it('threshold flags change the verdicts', async () => {
    const r = await cli(['analyze', '--json', '--connect-call-max', '3s', '--rdma-cancel-wait-max', '10s'])
    const rules = JSON.parse(r.stdout).findings.map((f: {rule: string}) => f.rule)
    expect(rules).not.toContain('SAN013')
    expect(rules).not.toContain('SAN035')
    const bad = await cli(['analyze', '--connect-call-max', 'soon'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--connect-call-max: invalid duration 'soon'/)
  })

  it('reads stdin with -', async () => {
    const demo = readFileSync(new URL('../../fixtures/demo/demo.jsonl', import.meta.url), 'utf8')
    const r = await cli(['analyze', '-', '--json'], {input: demo})
    expect(JSON.parse(r.stdout).summary.events).toBe(demoEventCount())
  })

  it('bad input gives a clear message and exit code 2, never a stack trace', async () => {
    for (const [args, msg] of [
      [['analyze', 'missing.jsonl'], /santrace: missing\.jsonl: no such file/],
      [['analyze', emptyDir()], /no trace files in this directory/],
      [['analyze', tempFile('empty.jsonl', '')], /the file is empty/],
      [['analyze', tempFile('junk.json', 'hello')], /not a trace santrace can read/],
      [['analyze', '--rule', 'SAN999'], /unknown rule 'SAN999'/],
      [['analyze', '--fail-on', 'sometimes'], /Expected --fail-on=sometimes to be one of/],
    ] as const) {
      const r = await cli([...args])
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2)
      expect(r.stderr).toMatch(msg)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
  })

  it('counts and reports skipped events without failing the run', async () => {
    const f = tempFile('skips.jsonl', jsonl([{ts: 1, pid: 1, tid: 1, event: 'SpiCall', Seq: 1, Fn: 'WSPCloseSocket', Socket: '0x10'}, {ts: 2, pid: 1, event: 'Nope'}]) + '{"ts": 3, "pid"')
    const r = await cli(['analyze', f, '--no-color'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Skipped 2 events: unknown event 1, invalid JSON 1/)
    expect(r.stdout).toMatch(/skips\.jsonl:2: \/event: unknown event "Nope"/)
  })
})

describe('santrace rules and timeline', () => {
  it('lists the rules and documents one', async () => {
    const list = await cli(['rules'])
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(/SAN030/)
    const doc = await cli(['rules', 'san030', '--close-grace', '3s'])
    expect(doc.stdout).toMatch(/SAN030 — Close aborts all pending operations/)
    expect(doc.stdout).toMatch(/--close-grace \(default 2000ms; now 3s from the command line\)/)
    expect(doc.stdout).toMatch(/closing-a-san-socket/)
    expect((await cli(['rules', 'SAN999'])).code).toBe(2)
  })

  it('lists sockets, then shows one socket with its findings inline', async () => {
    const list = await cli(['timeline'])
    expect(list.stdout).toMatch(/│ 4120 │ 0x2b8 +│ 1 +│ CONNECT/)
    const t = await cli(['timeline', '--socket', '0x2b8', '--pid', '4120'])
    expect(t.code).toBe(0)
    expect(t.stdout).toMatch(/→ {2}WSPConnect Socket=0x2b8 Addr=10\.0\.0\.3:1433 {2}◀ \[1\] SAN012 ◀ \[2\] SAN013/)
    expect(t.stdout).toMatch(/✖ \[2\] error SAN013 WSPConnect blocked 2\.4 s > 1 s/)
    const none = await cli(['timeline', '--socket', '0x999'])
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/no socket 0x999/)
  })

  it('--help documents commands and exit codes', async () => {
    const r = await cli(['analyze', '--help'])
    expect(r.stdout).toMatch(/--fail-on/)
    expect(r.stdout).toMatch(/THRESHOLDS FLAGS/)
    expect(r.stdout).toMatch(/Exit codes: 0/)
  })
})
