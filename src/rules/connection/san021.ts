import {RDMA_FNS} from '../../model/constants.js'
import {num, str} from '../../model/event.js'
import type {Op, RdmaReg, Sock, Step} from '../../model/state.js'
import {C} from '../refs.js'
import type {RuleModule} from '../types.js'
import {Peers} from './peers.js'
import {LocalRegs, MEM_READ, MEM_WRITE, type Region, memFlagsText, rdmaTarget} from './regs.js'
import {CLOSED_STATES, bufText, buffersOf, merge, opName, rangeText} from './util.js'

/** Sources read local memory; sinks write it. */
const SOURCES = new Set(['WSPSend', 'WSPRdmaWrite'])
const TRANSFERS = ['WSPSend', 'WSPRecv', 'WSPRdmaWrite', 'WSPRdmaRead']

/** SAN021: local buffers used in the direction their registration allows; the peer's RDMA honours MEM_READ/MEM_WRITE. */
export const SAN021: RuleModule = {
  meta: {
    id: 'SAN021',
    title: 'Access-mode compatibility',
    severity: 'warning',
    fault: 'switch/provider',
    section: 'E. Memory registration',
    refs: [C('registering-memory-for-operations-on-a-san')],
    docs: {
      checks:
        'Local: a transfer source buffer (WSPSend, WSPRdmaWrite) inside a WSPRegisterMemory registration made with MEM_WRITE only, or a sink buffer (WSPRecv, WSPRdmaRead) inside one made with MEM_READ only, is a warning against the switch (this reading of MEM_* for local memory is inferred). Remote, in two-sided traces: a WSPRdmaWrite into a peer WSPRegisterRdmaMemory region registered MEM_READ only, or a WSPRdmaRead from one registered MEM_WRITE only, that completes successfully is an error against the provider, which failed to enforce the access mode.',
      why: 'Registering memory read-only or write-only is how the switch limits what the adapter, and the peer, may do to application memory. A mismatched local registration makes the transfer fail on providers that enforce it; a peer RDMA that succeeds against the access mode means remote hosts can read or overwrite memory they were not granted.',
      fix: 'Switch: register send sources with MEM_READ (or MEM_READWRITE) and receive sinks with MEM_WRITE; expose RDMA regions with the access the peer needs. Provider: program the memory region access rights from the flags (for RDMA: remote read for MEM_READ, remote write for MEM_WRITE) so the adapter rejects other accesses.',
      example: [
        '+0.000 s  SpiCall WSPRegisterMemory Socket=0x2a0 RegAddr=0x5000000 RegLen=65536 MemFlags=2 (MEM_WRITE)',
        '+0.001 s  SpiCall WSPSend Socket=0x2a0 Overlapped=0x7000 Buffers=[{Addr:0x5000000,Len:100}]   <- source in a write-only region',
      ],
    },
    thresholds: {},
    needs: [
      {keys: ['call:WSPRegisterMemory', 'call:WSPRegisterRdmaMemory'], why: 'memory registrations (WSPRegisterMemory / WSPRegisterRdmaMemory)'},
      {keys: ['call:WSPSend', 'call:WSPRecv', 'call:WSPRdmaWrite', 'call:WSPRdmaRead'], why: 'data-transfer calls'},
    ],
    instance: 'transfer buffer in a registration with known access flags, or RDMA into a peer registration',
  },
  create(ctx) {
    const regs = new LocalRegs()
    const peers = new Peers()
    /** RDMA operations that go against the target region's access mode, until they complete. */
    const watched = new WeakMap<Op, {reg: RdmaReg; need: string}>()

    const local = (step: Step, k: Sock): void => {
      const ev = step.ev
      const bufs = buffersOf(ev, step.call?.op)
      if (!bufs) return ctx.inconclusive(`${ev.fn} without a Buffers field`)
      const source = SOURCES.has(ev.fn)
      const rdma = RDMA_FNS.has(ev.fn)
      const bad = source ? MEM_WRITE : MEM_READ
      for (const b of bufs) {
        // Candidates: containing registrations (with the buffer's handle for RDMA) whose flags are known.
        const byHandle = rdma && b.handle !== undefined
        let r: Region | undefined
        let allowed = false
        for (const x of regs.containing(k, b.start, b.end)) {
          if ((byHandle && x.handle !== b.handle) || x.flags === undefined) continue
          r ??= x
          if (x.flags !== bad) allowed = true
        }
        if (!r) continue // no registration with known flags (coverage is SAN020)
        ctx.checked()
        if (allowed) continue
        ctx.report({
          message: `${opName(ev)} on ${k.s} ${source ? 'reads' : 'writes'} ${bufText(b)} in registration ${r.handle} ${rangeText(r.start, r.end)} registered ${memFlagsText(r.flags)} only: a transfer ${source ? 'source must be readable (MEM_READ)' : 'sink must be writable (MEM_WRITE)'}`,
          fault: 'switch',
          sock: k,
          evidence: [['registration', r.call], ['transfer', ev]],
        })
      }
    }

    const remote = (step: Step, k: Sock): void => {
      const ev = step.ev
      const desc = str(ev.f.TargetDescriptor)
      const op = step.call?.op
      if (desc === undefined || !op) return
      const t = rdmaTarget(ctx.model, k, desc, peers.peerOf.get(k))
      if (t.kind !== 'peer') return
      const flags = num(t.reg.call.f.MemFlags)
      if (flags === undefined) return
      ctx.checked()
      const write = ev.fn === 'WSPRdmaWrite'
      if ((write && flags === MEM_READ) || (!write && flags === MEM_WRITE)) watched.set(op, {reg: t.reg, need: write ? 'MEM_WRITE' : 'MEM_READ'})
    }

    const transfer = (step: Step): void => {
      const k = step.sock
      const before = step.call?.before ?? step.before
      if (!k || !before || CLOSED_STATES.has(before)) return
      local(step, k)
      if (RDMA_FNS.has(step.ev.fn)) remote(step, k)
    }

    /** A completion (or synchronous result) of a watched RDMA operation. */
    const completion = (step: Step): void => {
      const op = step.op
      const w = op && watched.get(op)
      if (!op || !w) return
      if (op.state === 'FAILED_SYNC') return void watched.delete(op)
      const c = op.done
      if (!c) return
      watched.delete(op)
      if (c.status !== 0) return
      const flags = num(w.reg.call.f.MemFlags)
      ctx.report({
        message: `${opName(op.call)} on ${op.sock?.s} ${op.fn === 'WSPRdmaWrite' ? 'wrote' : 'read'} ${c.bytes ?? '?'} bytes ${op.fn === 'WSPRdmaWrite' ? 'into' : 'from'} the peer region ${rangeText(w.reg.start, w.reg.end)} (pid ${w.reg.ret.pid}, socket ${w.reg.sock?.s}) registered ${memFlagsText(flags)} only, and completed successfully: the provider did not enforce the access mode (${w.need} needed)`,
        severity: 'error',
        fault: 'provider',
        sock: op.sock,
        evidence: [['peer registration', w.reg.call], ['RDMA', op.call], ['completion', c.ev]],
      })
    }

    const own: Record<string, (s: Step) => void> = {
      'ret:WSPRdmaWrite': completion,
      'ret:WSPRdmaRead': completion,
      'up:WPUCompleteOverlappedRequest': completion,
      'ret:WSPGetOverlappedResult': completion,
      'prov:OpDone': completion,
    }
    for (const fn of TRANSFERS) own[`call:${fn}`] = transfer
    return merge(regs.listener(), peers.listener(), own, peers.cleanup())
  },
}
