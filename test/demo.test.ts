import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {analyze} from '../src/analyze.js'
import {demoJsonl} from '../src/synth/demo.js'
import {demoTracePath} from '../src/util/paths.js'

describe('the bundled demo trace', () => {
  it('is exactly what src/synth/demo.ts writes (regenerate with scripts/make-demo.mjs)', () => {
    expect(readFileSync(demoTracePath(), 'utf8')).toBe(demoJsonl())
  })

  it('shows exactly the planted violations, each on the right socket', async () => {
    const r = await analyze({files: [demoTracePath()]})
    const got = r.findings.map((f) => `${f.rule} ${f.severity} pid ${f.pid} ${f.socket ?? '-'}: ${f.message}`)
    expect(got).toEqual([
      expect.stringMatching(/^SAN012 error pid 4120 0x2b8: WSPConnect on 0x2b8 with no prior successful WSPEventSelect/),
      expect.stringMatching(/^SAN013 error pid 4120 0x2b8: WSPConnect blocked 2\.4 s > 1 s$/),
      expect.stringMatching(/^SAN001 error pid 4120 -: the switch called WSPCancelBlockingCall/),
      expect.stringMatching(/^SAN032 error pid 5230 0x1d0: resources still held after close: no WPUCloseSocketHandle for 0x1d0 \(switch handle 0x418\) within 2 s/),
      expect.stringMatching(/^SAN035 warning pid 6344 0x300: RDMA still outstanding 5 s after application request 21 was cancelled/),
    ])
    // Healthy traffic is judged, not skipped: the rules that passed did check something.
    const st = Object.fromEntries(r.rules.map((s) => [s.rule, s]))
    expect(st.SAN024.status).toBe('passed')
    expect(st.SAN030).toMatchObject({status: 'passed'})
    expect(st.SAN030.checked).toBeGreaterThanOrEqual(3)
    expect(st.SAN034.status).toBe('passed')
    expect(r.summary).toMatchObject({events: readFileSync(demoTracePath(), 'utf8').trim().split('\n').length, skipped: 0, processes: 3, sockets: 6})
    // Every rule of the catalogue judged the demo or said why it could not.
    expect(r.rules).toHaveLength(40)
    expect(r.rules.filter((s) => s.status === 'not-evaluated').map((s) => s.rule)).toEqual(['SAN023', 'SAN031', 'SAN036', 'SAN037', 'SAN038'])
  })
})
