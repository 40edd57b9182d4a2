import {type Ev, num, str} from '../../model/event.js'
import {toHandle} from '../../model/fields.js'
import {addr} from '../../model/state.js'
import type {Op, Sock, Step} from '../../model/state.js'
import {formatDuration as fd} from '../../util/duration.js'
import {C} from '../refs.js'
import type {RuleListener, RuleModule, TimerHandle} from '../types.js'
import {Completions, TRANSFER_CALL_KEYS, bufferRanges, gorResult, hex, when} from './common.js'

interface Reg {
  handle: string
  start: bigint
  end: bigint
  call: Ev
  /** Used as the source of a WSPSend / WSPRdmaWrite. */
  send: boolean
  /** Used by a WSPRecv / WSPRdmaRead. */
  other: boolean
}

const SEND_SIDE = new Set(['WSPSend', 'WSPRdmaWrite', 'WSPRdmaRead'])

/** SAN037: the switch suspends the session before WSPDuplicateSocket and only closes the socket afterwards. */
export const SAN037: RuleModule = {
  meta: {
    id: 'SAN037',
    title: 'Duplication: switch pre/post-conditions',
    severity: 'error',
    fault: 'switch',
    section: 'H. Duplication',
    refs: [C('duplicating-socket-handles-for-a-san')],
    docs: {
      checks:
        'At each WSPDuplicateSocket: the socket must be CONNECTED or LISTENING; no WSPSend, WSPRdmaWrite or WSPRdmaRead may be outstanding (only receives); no RDMA registration (WSPRegisterRdmaMemory) may be live; a listening socket must have no WSPAccept in progress (errors); a live WSPRegisterMemory registration used only as a send source is a warning (send buffers are deregistered first). After it returns successfully, any call on the socket in that process other than WSPCloseSocket is an error. The duplicated socket should be re-created by a WSPSocket in the target process carrying the returned dwProviderReserved within the link threshold; otherwise info (the trace may not include that process).',
      why: 'Duplication moves the connection to another process: the provider flushes receives and hands the connection over. A send or RDMA still in flight, or memory the peer can still write by RDMA, ends up owned by a process that no longer exists for that connection: data is lost or written into freed memory. A call on the old descriptor afterwards acts on a connection that now belongs to another process.',
      fix: 'In the switch, suspend the session before duplicating: wait for sends and RDMA operations to complete, deregister send buffers (WSPDeregisterMemory) and all RDMA memory (WSPDeregisterRdmaMemory), and wait for WSPAccept calls on a listening socket; after WSPDuplicateSocket only call WSPCloseSocket on the old descriptor.',
      example: [
        '+0.000 s  SpiCall WSPSend Socket=0x2a0 Overlapped=0x7000   (returns WSA_IO_PENDING)',
        '+0.001 s  SpiCall WSPDuplicateSocket Socket=0x2a0 TargetPid=4321   <- send still pending',
        '+0.002 s  SpiReturn WSPDuplicateSocket Rc=0 ProviderReservedOut=0xabc1',
        '+0.003 s  SpiCall WSPRecv Socket=0x2a0   <- only WSPCloseSocket is allowed now',
      ],
    },
    thresholds: {
      dupLinkMax: {
        flag: 'dup-link-max',
        default: '10000ms',
        description: 'time after WSPDuplicateSocket returns within which the target process re-creates the socket with WSPSocket(dwProviderReserved)',
      },
    },
    needs: [{keys: ['call:WSPDuplicateSocket'], why: 'WSPDuplicateSocket calls'}],
    instance: 'WSPDuplicateSocket call',
  },
  create(ctx) {
    const max = ctx.t.dupLinkMax
    const tr = new Completions()
    /** Live local registrations per socket: memory handle → region and how transfers used it. */
    const regs = new Map<Sock, Map<string, Reg>>()
    /** WSPAccept calls in progress per listening socket. */
    const accepting = new Map<Sock, Set<Ev>>()
    /** Duplication tokens waiting for the WSPSocket that re-creates the socket in the target process. */
    const links = new Map<string, {pid: number; sock: Sock; call: Ev; ret: Ev; linked?: Ev; timer?: TimerHandle}>()
    /** Successful WSPDuplicateSocket returns per socket (for post-duplication evidence). */
    const dupRet = new WeakMap<Sock, Ev>()

    const use = (step: Step): void => {
      const k = step.sock
      const m = k && regs.get(k)
      if (!m) return
      const bufs = step.call?.op?.buffers ?? bufferRanges(step.ev)
      if (!bufs) return
      const send = step.ev.fn === 'WSPSend' || step.ev.fn === 'WSPRdmaWrite'
      for (const b of bufs) {
        let r = b.handle !== undefined ? m.get(b.handle) : undefined
        if (!r) for (const x of m.values()) if (x.start <= b.start && b.end <= x.end) r = x
        if (!r) continue
        if (send) r.send = true
        else r.other = true
      }
    }

    const checkDuplicate = (step: Step): void => {
      const k = step.sock
      const ev = step.ev
      if (!k) return ctx.inconclusive('WSPDuplicateSocket without a Socket field')
      if (step.before === 'DUPLICATED_OUT') return // reported as a call after duplication
      ctx.checked()
      const before = step.before ?? 'UNKNOWN'
      if (before === 'UNKNOWN') ctx.inconclusive('socket created before the trace began: its state at duplication is unknown')
      else if (before !== 'CONNECTED' && before !== 'LISTENING') {
        ctx.report({
          message: `WSPDuplicateSocket on ${k.s} in state ${before}: the switch duplicates a SAN socket only once it is connected or listening`,
          sock: k,
          evidence: [
            ['socket created', k.created],
            ['duplicate', ev],
          ],
          measured: {state: before},
        })
      }
      const ops = [...k.pending].filter((op: Op) => SEND_SIDE.has(op.fn) && tr.outstanding(op))
      if (ops.length) {
        ctx.report({
          message: `WSPDuplicateSocket on ${k.s} while ${ops.length} send/RDMA operation${ops.length > 1 ? 's are' : ' is'} outstanding (${ops.map((o) => `${o.fn} ${o.ov}`).join(', ')}): the switch must suspend the session and let sends and RDMA complete first; only receives may be pending`,
          sock: k,
          evidence: [...ops.slice(0, 4).map((o): [string, Ev] => ['outstanding operation', o.call]), ['duplicate', ev]],
          measured: {outstanding: ops.length},
        })
      }
      const rdma = [...(step.proc.rdmaBySock.get(k) ?? [])]
      if (rdma.length) {
        ctx.report({
          message: `WSPDuplicateSocket on ${k.s} while ${rdma.length} RDMA registration${rdma.length > 1 ? 's are' : ' is'} live (${rdma.map((r) => `${hex(r.start)}+${r.end - r.start}${r.descriptor ? ` descriptor ${r.descriptor}` : ''}`).join(', ')}): all RDMA memory must be deregistered (WSPDeregisterRdmaMemory) before duplicating`,
          sock: k,
          evidence: [...rdma.slice(0, 4).map((r): [string, Ev] => ['RDMA registration', r.ret]), ['duplicate', ev]],
          measured: {rdmaRegistrations: rdma.length},
        })
      }
      const sendOnly = [...(regs.get(k)?.values() ?? [])].filter((r) => r.send && !r.other)
      if (sendOnly.length) {
        ctx.report({
          message: `WSPDuplicateSocket on ${k.s} with ${sendOnly.length} send-only registration${sendOnly.length > 1 ? 's' : ''} still live (${sendOnly.map((r) => `handle ${r.handle} at ${hex(r.start)}, ${r.end - r.start} bytes`).join('; ')}): send buffers should be deregistered (WSPDeregisterMemory) before duplicating`,
          severity: 'warning',
          sock: k,
          evidence: [...sendOnly.slice(0, 4).map((r): [string, Ev] => ['registration', r.call]), ['duplicate', ev]],
          measured: {sendRegistrations: sendOnly.length},
        })
      }
      const acc = accepting.get(k)
      if (before === 'LISTENING' && acc?.size) {
        const first = [...acc][0]
        ctx.report({
          message: `WSPDuplicateSocket on listening socket ${k.s} while ${acc.size} WSPAccept call${acc.size > 1 ? 's are' : ' is'} in progress (thread ${first.tid ?? '?'}, since ${when(first)}): the switch must wait for every WSPAccept to finish`,
          sock: k,
          evidence: [
            ['accept in progress', first],
            ['duplicate', ev],
          ],
        })
      }
    }

    const handlers: RuleListener = {
      'ret:WSPGetOverlappedResult': (step) => {
        const g = gorResult(step)
        if (g?.op && g.final) tr.onGor(g.op, {ev: step.ev, status: g.status, bytes: g.bytes})
      },
      'ret:WSPRegisterMemory': (step) => {
        const k = step.sock
        const call = step.call?.ev
        const rc = num(step.ev.f.Rc)
        if (!k || !call || rc === undefined || rc === 0) return
        const start = addr(call.f.RegAddr)
        const len = num(call.f.RegLen)
        const handle = toHandle(rc)
        if (start === undefined || len === undefined || !handle) return
        let m = regs.get(k)
        if (!m) regs.set(k, (m = new Map()))
        m.set(handle, {handle, start, end: start + BigInt(len), call, send: false, other: false})
      },
      'ret:WSPDeregisterMemory': (step) => {
        const h = str(step.call?.ev.f.MemHandle)
        if (step.sock && h && num(step.ev.f.Rc) === 0) regs.get(step.sock)?.delete(h)
      },
      'call:WSPAccept': (step) => {
        if (!step.sock) return
        let s = accepting.get(step.sock)
        if (!s) accepting.set(step.sock, (s = new Set()))
        s.add(step.ev)
      },
      'ret:WSPAccept': (step) => {
        const k = step.call?.sock
        const s = k && accepting.get(k)
        if (!k || !s || !step.call) return
        s.delete(step.call.ev)
        if (s.size === 0) accepting.delete(k)
      },
      'call:WSPDuplicateSocket': checkDuplicate,
      'ret:WSPDuplicateSocket': (step) => {
        const k = step.sock
        const call = step.call?.ev
        if (!k || !call || num(step.ev.f.Rc) !== 0) return
        dupRet.set(k, step.ev)
        const token = str(step.ev.f.ProviderReservedOut)
        const pid = num(call.f.TargetPid)
        if (!token || token === '0x0') return // SAN038
        if (pid === undefined) return ctx.inconclusive('WSPDuplicateSocket without TargetPid: the re-creation cannot be linked')
        const link = {pid, sock: k, call, ret: step.ev} as {pid: number; sock: Sock; call: Ev; ret: Ev; linked?: Ev; timer?: TimerHandle}
        links.set(token, link)
        const deadline = step.ev.ts + max
        link.timer = ctx.at(
          deadline,
          () => {
            if (links.get(token) === link) links.delete(token)
            if (link.linked) return
            ctx.report({
              message: `no WSPSocket in process ${pid} carried dwProviderReserved ${token} within ${fd(max)} of WSPDuplicateSocket on ${k.s}: the duplicated socket was not re-created (the trace may not include that process)`,
              severity: 'info',
              sock: k,
              ts: deadline,
              evidence: [
                ['duplicate', call],
                ['returned', step.ev],
              ],
              measured: {targetPid: pid, thresholdNs: max},
            })
          },
          () => {
            if (links.get(token) === link) links.delete(token)
            if (!link.linked) ctx.inconclusive('the trace ended within the link threshold after WSPDuplicateSocket')
          },
        )
      },
      'call:WSPSocket': (step) => {
        const token = str(step.ev.f.ProviderReserved)
        const link = token ? links.get(token) : undefined
        if (link && link.pid === step.ev.pid && !link.linked) {
          // Linked: the deadline has nothing left to judge, and the token nothing left to link.
          link.linked = step.ev
          links.delete(token!)
          ctx.cancel(link.timer)
        }
      },
      'call:*': (step) => {
        const k = step.sock
        if (!k || step.before !== 'DUPLICATED_OUT' || step.ev.fn === 'WSPCloseSocket') return
        ctx.report({
          message: `${step.ev.fn} on ${k.s} after WSPDuplicateSocket returned for it${dupRet.get(k) ? ` at ${when(dupRet.get(k)!)}` : ''}: in the old process only WSPCloseSocket is allowed on a duplicated socket`,
          sock: k,
          evidence: [
            ['duplicate returned', dupRet.get(k)],
            ['call', step.ev],
          ],
        })
      },
      'call:WSPCloseSocket': (step) => {
        if (!step.sock) return
        regs.delete(step.sock)
        accepting.delete(step.sock)
      },
    }
    for (const key of TRANSFER_CALL_KEYS) handlers[key] = use
    return handlers
  },
}
