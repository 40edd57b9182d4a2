import {describe, expect, it} from 'vitest'
import {CONTRACT_RULES} from '../../../src/rules/contract/index.js'
import {RULES} from '../../../src/rules/index.js'
import {TraceBuilder} from '../../../src/synth/builder.js'
import {analyzeEvents} from '../../helpers/run.js'

describe('contract rules: metadata', () => {
  it('SAN002–SAN011 in catalogue order, with complete docs', () => {
    expect(CONTRACT_RULES.map((r) => r.meta.id)).toEqual(['SAN002', 'SAN003', 'SAN004', 'SAN005', 'SAN006', 'SAN007', 'SAN008', 'SAN009', 'SAN010', 'SAN011'])
    for (const {meta: m} of CONTRACT_RULES) {
      for (const k of ['checks', 'why', 'fix'] as const) expect(m.docs[k].length, `${m.id} docs.${k}`).toBeGreaterThan(40)
      expect(m.docs.example.length, `${m.id} example`).toBeGreaterThan(0)
      for (const line of m.docs.example) expect(line, `${m.id} example line`).not.toContain('\n')
      expect(m.refs.length).toBeGreaterThan(0)
      for (const u of m.refs) expect(u).toMatch(/^https:\/\/learn\.microsoft\.com\/en-us\//)
      expect(m.needs.length).toBeGreaterThan(0)
      for (const g of m.needs) expect(g.why.length).toBeGreaterThan(5)
      expect(m.section).toMatch(/^[AB]\. /)
      expect(m.instance.length).toBeGreaterThan(3)
    }
  })

  it('threshold flags are kebab-case durations, and a flag shared with another rule keeps its default', () => {
    const known = new Map<string, string>()
    for (const r of RULES) for (const t of Object.values(r.meta.thresholds)) known.set(t.flag, t.default)
    for (const {meta: m} of CONTRACT_RULES) {
      for (const t of Object.values(m.thresholds)) {
        expect(t.flag).toMatch(/^[a-z]+(-[a-z]+)*$/)
        expect(t.default).toMatch(/^\d+ms$/)
        if (known.has(t.flag)) expect(t.default, t.flag).toBe(known.get(t.flag))
      }
    }
    expect(CONTRACT_RULES.find((r) => r.meta.id === 'SAN008')!.meta.thresholds.closeGrace).toMatchObject({flag: 'close-grace', default: '2000ms'})
    expect(CONTRACT_RULES.find((r) => r.meta.id === 'SAN011')!.meta.thresholds.setupCloseMax).toMatchObject({flag: 'setup-close-max', default: '5000ms'})
  })
})

describe('contract rules: a clean session', () => {
  it('a complete, well-behaved trace has no contract finding and every rule with events passes', async () => {
    const b = new TraceBuilder()
    const P = 900
    const T = 3
    b.startup(P, T)
    // Control socket: address list and extension lookups.
    b.socket(P, T, '0x100', '0x300')
    b.callRet(P, T, 'WSPIoctl', {Socket: '0x100', IoctlCode: 0x48000016, InLen: 0, OutLen: 256}, 0, 0, 0.02, {AddrCount: 1})
    b.callRet(P, T, 'WSPIoctl', {Socket: '0x100', IoctlCode: 0xc8000006, IoctlGuid: '{C0B422F5-F58C-11d1-AD6C-00C04FA34A2D}'})
    b.callRet(P, T, 'WSPIoctl', {Socket: '0x100', IoctlCode: 0xc8000006, IoctlGuid: '{C0B422FA-F58C-11d1-AD6C-00C04FA34A2D}'}, -1, 10045)
    // Connecting companion socket bound to the application's address.
    b.socket(P, T, '0x2a0', '0x3c4')
    b.callRet(P, T, 'WSPBind', {Socket: '0x2a0', Addr: '10.0.0.1:50001'})
    b.callRet(P, T, 'WSPEventSelect', {Socket: '0x2a0', EventHandle: '0x1f0', NetworkEvents: 0x10})
    b.callRet(P, T, 'WSPConnect', {Socket: '0x2a0', Addr: '10.0.0.2:80'}, -1, 10035)
    b.emit(P, undefined, 'NetEventSignal', {Socket: '0x2a0', EventHandle: '0x1f0', FdBit: 4, Error: 0})
    b.callRet(P, T, 'WSPEnumNetworkEvents', {Socket: '0x2a0', EventHandle: '0x1f0'}, 0, 0, 0.01, {NetworkEventsOut: 0x10, ErrorCodes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]})
    b.register(P, T, '0x2a0', '0x5000000', 65536, '0x9001')
    b.post(P, T, 'WSPRecv', '0x2a0', '0x7040', 4096)
    b.complete(P, 40, '0x3c4', '0x7040', 100)
    // Listening socket and an accepted connection.
    b.listen(P, T, '0x1a0', '0x400', '0.0.0.0:1433')
    b.accept(P, T, '0x1a0', '0x2b0', '0x404')
    for (const [s, h] of [['0x2b0', '0x404'], ['0x2a0', '0x3c4'], ['0x1a0', '0x400'], ['0x100', '0x300']]) b.close(P, T, s, h)
    b.callRet(P, T, 'WSPCleanup', {})
    const report = await analyzeEvents(b.events, {ruleSet: CONTRACT_RULES})
    expect(report.findings.map((f) => `${f.rule}: ${f.message}`)).toEqual([])
    const status = Object.fromEntries(report.rules.map((r) => [r.rule, r.status]))
    expect(status).toEqual({
      SAN002: 'passed',
      SAN003: 'passed',
      SAN004: 'passed',
      SAN005: 'passed',
      SAN006: 'passed',
      SAN007: 'passed',
      SAN008: 'passed',
      SAN009: 'passed',
      SAN010: 'passed',
      SAN011: 'passed',
    })
  })
})
