/**
 * Peer matching for two-sided traces (both ends' processes in one trace): a connecting
 * socket is paired with the socket a listening socket accepted for it, by the connect
 * destination against the listener's bind address (or the callee address its condition
 * function saw) and, when known, the caller address against the connector's bind address.
 * A WSPAccept that refused the request (CF_REJECT ⇒ WSAECONNREFUSED) is matched the same way.
 * Memory follows connects not yet paired (until their socket fails, pairs or closes) and
 * open WSPAccept calls.
 */
import {E} from '../../model/constants.js'
import type {Ev} from '../../model/event.js'
import {num} from '../../model/event.js'
import type {Sock} from '../../model/state.js'
import type {RuleListener} from '../types.js'
import {type SockAddr, compatible, destMatches, fdConnectOf, parseAddr} from './util.js'

interface Connect {
  sock: Sock
  dest: SockAddr
  call: Ev
  returned: boolean
}

/** What a WSPAccept call saw, from its call to its return. */
export interface AcceptCall {
  listen?: Sock
  call: Ev
  tid?: number
  /** Condition-function calls attributed to this WSPAccept (any thread), in order. */
  conds: Array<{ev: Ev; ret?: Ev; result?: number}>
  /** NetEventReset of the listening socket's event during the call. */
  reset?: Ev
}

export interface Rejection {
  /** The peer's WSPAccept return (INVALID_SOCKET, WSAECONNREFUSED). */
  ret: Ev
  call: Ev
  cond?: Ev
  condRet?: Ev
}

export class Peers {
  readonly bound = new WeakMap<Sock, SockAddr>()
  readonly peerOf = new WeakMap<Sock, Sock>()
  readonly rejected = new WeakMap<Sock, Rejection>()
  private readonly connects = new Map<Sock, Connect>()
  /** Open WSPAccept calls by call event. */
  readonly accepts = new Map<Ev, AcceptCall>()
  /** Condition-function calls awaiting their return, by pid:Seq or pid/tid. */
  private readonly conds = new Map<string, {acc?: AcceptCall; idx: number; ev: Ev}>()

  /** The open WSPAccept a condition call or a reset belongs to: by listening socket, preferring the same thread. */
  openAccept(pid: number, tid: number | undefined, listen: string | undefined): AcceptCall | undefined {
    let best: AcceptCall | undefined
    for (const a of this.accepts.values()) {
      if (a.call.pid !== pid) continue
      if (listen !== undefined && a.listen?.s !== listen) continue
      if (listen === undefined && a.tid !== tid) continue
      if (a.tid === tid) return a
      best ??= a
    }
    return best
  }

  private pair(listen: Sock | undefined, acc: AcceptCall): Connect | undefined {
    const cond = acc.conds[0]?.ev
    const callee = parseAddr(cond?.f.CalleeAddr)
    const caller = parseAddr(cond?.f.CallerAddr)
    const bound = listen ? this.bound.get(listen) : undefined
    const pending: Connect[] = []
    const done: Connect[] = []
    for (const c of this.connects.values()) {
      if (c.sock === listen) continue
      const to = callee ? compatible(c.dest, callee) && (!bound || destMatches(c.dest, bound)) : bound ? destMatches(c.dest, bound) : false
      if (!to) continue
      const from = this.bound.get(c.sock)
      if (caller && from && !compatible(caller, from)) continue
      if (!c.returned || c.sock.state === 'CONNECTING') pending.push(c)
      else done.push(c)
    }
    const candidates = pending.length ? pending : done
    // Without the caller's address several connects to one listener cannot be told apart:
    // leave the accept unpaired rather than pair it with the wrong peer.
    if (!caller && candidates.length > 1) return undefined
    return candidates[0]
  }

  listener(): RuleListener {
    return {
      'ret:WSPBind': (step) => {
        const a = parseAddr(step.call?.ev.f.Addr)
        if (step.sock && a && num(step.ev.f.Rc) === 0) this.bound.set(step.sock, a)
      },
      'call:WSPConnect': (step) => {
        const dest = parseAddr(step.ev.f.Addr)
        if (step.sock && dest && !this.peerOf.has(step.sock)) this.connects.set(step.sock, {sock: step.sock, dest, call: step.ev, returned: false})
      },
      'ret:WSPConnect': (step) => {
        const c = step.sock && this.connects.get(step.sock)
        if (!c) return
        c.returned = true
        const err = num(step.ev.f.Errno)
        if (num(step.ev.f.Rc) !== 0 && err !== E.WSAEWOULDBLOCK) this.connects.delete(c.sock)
      },
      'ret:WSPEnumNetworkEvents': (step) => {
        const r = fdConnectOf(step.ev)
        if (step.sock && r && r.code !== 0 && r.code !== undefined) this.connects.delete(step.sock)
      },
      'call:WSPCloseSocket': (step) => {
        if (step.sock) this.connects.delete(step.sock)
      },
      'call:WSPAccept': (step) => {
        this.accepts.set(step.ev, {listen: step.sock, call: step.ev, tid: step.ev.tid, conds: []})
      },
      'cb:Condition': (step) => {
        const ev = step.ev
        const listen = typeof ev.f.ListenSocket === 'string' ? ev.f.ListenSocket : undefined
        const acc = this.openAccept(ev.pid, ev.tid, listen)
        const idx = acc ? acc.conds.push({ev}) - 1 : -1
        const key = ev.seq !== undefined ? `${ev.pid}:${ev.seq}` : `${ev.pid}/${ev.tid}`
        this.conds.set(key, {acc, idx, ev})
      },
      'cbret:Condition': (step) => {
        const ev = step.ev
        const key = ev.seq !== undefined ? `${ev.pid}:${ev.seq}` : `${ev.pid}/${ev.tid}`
        const c = this.conds.get(key)
        if (!c) return
        this.conds.delete(key)
        if (c.acc && c.idx >= 0) {
          c.acc.conds[c.idx].ret = ev
          c.acc.conds[c.idx].result = num(ev.f.Result)
        }
      },
      'reset:NetEvent': (step) => {
        const s = typeof step.ev.f.Socket === 'string' ? step.ev.f.Socket : undefined
        if (s === undefined) return
        const acc = this.openAccept(step.ev.pid, step.ev.tid, s)
        if (acc) acc.reset ??= step.ev
      },
      'ret:WSPAccept': (step) => {
        const call = step.call?.ev
        const acc = call && this.accepts.get(call)
        if (!call || !acc) return
        // Kept until every listener of this event ran; dropped by the rule's own ret handler via done().
        const listen = acc.listen
        if (step.created) {
          const c = this.pair(listen, acc)
          if (c) {
            this.connects.delete(c.sock)
            this.peerOf.set(c.sock, step.created)
            this.peerOf.set(step.created, c.sock)
          }
        } else if (num(step.ev.f.Errno) === E.WSAECONNREFUSED) {
          const c = this.pair(listen, acc)
          if (c) {
            this.connects.delete(c.sock)
            const cond = acc.conds[0]
            this.rejected.set(c.sock, {ret: step.ev, call, cond: cond?.ev, condRet: cond?.ret})
          }
        }
      },
    }
  }

  /** Frees a returned WSPAccept (call after the rule's own ret:WSPAccept handling). */
  done(call: Ev | undefined): void {
    if (call) this.accepts.delete(call)
  }

  /** A listener that frees returned WSPAccept calls; merge it last. */
  cleanup(): RuleListener {
    return {'ret:WSPAccept': (step) => this.done(step.call?.ev)}
  }
}
