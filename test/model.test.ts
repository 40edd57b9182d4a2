import {describe, expect, it} from 'vitest'
import {Model, DONE_OPS_KEPT} from '../src/model/state.js'
import type {Ev} from '../src/model/event.js'

let i = 0
function ev(kind: Ev['kind'], fn: string, f: Record<string, unknown>, extra: Partial<Ev> = {}): Ev {
  return {i: i++, ts: i * 10, pid: 1, tid: 1, provider: 'WSD.SanSpi', event: '', kind, fn, key: `${kind}:${fn}`, seq: f.Seq as number | undefined, f: f as Ev['f'], src: {file: 't', line: i}, ...extra}
}

describe('model memory', () => {
  it('forgets the oldest finished operations beyond the bound, whatever the trace length', () => {
    const m = new Model()
    m.apply(ev('call', 'WSPSocket', {Seq: 1, Fn: 'WSPSocket'}))
    m.apply(ev('ret', 'WSPSocket', {Seq: 1, Fn: 'WSPSocket', Rc: 0x2a0}))
    const n = DONE_OPS_KEPT + 5000
    for (let k = 0; k < n; k++) {
      const ov = `0x${(0x100000 + k * 0x40).toString(16)}`
      m.apply(ev('call', 'WSPSend', {Seq: 10 + k, Fn: 'WSPSend', Socket: '0x2a0', Overlapped: ov, HEvent: '0x10'}))
      m.apply(ev('ret', 'WSPSend', {Seq: 10 + k, Fn: 'WSPSend', Rc: 0, Errno: 0, BytesOut: 10}))
    }
    const p = m.procs.get(1)!
    expect(p.ops.size).toBe(DONE_OPS_KEPT)
    expect(p.doneOps.length - p.doneHead).toBe(DONE_OPS_KEPT)
    expect(p.callsBySeq.size).toBe(0)
  })

  it('a reused descriptor starts a new generation; pairing by Seq across interleaved threads', () => {
    const m = new Model()
    m.apply(ev('call', 'WSPSocket', {Seq: 1, Fn: 'WSPSocket'}, {tid: 5}))
    m.apply(ev('call', 'WSPSocket', {Seq: 2, Fn: 'WSPSocket'}, {tid: 6}))
    const r2 = m.apply(ev('ret', 'WSPSocket', {Seq: 2, Fn: 'WSPSocket', Rc: 0x30}, {tid: 6}))
    const r1 = m.apply(ev('ret', 'WSPSocket', {Seq: 1, Fn: 'WSPSocket', Rc: 0x20}, {tid: 5}))
    expect(r2.created?.s).toBe('0x30')
    expect(r1.call?.ev.seq).toBe(1)
    m.apply(ev('call', 'WSPCloseSocket', {Seq: 3, Fn: 'WSPCloseSocket', Socket: '0x20'}))
    m.apply(ev('ret', 'WSPCloseSocket', {Seq: 3, Fn: 'WSPCloseSocket', Rc: 0}))
    m.apply(ev('call', 'WSPSocket', {Seq: 4, Fn: 'WSPSocket'}))
    const again = m.apply(ev('ret', 'WSPSocket', {Seq: 4, Fn: 'WSPSocket', Rc: 0x20}))
    expect(again.created).toMatchObject({s: '0x20', gen: 2, state: 'CREATED'})
    const bind = m.apply(ev('call', 'WSPBind', {Seq: 5, Fn: 'WSPBind', Socket: '0x20'}))
    expect(bind.sock?.gen).toBe(2)
  })
})

describe('released sockets', () => {
  it('stay findable for the last RELEASED_KEPT of a process, then only their generation count remains', async () => {
    const {RELEASED_KEPT} = await import('../src/model/state.js')
    const m = new Model()
    const n = RELEASED_KEPT + 10
    for (let k = 0; k < n; k++) {
      const s = 0x1000 + k * 4
      const h = `0x${(0x90000 + k * 4).toString(16)}`
      m.apply(ev('call', 'WSPSocket', {Seq: 3 * k + 1, Fn: 'WSPSocket'}))
      m.apply(ev('up', 'WPUCreateSocketHandle', {Seq: 100000 + k, Up: 'WPUCreateSocketHandle'}))
      m.apply(ev('upret', 'WPUCreateSocketHandle', {Seq: 100000 + k, Up: 'WPUCreateSocketHandle', NewSwitchSocket: h}))
      m.apply(ev('ret', 'WSPSocket', {Seq: 3 * k + 1, Fn: 'WSPSocket', Rc: s}))
      m.apply(ev('call', 'WSPCloseSocket', {Seq: 3 * k + 2, Fn: 'WSPCloseSocket', Socket: `0x${s.toString(16)}`}))
      m.apply(ev('ret', 'WSPCloseSocket', {Seq: 3 * k + 2, Fn: 'WSPCloseSocket', Rc: 0}))
      m.apply(ev('up', 'WPUCloseSocketHandle', {Seq: 200000 + k, Up: 'WPUCloseSocketHandle', SwitchSocket: h}))
    }
    const p = m.procs.get(1)!
    expect(p.sockets.size).toBe(RELEASED_KEPT)
    expect(p.handles.size).toBe(RELEASED_KEPT)
    expect(p.gens.size).toBe(n)
    expect(p.sockets.get('0x1000')).toBeUndefined()
    expect(p.sockets.get(`0x${(0x1000 + (n - 1) * 4).toString(16)}`)?.state).toBe('RELEASED')
  })
})
