import {E, errorName} from '../../model/constants.js'
import {type Ev, num, str} from '../../model/event.js'
import {succeeded} from '../../model/result.js'
import type {Completion, Op, Sock, SockState, Step} from '../../model/state.js'
import {C} from '../refs.js'
import type {RuleModule, TimerHandle} from '../types.js'
import {Completions, gorResult, opName, resultText, when} from './common.js'

interface Link {
  pid: number
  sock: Sock
  call: Ev
  ret: Ev
  /** Socket state at duplication: what the re-created socket must reproduce. */
  state?: SockState
  /** Forgets the link after the threshold. */
  timer?: TimerHandle
}

/** Calls whose WSAENOTCONN failure shows a re-created socket is not connected. */
const DATA_FNS = new Set(['WSPSend', 'WSPRecv', 'WSPRdmaWrite', 'WSPRdmaRead', 'WSPRegisterMemory', 'WSPRegisterRdmaMemory'])
const WSAENOTCONN = 10057

/** SAN038: the provider flushes receives, returns a usable token, and the target process gets the same connection. */
export const SAN038: RuleModule = {
  meta: {
    id: 'SAN038',
    title: 'Duplication: provider obligations',
    severity: 'error',
    fault: 'provider',
    section: 'H. Duplication',
    refs: [C('duplicating-socket-handles-for-a-san')],
    docs: {
      checks:
        'For each successful WSPDuplicateSocket: every WSPRecv outstanding when the call began must be completed with success and 0 bytes before the call returns (poll-mode receives are judged only when OpDone is traced); the returned dwProviderReserved must not be 0, nor a value already returned for another live socket. In the target process, the WSPSocket carrying that dwProviderReserved must succeed (warning), must call WPUCreateSocketHandle unless it re-activates a descriptor still live in that process (error), and the re-created socket must not fail data-path calls with WSAENOTCONN before it is closed (warning: connected state not reproduced).',
      why: 'The switch duplicates a SAN socket when the application hands its socket to another process: receives left pending keep application buffers of the old process in the adapter, a zero or ambiguous dwProviderReserved lets the target process attach to the wrong connection, and a re-created socket that is not connected (or has no switch handle) breaks the application right after the hand-over.',
      fix: 'In the provider, inside WSPDuplicateSocket complete each posted receive with status 0 and 0 bytes and release its buffer before returning; return a dwProviderReserved that names the socket and connection system-wide for dwProcessId; in the target process make WSPSocket attach to that connection in the same state and call WPUCreateSocketHandle unless the descriptor is still live there.',
      example: [
        '+0.000 s  SpiReturn WSPRecv Socket=0x2a0 Overlapped=0x7040 Rc=-1 Errno=WSA_IO_PENDING',
        '+1.000 s  SpiCall WSPDuplicateSocket Socket=0x2a0 TargetPid=4321',
        '+1.001 s  SpiReturn WSPDuplicateSocket Rc=0 ProviderReservedOut=0xabc1   <- WSPRecv 0x7040 still pending',
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
    instance: 'successful WSPDuplicateSocket or re-created duplicated socket',
  },
  create(ctx) {
    const max = ctx.t.dupLinkMax
    const tr = new Completions()
    const opDonePids = new Set<number>()
    /** Receives outstanding at each WSPDuplicateSocket call, until it returns. */
    const snaps = new Map<Ev, {sock: Sock; recvs: Op[]}>()
    /** dwProviderReserved values returned for sockets not yet closed. */
    const tokens = new Map<string, {sock: Sock; ret: Ev}>()
    const tokensOf = new Map<Sock, string[]>()
    /** The dwProviderReserved a re-created socket was made from. */
    const createdFrom = new WeakMap<Sock, string>()
    /** Tokens waiting for the re-creating WSPSocket in the target process (dropped after the link threshold). */
    const links = new Map<string, Link>()
    /** Linked WSPSocket calls waiting for their return. */
    const linkCalls = new Map<Ev, string>()
    /** Descriptors live per process: returned by WSPSocket/WSPAccept (or in use before the trace) and not yet closed. */
    const live = new Map<number, Set<string>>()
    /** Re-created connected sockets, watched for WSAENOTCONN until closed. */
    const watch = new Map<Sock, {token: string; link: Link; created: Ev}>()

    const addLive = (pid: number, s: string): void => {
      let set = live.get(pid)
      if (!set) live.set(pid, (set = new Set()))
      set.add(s)
    }

    const notConnected = (k: Sock | undefined, ev: Ev, what: string): void => {
      const w = k && watch.get(k)
      if (!k || !w) return
      watch.delete(k)
      ctx.report({
        message: `${what} on re-created duplicated socket ${k.s} failed with ${errorName(WSAENOTCONN)} before any close: the connected state of the socket duplicated from process ${w.link.sock.pid} (${w.link.sock.s}, dwProviderReserved ${w.token}) was not reproduced`,
        severity: 'warning',
        sock: k,
        evidence: [
          ['duplicate returned', w.link.ret],
          ['re-created', w.created],
          ['failure', ev],
        ],
      })
    }

    const completion = (op: Op | undefined, c: Completion): void => {
      if (op && c.status === WSAENOTCONN) notConnected(op.sock, c.ev, opName(op))
    }

    const judgeDuplicate = (step: Step, snap: {sock: Sock; recvs: Op[]} | undefined): void => {
      const ret = step.ev
      const call = step.call?.ev
      const k = snap?.sock ?? step.sock
      if (!k || !call) return
      ctx.checked()
      for (const op of snap?.recvs ?? []) {
        const c = tr.first(op)
        if (c && c.ev.ts <= ret.ts) {
          if (c.status !== 0 || (c.bytes !== undefined && c.bytes !== 0)) {
            ctx.report({
              message: `${opName(op)} on ${k.s} was completed with ${resultText(c)} during WSPDuplicateSocket; receives outstanding at duplication must complete with success and 0 bytes`,
              sock: k,
              evidence: [
                ['receive', op.call],
                ['duplicate', call],
                ['completion', c.ev],
                ['duplicate returned', ret],
              ],
              measured: {status: c.status ?? '', bytes: c.bytes ?? ''},
            })
          }
          continue
        }
        if (op.pollMode && !opDonePids.has(op.pid)) {
          ctx.inconclusive('poll-mode receive and no OpDone events: whether it was flushed before WSPDuplicateSocket returned is not visible')
          continue
        }
        ctx.report({
          message: `WSPDuplicateSocket on ${k.s} returned while ${opName(op)} was still pending: outstanding receives must be completed with success and 0 bytes before it returns`,
          sock: k,
          evidence: [
            ['receive', op.call],
            ['duplicate', call],
            ['duplicate returned', ret],
          ],
        })
      }
      const token = str(ret.f.ProviderReservedOut)
      if (token === undefined) return ctx.inconclusive('WSPDuplicateSocket return without ProviderReservedOut')
      if (token === '0x0') {
        ctx.report({
          message: `WSPDuplicateSocket on ${k.s} succeeded with dwProviderReserved = 0: the value must identify the socket and connection system-wide`,
          sock: k,
          evidence: [
            ['duplicate', call],
            ['duplicate returned', ret],
          ],
        })
        return
      }
      const prev = tokens.get(token)
      if (prev && prev.sock !== k && createdFrom.get(k) !== token) {
        ctx.report({
          message: `WSPDuplicateSocket on ${k.s} (process ${k.pid}) returned dwProviderReserved ${token}, already returned at ${when(prev.ret)} for ${prev.sock.s} (process ${prev.sock.pid}), which is still open: the value must identify one socket and connection`,
          sock: k,
          evidence: [
            ['first return of the value', prev.ret],
            ['duplicate', call],
            ['same value again', ret],
          ],
        })
      }
      tokens.set(token, {sock: k, ret})
      tokensOf.set(k, [...(tokensOf.get(k) ?? []), token])
      const pid = num(call.f.TargetPid)
      if (pid === undefined) return
      const link: Link = {pid, sock: k, call, ret, state: step.before}
      // A link the token made before is forgotten now rather than at its threshold.
      ctx.cancel(links.get(token)?.timer)
      links.set(token, link)
      link.timer = ctx.at(ret.ts + max, () => {
        if (links.get(token) === link) links.delete(token)
      })
    }

    return {
      'prov:OpDone': (step) => {
        opDonePids.add(step.ev.pid)
        if (step.op) completion(step.op, {ev: step.ev, status: num(step.ev.f.Error), bytes: num(step.ev.f.Bytes)})
      },
      'up:WPUCompleteOverlappedRequest': (step) => {
        if (step.op) completion(step.op, {ev: step.ev, status: num(step.ev.f.DwError), bytes: num(step.ev.f.CbTransferred)})
      },
      'ret:WSPGetOverlappedResult': (step) => {
        const g = gorResult(step)
        if (!g?.op || !g.final) return
        const c = {ev: step.ev, status: g.status, bytes: g.bytes}
        if (tr.onGor(g.op, c)) completion(g.op, c)
      },
      'call:*': (step) => {
        if (step.sock && step.before === 'UNKNOWN') addLive(step.ev.pid, step.sock.s)
      },
      'ret:*': (step) => {
        if (!DATA_FNS.has(step.ev.fn) || !step.sock || !watch.has(step.sock)) return
        if (succeeded(step.ev) === false && num(step.ev.f.Errno) === WSAENOTCONN) notConnected(step.sock, step.ev, step.ev.fn)
      },
      'call:WSPDuplicateSocket': (step) => {
        const k = step.sock
        if (!k) return
        snaps.set(step.ev, {sock: k, recvs: [...k.pending].filter((op) => op.fn === 'WSPRecv' && tr.outstanding(op))})
      },
      'ret:WSPDuplicateSocket': (step) => {
        const call = step.call?.ev
        const snap = call ? snaps.get(call) : undefined
        if (call) snaps.delete(call)
        // A failed duplication leaves the socket in place: nothing is owed.
        if (num(step.ev.f.Rc) !== 0) return
        judgeDuplicate(step, snap)
      },
      'call:WSPSocket': (step) => {
        const token = str(step.ev.f.ProviderReserved)
        const link = token ? links.get(token) : undefined
        if (token && link && link.pid === step.ev.pid) linkCalls.set(step.ev, token)
      },
      'ret:WSPSocket': (step) => {
        const call = step.call?.ev
        const token = call ? linkCalls.get(call) : undefined
        const pid = step.ev.pid
        const created = step.created
        if (call && token) {
          linkCalls.delete(call)
          const link = links.get(token)
          if (link) {
            links.delete(token)
            ctx.cancel(link.timer)
            ctx.checked()
            if (!created) {
              ctx.report({
                message: `the WSPSocket re-creating the duplicated socket in process ${pid} (dwProviderReserved ${token}, from ${link.sock.s} in process ${link.sock.pid}) failed with ${errorName(num(step.ev.f.Errno))}: the ${link.state === 'LISTENING' ? 'listening' : 'connected'} state was not reproduced`,
                severity: 'warning',
                pid,
                evidence: [
                  ['duplicate returned', link.ret],
                  ['re-creating call', call],
                  ['failure', step.ev],
                ],
              })
            } else {
              createdFrom.set(created, token)
              if (step.call?.handles.length === 0 && !live.get(pid)?.has(created.s)) {
                ctx.report({
                  message: `the WSPSocket re-creating the duplicated socket in process ${pid} (dwProviderReserved ${token}) returned ${created.s} without WPUCreateSocketHandle, and ${created.s} was not a live descriptor in that process: the switch has no handle for it`,
                  sock: created,
                  evidence: [
                    ['duplicate returned', link.ret],
                    ['re-creating call', call],
                    ['returned', step.ev],
                  ],
                })
              }
              if (link.state !== 'LISTENING') watch.set(created, {token, link, created: step.ev})
            }
          }
        } else if (created && call) {
          const t = str(call.f.ProviderReserved)
          if (t && t !== '0x0') createdFrom.set(created, t)
        }
        if (created) addLive(pid, created.s)
      },
      'ret:WSPAccept': (step) => {
        if (step.created) addLive(step.ev.pid, step.created.s)
      },
      'call:WSPCloseSocket': (step) => {
        const k = step.sock
        if (!k) return
        live.get(step.ev.pid)?.delete(k.s)
        watch.delete(k)
        for (const t of tokensOf.get(k) ?? []) if (tokens.get(t)?.sock === k) tokens.delete(t)
        tokensOf.delete(k)
      },
    }
  },
}
