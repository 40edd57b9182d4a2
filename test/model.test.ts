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

  it('are let go once a newer socket took over both their descriptor and their switch handle, without moving the window', async () => {
    const {RELEASED_KEPT} = await import('../src/model/state.js')
    const m = new Model()
    let seq = 1
    /** Creates, closes and releases a socket with descriptor s and switch handle h; returns it. */
    const cycle = (s: string, h: string, release = true) => {
      const c = seq++
      m.apply(ev('call', 'WSPSocket', {Seq: c, Fn: 'WSPSocket'}))
      m.apply(ev('up', 'WPUCreateSocketHandle', {Seq: 500000 + c, Up: 'WPUCreateSocketHandle'}))
      m.apply(ev('upret', 'WPUCreateSocketHandle', {Seq: 500000 + c, Up: 'WPUCreateSocketHandle', NewSwitchSocket: h}))
      const k = m.apply(ev('ret', 'WSPSocket', {Seq: c, Fn: 'WSPSocket', Rc: Number(s)})).created!
      const d = seq++
      m.apply(ev('call', 'WSPCloseSocket', {Seq: d, Fn: 'WSPCloseSocket', Socket: s}))
      m.apply(ev('ret', 'WSPCloseSocket', {Seq: d, Fn: 'WSPCloseSocket', Rc: 0}))
      if (release) m.apply(ev('up', 'WPUCloseSocketHandle', {Seq: 600000 + d, Up: 'WPUCloseSocketHandle', SwitchSocket: h}))
      return k
    }
    const p = () => m.procs.get(1)!
    const kept = () => p().released.filter((k) => k !== undefined)
    const a = cycle('0x20', '0x900')
    expect(kept()).toEqual([a])
    // Same descriptor, another handle: the first is still found by its handle.
    const b = cycle('0x20', '0x904')
    expect(kept()).toEqual([a, b])
    expect(p().handles.get('0x900')).toBe(a)
    // Another descriptor taking over the first handle: the first is out of reach, its slot emptied.
    const c = cycle('0x24', '0x900')
    expect(kept()).toEqual([b, c])
    expect(p().released[0]).toBeUndefined()
    expect(p().releasedCount).toBe(3)
    // The window still counts the emptied slot: b leaves it after RELEASED_KEPT - 1 more releases.
    for (let j = 0; j < RELEASED_KEPT - 2; j++) cycle(`0x${(0x1000 + 4 * j).toString(16)}`, `0x${(0x20000 + 4 * j).toString(16)}`)
    expect(p().sockets.get('0x20')).toBe(b)
    cycle('0x4000', '0x40000')
    expect(p().sockets.get('0x20')).toBeUndefined()
    expect(p().handles.get('0x904')).toBeUndefined()
    expect(p().sockets.get('0x24')).toBe(c)
    expect(p().gens.get('0x20')).toBe(2)
    // Closed but not released: not in the window; a socket without pending operations shares the empty set.
    const open = cycle('0x5000', '0x50000', false)
    expect(open.state).toBe('CLOSED')
    expect(open.relSlot).toBeUndefined()
    expect(open.pending.size).toBe(0)
    expect(() => open.pending.add(undefined as never)).toThrow()
  })
})

describe('RDMA indexes', () => {
  /** A connected socket `s` with switch handle `h` in process `pid`. */
  function socket(m: Model, pid: number, s: string, h: string, seq: number): void {
    m.apply(ev('call', 'WSPSocket', {Seq: seq, Fn: 'WSPSocket'}, {pid}))
    m.apply(ev('up', 'WPUCreateSocketHandle', {Seq: seq + 1, Up: 'WPUCreateSocketHandle'}, {pid}))
    m.apply(ev('upret', 'WPUCreateSocketHandle', {Seq: seq + 1, Up: 'WPUCreateSocketHandle', NewSwitchSocket: h}, {pid}))
    m.apply(ev('ret', 'WSPSocket', {Seq: seq, Fn: 'WSPSocket', Rc: Number(s)}, {pid}))
  }
  const register = (m: Model, pid: number, s: string, seq: number, addr: string, desc: string): void => {
    m.apply(ev('call', 'WSPRegisterRdmaMemory', {Seq: seq, Fn: 'WSPRegisterRdmaMemory', Socket: s, RegAddr: addr, RegLen: 4096}, {pid}))
    m.apply(ev('ret', 'WSPRegisterRdmaMemory', {Seq: seq, Fn: 'WSPRegisterRdmaMemory', Rc: 0, Errno: 0, DescriptorOut: desc}, {pid}))
  }
  const rdma = (m: Model, pid: number, s: string, seq: number, ov: string, desc: string, errno: number): void => {
    m.apply(ev('call', 'WSPRdmaWrite', {Seq: seq, Fn: 'WSPRdmaWrite', Socket: s, Overlapped: ov, TargetDescriptor: desc}, {pid}))
    m.apply(ev('ret', 'WSPRdmaWrite', {Seq: seq, Fn: 'WSPRdmaWrite', Rc: errno ? -1 : 0, Errno: errno}, {pid}))
  }
  const targets = (m: Model, d: string): string[] => [...(m.rdmaTargets.get(d) ?? [])].map((o) => `${o.pid}:${o.ov}`)

  it('keep registrations by descriptor and by socket, in registration order, until deregistered or released', () => {
    const m = new Model()
    socket(m, 1, '0x20', '0x900', 1)
    socket(m, 1, '0x30', '0x904', 10)
    register(m, 1, '0x20', 20, '0x5000', '0xd1')
    register(m, 1, '0x30', 21, '0x6000', '0xd1')
    register(m, 1, '0x20', 22, '0x7000', '0xd2')
    const p = m.procs.get(1)!
    const k20 = p.sockets.get('0x20')!
    const k30 = p.sockets.get('0x30')!
    expect([...p.rdmaByDesc.get('0xd1')!].map((r) => r.sock?.s)).toEqual(['0x20', '0x30'])
    expect([...p.rdmaBySock.get(k20)!].map((r) => r.descriptor)).toEqual(['0xd1', '0xd2'])
    m.apply(ev('call', 'WSPDeregisterRdmaMemory', {Seq: 30, Fn: 'WSPDeregisterRdmaMemory', Socket: '0x20', TargetDescriptor: '0xd1'}))
    m.apply(ev('ret', 'WSPDeregisterRdmaMemory', {Seq: 30, Fn: 'WSPDeregisterRdmaMemory', Rc: 0, Errno: 0}))
    expect([...p.rdmaByDesc.get('0xd1')!].map((r) => r.sock?.s)).toEqual(['0x30'])
    expect([...p.rdmaBySock.get(k20)!].map((r) => r.descriptor)).toEqual(['0xd2'])
    m.apply(ev('call', 'WSPCloseSocket', {Seq: 31, Fn: 'WSPCloseSocket', Socket: '0x20'}))
    m.apply(ev('ret', 'WSPCloseSocket', {Seq: 31, Fn: 'WSPCloseSocket', Rc: 0}))
    m.apply(ev('up', 'WPUCloseSocketHandle', {Seq: 32, Up: 'WPUCloseSocketHandle', SwitchSocket: '0x900'}))
    expect(p.rdmaBySock.has(k20)).toBe(false)
    expect(p.rdmaByDesc.has('0xd2')).toBe(false)
    expect([...p.rdmaBySock.get(k30)!].map((r) => r.descriptor)).toEqual(['0xd1'])
    expect(p.rdmaRegs.size).toBe(1)
  })

  it('keep outstanding operations (and RDMA ones by target descriptor) until they finish or their OVERLAPPED is reused', () => {
    const m = new Model()
    socket(m, 1, '0x20', '0x900', 1)
    socket(m, 2, '0x40', '0x980', 1)
    rdma(m, 1, '0x20', 10, '0x7000', '0xd1', 997) // pending
    rdma(m, 2, '0x40', 11, '0x8000', '0xd1', 997) // pending, another process
    rdma(m, 1, '0x20', 12, '0x7040', '0xd1', 0) // done at once: never outstanding
    rdma(m, 1, '0x20', 13, '0x7080', '0xd1', 10055) // failed synchronously
    expect(targets(m, '0xd1')).toEqual(['1:0x7000', '2:0x8000'])
    expect([...m.procs.get(1)!.outstanding].map((o) => o.ov)).toEqual(['0x7000'])
    m.apply(ev('up', 'WPUCompleteOverlappedRequest', {Seq: 14, Up: 'WPUCompleteOverlappedRequest', SwitchSocket: '0x900', Overlapped: '0x7000', DwError: 0, CbTransferred: 10}))
    expect(targets(m, '0xd1')).toEqual(['2:0x8000'])
    const upret = ev('upret', 'WPUCompleteOverlappedRequest', {Seq: 14, Up: 'WPUCompleteOverlappedRequest', Rc: 0})
    m.apply(upret)
    expect(m.procs.get(1)!.ops.get('0x7000')!.upcallRet).toBe(upret)
    expect(m.procs.get(1)!.outstanding.size).toBe(0)
    // The OVERLAPPED of a still-pending operation is reused for a transfer that is not RDMA: the old one is no longer findable.
    m.apply(ev('call', 'WSPSend', {Seq: 15, Fn: 'WSPSend', Socket: '0x40', Overlapped: '0x8000'}, {pid: 2}))
    expect(m.rdmaTargets.has('0xd1')).toBe(false)
    expect([...m.procs.get(2)!.outstanding].map((o) => o.fn)).toEqual(['WSPSend'])
  })
})
