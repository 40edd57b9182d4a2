/** A healthy two-sided session: no connection rule reports anything, and each one is evaluated. */
import {describe, expect, it} from 'vitest'
import {TraceBuilder} from '../../../src/synth/builder.js'
import {CONNECTION_RULES} from '../../../src/rules/connection/index.js'
import {analyzeEvents} from '../../helpers/run.js'
import {AH, AS, BUF, CB, H, MEMH, P, Q, S, T, connectedPair, getSockOpt, rdma, rdmaRegister} from './helpers.js'

function session(b: TraceBuilder): void {
  connectedPair(b)
  getSockOpt(b, 0x2003, 65536)
  getSockOpt(b, 0x700d, 1 << 20)
  // Both sides register their message buffers; the accepting side exposes an RDMA region.
  b.register(P, T, S, BUF, 65536, MEMH, 3)
  b.register(Q, T, AS, '0x6000000', 65536, '0x9101', 3)
  rdmaRegister(b, {desc: 'aabbccdd', flags: 2, len: 8192})
  b.post(Q, T, 'WSPRecv', AS, '0x7140', 256, {buf: '0x6000000'})
  b.post(P, T, 'WSPSend', S, '0x7000', 256)
  b.complete(P, CB, H, '0x7000', 256)
  b.complete(Q, CB, AH, '0x7140', 256)
  rdma(b, 'WSPRdmaWrite', {desc: 'aabbccdd', len: 8192, buf: '0x5002000'})
  b.complete(P, CB, H, '0x7080', 8192)
  b.callRet(Q, T, 'WSPDeregisterRdmaMemory', {Socket: AS, TargetDescriptor: 'aabbccdd', TargetDescriptorLen: 16})
  b.callRet(P, T, 'WSPDeregisterMemory', {Socket: S, MemHandle: MEMH})
  b.callRet(Q, T, 'WSPDeregisterMemory', {Socket: AS, MemHandle: '0x9101'})
  b.close(P, T, S, H)
  b.close(Q, T, AS, AH)
}

describe('connection rules on a healthy two-sided session', () => {
  it('find nothing', async () => {
    const b = new TraceBuilder()
    session(b)
    const r = await analyzeEvents(b.events, {ruleSet: CONNECTION_RULES})
    expect(r.findings.map((f) => `${f.rule}: ${f.message}`)).toEqual([])
    const status = Object.fromEntries(r.rules.map((s) => [s.rule, s.status]))
    // SAN014 needs a nonblocking connect (present); every rule has something to judge here.
    for (const id of ['SAN014', 'SAN015', 'SAN016', 'SAN017', 'SAN018', 'SAN019', 'SAN020', 'SAN021', 'SAN022', 'SAN023']) expect(status[id], id).toBe('passed')
  })
})
