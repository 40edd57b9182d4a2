import {RDMA_FNS, errorName} from '../../model/constants.js'
import type {Ev} from '../../model/event.js'
import {num, str} from '../../model/event.js'
import {type Model, type Op, type Proc, type RdmaReg, type Sock, type Step, isOutstanding} from '../../model/state.js'
import {formatOffset} from '../../util/duration.js'
import {C, R} from '../refs.js'
import type {RuleModule} from '../types.js'
import {LocalRegs, type Region, rdmaLive} from './regs.js'
import {CLOSED_STATES, merge, opName, overlaps, rangeText} from './util.js'

const WSAEINVAL = 10022

/** What the provider owes at the return of a judged deregistration. */
interface Expect {
  sock: Sock
  /** The handle or descriptor was not valid for this socket: the provider must fail with WSAEINVAL. */
  invalid?: string
  /** Outstanding operations using the memory: the provider must not succeed. */
  inUse?: Op[]
}

/** Outstanding operations of the socket whose local buffers overlap the region or name its handle. */
function usersOf(k: Sock, range: {start: bigint; end: bigint}, handle?: string): {ops: Op[]; unknown: number} {
  const ops: Op[] = []
  let unknown = 0
  for (const op of k.pending) {
    if (!isOutstanding(op)) continue
    if (!op.buffers) {
      unknown++
      continue
    }
    if (op.buffers.some((b) => overlaps(b, range) || (handle !== undefined && b.handle === handle))) ops.push(op)
  }
  return {ops, unknown}
}

/**
 * Outstanding RDMA operations of other sockets (any process) that target descriptor `d`, in
 * the order of the processes and of their operation maps. The model's index finds them; with
 * several, the maps are walked for that order (messages list the first ones).
 */
function remoteUsers(model: Model, k: Sock, d: string): Op[] {
  const set = model.rdmaTargets.get(d)
  if (!set) return []
  let first: Op | undefined
  let n = 0
  for (const op of set) {
    if (op.sock === k) continue
    if (n++ === 0) first = op
  }
  if (n <= 1) return first ? [first] : []
  const out: Op[] = []
  for (const p of model.procs.values()) {
    for (const op of p.ops.values()) {
      if (op.sock !== k && RDMA_FNS.has(op.fn) && isOutstanding(op) && op.target === d) out.push(op)
    }
  }
  return out
}

/** Whether an outstanding RDMA operation of another socket targets descriptor `d` (undefined: one without a TargetDescriptor). */
function remoteUsed(model: Model, k: Sock, d: string | undefined): boolean {
  if (d === undefined) {
    // Not indexed: walk the operations.
    for (const p of model.procs.values()) {
      for (const op of p.ops.values()) if (op.sock !== k && RDMA_FNS.has(op.fn) && isOutstanding(op) && op.target === undefined) return true
    }
    return false
  }
  const set = model.rdmaTargets.get(d)
  if (set) for (const op of set) if (op.sock !== k) return true
  return false
}

/** Live RDMA registrations of the process with descriptor `d`, in registration order. */
function liveByDesc(p: Proc, d: string): RdmaReg[] {
  const set = p.rdmaByDesc.get(d)
  const out: RdmaReg[] = []
  if (set) for (const r of set) if (rdmaLive(r)) out.push(r)
  return out
}

const opsText = (ops: Op[]): string => ops.slice(0, 3).map((o) => opName(o.call)).join(', ') + (ops.length > 3 ? ` and ${ops.length - 3} more` : '')

/** SAN022: deregister on the registering socket, a live handle/descriptor, never under a pending transfer; deregister before close. */
export const SAN022: RuleModule = {
  meta: {
    id: 'SAN022',
    title: 'Deregistration contract',
    severity: 'error',
    fault: 'switch/provider',
    section: 'E. Memory registration',
    refs: [R('ff566279'), R('ff566281'), C('registering-memory-for-operations-on-a-san'), C('caching-registered-memory')],
    docs: {
      checks:
        'WSPDeregisterMemory with a handle registered on another socket, or with an unknown or already deregistered handle, is an error against the switch, and the provider must fail it with WSAEINVAL (a success or another code is an error against the provider). Deregistering memory that an outstanding transfer of the socket uses is a warning against the switch, and its success an error against the provider (memory released under an in-flight DMA). The same applies to WSPDeregisterRdmaMemory and its descriptor, where the users are outstanding peer RDMA operations targeting the descriptor (two-sided traces) and local RDMA operations whose buffers overlap the region. At WSPCloseSocket, registrations still live and not used by pending operations are reported as info ("should deregister before close"), except on a socket duplicated out, where only close is allowed. Calls on closed descriptors are left to SAN033.',
      why: 'A registration is per socket and pins the memory the adapter transfers to or from. Deregistering the wrong socket\'s handle releases memory another connection still uses; deregistering memory under an in-flight transfer lets the adapter DMA into memory the application may already have freed or reused.',
      fix: 'Switch: deregister with the socket and handle of the registration, only after the transfers using it completed, and deregister what is not in use before closing. Provider: validate the handle against the socket and refuse (WSAEINVAL) unknown handles and memory still in use by a transfer.',
      example: [
        '+0.000 s  SpiCall WSPRecv Socket=0x2a0 Overlapped=0x7040 Buffers=[{Addr:0x5000000,Len:4096}]',
        '+0.000 s  SpiReturn WSPRecv Rc=-1 Errno=WSA_IO_PENDING',
        '+0.010 s  SpiCall WSPDeregisterMemory Socket=0x2a0 MemHandle=0x9001   <- memory in use by the pending receive',
        '+0.010 s  SpiReturn WSPDeregisterMemory Rc=0   <- provider released it under an in-flight DMA',
      ],
    },
    thresholds: {},
    needs: [
      {keys: ['ret:WSPRegisterMemory', 'ret:WSPRegisterRdmaMemory'], why: 'memory registrations (WSPRegisterMemory / WSPRegisterRdmaMemory returns)'},
      {keys: ['call:WSPDeregisterMemory', 'call:WSPDeregisterRdmaMemory', 'call:WSPCloseSocket'], why: 'deregistrations or WSPCloseSocket calls'},
    ],
    instance: 'deregistration, or close of a socket with known registrations',
  },
  create(ctx) {
    const regs = new LocalRegs()
    /** Deregistrations awaiting their return. */
    const expect = new Map<Ev, Expect>()
    /** RDMA descriptors deregistered per socket (until its close), for messages. */
    const goneRdma = new Map<Sock, Map<string, Ev>>()

    /** Common preconditions; undefined when the call is not judged. */
    const judged = (step: Step, what: string | undefined, field: string): Sock | undefined => {
      const k = step.sock
      const before = step.call?.before ?? step.before
      if (!k || !before || CLOSED_STATES.has(before)) return undefined
      if (what === undefined) return void ctx.inconclusive(`${step.ev.fn} without a ${field} field`)
      if (!k.created) return void ctx.inconclusive(`${step.ev.fn} on a socket created before the trace began (its registrations may predate the trace)`)
      ctx.checked()
      return k
    }

    const invalid = (step: Step, k: Sock, what: string, why: string, evidence: Array<[string, Ev | undefined]>): void => {
      expect.set(step.ev, {sock: k, invalid: why})
      ctx.report({
        message: `${step.ev.fn} on ${k.s} with ${what}: ${why}`,
        fault: 'switch',
        sock: k,
        evidence: [...evidence, ['deregistration', step.ev]],
      })
    }

    const inUse = (step: Step, k: Sock, what: string, ops: Op[]): void => {
      expect.set(step.ev, {sock: k, inUse: ops})
      ctx.report({
        message: `${step.ev.fn} on ${k.s} releases ${what} while ${ops.length} transfer${ops.length > 1 ? 's use' : ' uses'} it (${opsText(ops)} outstanding): memory in use by a data transfer cannot be released`,
        severity: 'warning',
        fault: 'switch',
        sock: k,
        evidence: [...ops.slice(0, 3).map((o): [string, Ev] => ['outstanding transfer', o.call]), ['deregistration', step.ev]],
      })
    }

    const deregMem = (step: Step): void => {
      const h = str(step.ev.f.MemHandle)
      const k = judged(step, h, 'MemHandle')
      if (!k || h === undefined) return
      const r = regs.get(k, h)
      if (!r) {
        const other = regs.elsewhere(k, h)[0]
        const gone = regs.deregistered(k, h)
        const why = other
          ? `it was registered on ${other.sock.s} (${rangeText(other.start, other.end)}), not on this socket; a handle is valid only for its socket`
          : gone
            ? `it was already deregistered at ${formatOffset(gone.ts)}`
            : 'no live WSPRegisterMemory of this socket returned it'
        return invalid(step, k, `handle ${h}`, why, [['registration', other?.ret], ['earlier deregistration', gone]])
      }
      const {ops, unknown} = usersOf(k, r, h)
      if (ops.length) return inUse(step, k, `registration ${h} ${rangeText(r.start, r.end)}`, ops)
      if (unknown) ctx.inconclusive('outstanding transfers without traced Buffers at a deregistration')
    }

    const deregRdma = (step: Step): void => {
      const d = str(step.ev.f.TargetDescriptor)
      const k = judged(step, d, 'TargetDescriptor')
      if (!k || d === undefined) return
      const live = liveByDesc(step.proc, d)
      const mine = live.find((r) => r.sock === k)
      if (!mine) {
        const other = live[0]
        const gone = goneRdma.get(k)?.get(d)
        const why = other
          ? `it was registered on ${other.sock?.s} (${rangeText(other.start, other.end)}), not on this socket`
          : gone
            ? `it was already deregistered at ${formatOffset(gone.ts)}`
            : 'no live WSPRegisterRdmaMemory of this socket returned it'
        return invalid(step, k, `descriptor ${d}`, why, [['registration', other?.ret], ['earlier deregistration', gone]])
      }
      const local = usersOf(k, mine).ops.filter((o) => RDMA_FNS.has(o.fn))
      const remote = remoteUsers(ctx.model, k, d)
      const ops = remote.length ? [...remote, ...local] : local
      if (ops.length) inUse(step, k, `RDMA registration ${d} ${rangeText(mine.start, mine.end)}`, ops)
    }

    const deregRet = (step: Step): void => {
      const call = step.call?.ev
      const e = call && expect.get(call)
      if (!call || !e) return
      expect.delete(call)
      const rc = num(step.ev.f.Rc)
      const err = num(step.ev.f.Errno)
      if (e.invalid && (rc === 0 || err !== WSAEINVAL)) {
        ctx.report({
          message: `the provider ${rc === 0 ? 'accepted' : `failed with ${errorName(err)}`} ${call.fn} on ${e.sock.s} (${e.invalid}); it must fail with WSAEINVAL (10022)`,
          fault: 'provider',
          sock: e.sock,
          evidence: [['deregistration', call], ['return', step.ev]],
        })
      } else if (e.inUse && rc === 0) {
        ctx.report({
          message: `the provider accepted ${call.fn} on ${e.sock.s} while ${opsText(e.inUse)} still used the memory: memory released under an in-flight DMA (it must fail with WSAEINVAL)`,
          fault: 'provider',
          sock: e.sock,
          evidence: [...e.inUse.slice(0, 3).map((o): [string, Ev] => ['outstanding transfer', o.call]), ['deregistration', call], ['return', step.ev]],
        })
      }
    }

    const close = (step: Step): void => {
      const k = step.sock
      const before = step.call?.before ?? step.before
      if (!k || !before || CLOSED_STATES.has(before) || before === 'DUPLICATED_OUT') return
      const local = regs.regions(k)
      const mine = step.proc.rdmaBySock.get(k)
      const rdma = mine ? [...mine].filter(rdmaLive) : []
      if (!k.created && local.length + rdma.length === 0) return
      ctx.checked()
      const usedLocal = (r: Region): boolean => usersOf(k, r, r.handle).ops.length > 0
      const usedRdma = (r: RdmaReg): boolean => {
        if (usersOf(k, r).ops.some((o) => RDMA_FNS.has(o.fn))) return true
        return remoteUsed(ctx.model, k, r.descriptor)
      }
      const l = local.filter((r) => !usedLocal(r))
      const d = rdma.filter((r) => !usedRdma(r))
      if (l.length + d.length === 0) return
      const items = [
        ...l.map((r) => `handle ${r.handle} ${rangeText(r.start, r.end)}`),
        ...d.map((r) => `RDMA descriptor ${r.descriptor ?? '?'} ${rangeText(r.start, r.end)}`),
      ]
      ctx.report({
        message: `WSPCloseSocket on ${k.s} with ${items.length} registration${items.length > 1 ? 's' : ''} still live and not used by pending transfers (${items.slice(0, 4).join(', ')}${items.length > 4 ? ', …' : ''}): the switch should deregister before close`,
        severity: 'info',
        fault: 'switch',
        sock: k,
        evidence: [...[...l.map((r) => r.ret), ...d.map((r) => r.ret)].slice(0, 4).map((e): [string, Ev] => ['live registration', e]), ['close', step.ev]],
      })
    }

    return merge(regs.listener(), {
      'call:WSPDeregisterMemory': deregMem,
      'call:WSPDeregisterRdmaMemory': deregRdma,
      'ret:WSPDeregisterMemory': deregRet,
      'ret:WSPDeregisterRdmaMemory': (step) => {
        deregRet(step)
        const k = step.sock
        const d = str(step.call?.ev.f.TargetDescriptor)
        if (!k || d === undefined || num(step.ev.f.Rc) !== 0) return
        let g = goneRdma.get(k)
        if (!g) goneRdma.set(k, (g = new Map()))
        g.set(d, step.ev)
      },
      'call:WSPCloseSocket': close,
      'ret:WSPCloseSocket': (step) => {
        if (step.sock?.state === 'CLOSED') goneRdma.delete(step.sock)
      },
    })
  },
}
