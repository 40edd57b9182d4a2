import {RDMA_FNS} from '../../model/constants.js'
import type {Ev} from '../../model/event.js'
import {num, str} from '../../model/event.js'
import {succeeded} from '../../model/result.js'
import type {Sock, SockState, Step} from '../../model/state.js'
import {formatOffset} from '../../util/duration.js'
import {C, R} from '../refs.js'
import type {RuleModule} from '../types.js'
import {Peers} from './peers.js'
import {LocalRegs, type Region, rdmaTarget} from './regs.js'
import {type Buf, CLOSED_STATES, bufText, buffersOf, merge, opName, rangeText, totalLen} from './util.js'

/** States in which a registration is premature (not yet connected, or listening). */
const NOT_CONNECTED = new Set<SockState>(['CREATED', 'BOUND', 'CONNECTING', 'LISTENING'])
const TRANSFERS = ['WSPSend', 'WSPRecv', 'WSPRdmaWrite', 'WSPRdmaRead']


/** SAN020: registration on connected sockets only; every transfer buffer inside a live registration of its socket; RDMA targets are the peer's. */
export const SAN020: RuleModule = {
  meta: {
    id: 'SAN020',
    title: 'Registration prerequisites and buffer coverage',
    severity: 'error',
    fault: 'switch',
    section: 'E. Memory registration',
    refs: [R('ff566311'), R('ff566316'), R('ff566309'), R('ff566306'), R('ff566304'), C('registering-memory-for-operations-on-a-san')],
    docs: {
      checks:
        'WSPRegisterMemory or WSPRegisterRdmaMemory on a socket that is not connected (created, bound, connecting or listening) is a warning against the switch, and its success a warning against the provider (WSAENOTCONN expected). Every buffer of a WSPSend, WSPRecv, WSPRdmaWrite or WSPRdmaRead must lie inside one live WSPRegisterMemory registration of the same socket (not deregistered, not invalidated by WSPMemoryRegistrationCacheCallback); for RDMA the WSABUFEX handle must be that registration\'s handle. In two-sided traces the RDMA target descriptor must be a live WSPRegisterRdmaMemory descriptor of the connected peer (error), dwTargetBufferOffset + the transfer length must fit in that region (error), and dwTargetDescriptorLength must equal the length the peer\'s provider returned (warning). Buffer checks need the Buffers arrays (level-5 events) and the registration events.',
      why: 'The adapter can only DMA to and from memory that is registered (locked and translated) for that connection. A buffer outside a registration, or named by the wrong handle, makes the provider fail the transfer or, worse, makes the adapter access memory through a stale translation; an RDMA target that is not the peer\'s live registration corrupts or faults remote memory.',
      fix: 'In the switch, register each buffer with WSPRegisterMemory on the connected socket before using it, pass the handle of the registration that contains each WSABUFEX, keep registrations alive until transfers complete, and use only the descriptors the peer advertised in its session messages.',
      example: [
        '+0.000 s  SpiReturn WSPRegisterMemory Socket=0x2a0 RegAddr=0x5000000 RegLen=65536 Rc=0x9001',
        '+0.001 s  SpiCall WSPSend Socket=0x2a0 Overlapped=0x7000 Buffers=[{Addr:0x6000000,Len:100}]   <- buffer not registered',
      ],
    },
    thresholds: {},
    needs: [
      {
        keys: ['call:WSPSend', 'call:WSPRecv', 'call:WSPRdmaWrite', 'call:WSPRdmaRead', 'call:WSPRegisterMemory', 'call:WSPRegisterRdmaMemory'],
        why: 'data-transfer calls or memory registrations',
      },
    ],
    instance: 'memory registration, transfer buffer, or RDMA target',
  },
  create(ctx) {
    const regs = new LocalRegs()
    const peers = new Peers()
    /** Registrations requested on a socket that is not connected, awaiting their return. */
    const premature = new Map<Ev, SockState>()

    const register = (step: Step): void => {
      const k = step.sock
      const before = step.call?.before ?? step.before
      if (!k || !before) return ctx.inconclusive(`${step.ev.fn} without a Socket field`)
      if (before === 'UNKNOWN') return ctx.inconclusive(`${step.ev.fn} on a socket created before the trace began`)
      if (before !== 'CONNECTED' && !NOT_CONNECTED.has(before)) return // judged by SAN011/SAN016/SAN033/SAN037
      ctx.checked()
      if (before === 'CONNECTED') return
      premature.set(step.ev, before)
      ctx.report({
        message: `${step.ev.fn} on ${k.s} in state ${before}: memory is registered per connected socket`,
        severity: 'warning',
        sock: k,
        evidence: [['socket created', k.created], ['registration', step.ev]],
      })
    }

    const registered = (step: Step): void => {
      const call = step.call?.ev
      const before = call && premature.get(call)
      if (!call || !before) return
      premature.delete(call)
      if (!succeeded(step.ev)) return
      ctx.report({
        message: `the provider accepted ${step.ev.fn} on ${call.f.Socket} in state ${before}; it should fail with WSAENOTCONN (10057)`,
        severity: 'warning',
        fault: 'provider',
        sock: step.sock,
        evidence: [['registration', call], ['return', step.ev]],
      })
    }

    const regText = (r: Region): string => `registration ${r.handle} ${rangeText(r.start, r.end)}`

    const coverage = (step: Step, k: Sock, bufs: readonly Buf[]): void => {
      const ev = step.ev
      const rdma = RDMA_FNS.has(ev.fn)
      ctx.checked()
      for (const b of bufs) {
        const all = regs.containing(k, b.start, b.end)
        // The first region not invalidated, and whether one of them has the buffer's handle.
        let valid: Region | undefined
        let named = false
        for (const r of all) {
          if (r.invalidated) continue
          valid ??= r
          if (r.handle === b.handle) named = true
        }
        if (!valid) {
          const stale = all[0]
          const partial = regs.regions(k).find((r) => r.start < b.end && b.start < r.end)
          const byHandle = b.handle ? regs.get(k, b.handle) : undefined
          const gone = b.handle ? regs.deregistered(k, b.handle) : undefined
          const why = stale
            ? `its ${regText(stale)} covers a range invalidated by WSPMemoryRegistrationCacheCallback at ${formatOffset(stale.invalidated!.ts)} and was not registered again`
            : partial
              ? `it extends beyond ${regText(partial)}`
              : gone
                ? `its handle ${b.handle} was deregistered at ${formatOffset(gone.ts)}`
                : 'no live WSPRegisterMemory registration of the socket contains it'
          ctx.report({
            message: `${opName(ev)} on ${k.s}: ${bufText(b)} (${b.len} bytes) is not inside a live registration: ${why}`,
            sock: k,
            evidence: [['transfer', ev], ['registration', (stale ?? partial ?? byHandle)?.ret], ['cache callback', stale?.invalidated], ['deregistration', gone]],
          })
          continue
        }
        if (!rdma) continue
        if (b.handle === undefined) {
          ctx.inconclusive(`${ev.fn} buffer without a Handle field`)
          continue
        }
        if (named) continue
        const byHandle = regs.get(k, b.handle)
        ctx.report({
          message: `${opName(ev)} on ${k.s}: WSABUFEX ${b.index} ${rangeText(b.start, b.end)} names handle ${b.handle}, but the registration containing it is ${valid.handle}${byHandle ? ` (${b.handle} is ${rangeText(byHandle.start, byHandle.end)})` : ''}`,
          sock: k,
          evidence: [['transfer', ev], ['containing registration', valid.ret], ['named registration', byHandle?.ret]],
        })
      }
    }

    const target = (step: Step, k: Sock): void => {
      const ev = step.ev
      const desc = str(ev.f.TargetDescriptor)
      if (desc === undefined) return ctx.inconclusive(`${ev.fn} without a TargetDescriptor field`)
      if (!ctx.model.seen.has('ret:WSPRegisterRdmaMemory')) return ctx.inconclusive('the trace has no WSPRegisterRdmaMemory returns (peer registrations not traced)')
      const t = rdmaTarget(ctx.model, k, desc, peers.peerOf.get(k))
      if (t.kind === 'unknown') return ctx.inconclusive('RDMA target descriptor of a peer that is not in the trace')
      ctx.checked()
      if (t.kind === 'own') {
        return ctx.report({
          message: `${opName(ev)} on ${k.s} targets descriptor ${desc}, which is the local socket's own WSPRegisterRdmaMemory registration ${rangeText(t.reg.start, t.reg.end)}, not the peer's`,
          sock: k,
          evidence: [['RDMA', ev], ['own registration', t.reg.ret]],
        })
      }
      if (t.kind === 'not-peer') {
        return ctx.report({
          message: `${opName(ev)} on ${k.s} targets descriptor ${desc}, which is not a live WSPRegisterRdmaMemory descriptor of its peer ${t.peer.s} (pid ${t.peer.pid})${t.own ? ' (it is the local socket\'s own)' : t.other ? ` (it belongs to ${t.other.sock?.s} in pid ${t.other.ret.pid})` : ''}`,
          sock: k,
          evidence: [['peer created', t.peer.created], ['RDMA', ev], ['registration with these bytes', (t.own ?? t.other)?.ret]],
        })
      }
      const reg = t.reg
      const size = reg.end - reg.start
      const off = num(ev.f.TargetOffset) ?? 0
      const len = totalLen(ev, step.call?.op)
      if (len !== undefined && BigInt(off) + BigInt(len) > size) {
        ctx.report({
          message: `${opName(ev)} on ${k.s}: target offset ${off} + ${len} bytes exceeds the peer region of ${size} bytes (descriptor ${desc}, ${rangeText(reg.start, reg.end)} in pid ${reg.ret.pid})`,
          sock: k,
          evidence: [['peer registration', reg.call], ['peer descriptor', reg.ret], ['RDMA', ev]],
          measured: {offset: off, length: len, regionLength: Number(size)},
        })
      }
      const want = num(reg.ret.f.DescriptorLenOut)
      const got = num(ev.f.TargetDescriptorLen)
      if (want !== undefined && got !== undefined && want !== got) {
        ctx.report({
          message: `${opName(ev)} on ${k.s}: dwTargetDescriptorLength ${got} differs from the ${want} bytes the peer's WSPRegisterRdmaMemory returned for descriptor ${desc}`,
          severity: 'warning',
          sock: k,
          evidence: [['peer descriptor', reg.ret], ['RDMA', ev]],
        })
      }
    }

    const transfer = (step: Step): void => {
      const k = step.sock
      const before = step.call?.before ?? step.before
      if (!k || !before || CLOSED_STATES.has(before)) return
      if (RDMA_FNS.has(step.ev.fn)) target(step, k)
      const bufs = buffersOf(step.ev, step.call?.op)
      if (!bufs) return ctx.inconclusive(`${step.ev.fn} without a Buffers field (buffer arrays are level-5 events)`)
      if (!k.created) return ctx.inconclusive('transfer on a socket created before the trace began (its registrations may predate the trace)')
      if (!ctx.model.seen.has('ret:WSPRegisterMemory')) return ctx.inconclusive('the trace has no WSPRegisterMemory returns (memory registrations not traced)')
      coverage(step, k, bufs)
    }

    const own: Record<string, (s: Step) => void> = {
      'call:WSPRegisterMemory': register,
      'call:WSPRegisterRdmaMemory': register,
      'ret:WSPRegisterMemory': registered,
      'ret:WSPRegisterRdmaMemory': registered,
    }
    for (const fn of TRANSFERS) own[`call:${fn}`] = transfer
    return merge(regs.listener(), peers.listener(), own, peers.cleanup())
  },
}
