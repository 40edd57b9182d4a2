/**
 * Helpers shared by the contract-wide and socket-creation rules (SAN002–SAN011).
 * Stateless functions, plus small trackers each rule instantiates in its own `create()`,
 * so no state is shared between rules.
 */
import {type Ev, type Value, num, str} from '../../model/event.js'
import {toHandle} from '../../model/fields.js'
import type {Call, Sock, Step} from '../../model/state.js'
import {formatOffset} from '../../util/duration.js'
export {merge} from '../listeners.js'
import type {RuleListener} from '../types.js'

/** SIO_GET_EXTENSION_FUNCTION_POINTER and SIO_ADDRESS_LIST_QUERY (wsd-rules §1.0). */
export const SIO_GET_EXTENSION_FUNCTION_POINTER = 0xc8000006
export const SIO_ADDRESS_LIST_QUERY = 0x48000016


/** `+1.250000 s`: the trace time of an event, for messages. */
export const when = (ev: Ev): string => formatOffset(ev.ts)

/** An unsigned integer that a trace may write as a signed or a 32-bit value: -1 and 0xffffffff both mean ~0. */
export function isAllOnes(v: number | undefined): boolean {
  return v === -1 || v === 0xffffffff
}

/**
 * The switch handle a WPUCreateSocketHandle return hands out, or undefined when the upcall
 * failed (Rc = INVALID_SOCKET, or an INVALID_SOCKET / NULL handle).
 */
export function createdHandle(upret: Ev): string | undefined {
  const rc = num(upret.f.Rc)
  if (rc === -1) return undefined
  const h = str(upret.f.NewSwitchSocket) ?? (rc !== undefined && rc !== 0 ? toHandle(rc) : undefined)
  if (h === undefined || h === '0x0' || /^0xf{8}$|^0xf{16}$/.test(h)) return undefined
  return h
}

/** The dwProviderReserved token of a WSPSocket call, when non-zero (re-creation of a duplicated socket). */
export function dupToken(call: Ev | undefined): string | undefined {
  const t = call ? str(call.f.ProviderReserved) : undefined
  return t && t !== '0x0' ? t : undefined
}

/** `0x2a0`: a descriptor return value (Rc) as a handle. */
export function rcHandle(ret: Ev): string | undefined {
  const rc = num(ret.f.Rc)
  return rc === undefined ? undefined : toHandle(rc)
}

/** The IoctlCode of a WSPIoctl call. */
export const ioctlCode = (ev: Ev): number | undefined => num(ev.f.IoctlCode)

/** A GUID in canonical form: lowercase, without braces. */
export function guidKey(v: Value | undefined): string | undefined {
  return typeof v === 'string' ? v.replace(/[{}]/g, '').toLowerCase() : undefined
}

/**
 * Whether the trace covers a process from its first use of the provider: its first SPI
 * call is WSPStartupEx. Processes whose first traced call is anything else were attached
 * mid-session, so what happened before the trace began (startups, switch handles created)
 * is unknown.
 */
export class Coverage {
  private readonly first = new Map<number, string>()

  readonly listener: RuleListener = {
    'call:*': (step: Step) => {
      if (!this.first.has(step.ev.pid)) this.first.set(step.ev.pid, step.ev.fn)
    },
  }

  /** True when the process's first SPI call is WSPStartupEx; undefined before any call. */
  fromStart(pid: number): boolean | undefined {
    const f = this.first.get(pid)
    return f === undefined ? undefined : f === 'WSPStartupEx'
  }

  firstCall(pid: number): string | undefined {
    return this.first.get(pid)
  }
}

/** A descriptor the provider handed out (WSPSocket / WSPAccept success) and that WSPCloseSocket has not yet closed. */
export interface LiveEntry {
  ret: Ev
  sock: Sock
}

/** What the lineage tracker knows about a socket creation. */
export interface Creation {
  /** The descriptor returned. */
  s: string
  /** The same descriptor when it was still live in this process (not closed) before this return. */
  prev?: LiveEntry
  /** dwProviderReserved of a WSPSocket that re-creates a duplicated socket. */
  token?: string
  /** The WSPDuplicateSocket return that issued the token, when it is in the trace. */
  source?: Ev
  /**
   * Whether `prev` is the same underlying socket (connection) as the one the token
   * designates: true/false when the token's duplication is in the trace, undefined otherwise.
   */
  same?: boolean
  /** Re-activation of a duplicated socket in a process where it already existed (SAN008 exception). */
  reactivation: boolean
}

/**
 * Descriptors live per process (from their return by WSPSocket/WSPAccept until
 * WSPCloseSocket returns) and the underlying socket each instance stands for, followed across
 * processes through the dwProviderReserved tokens of WSPDuplicateSocket. Memory follows the
 * live descriptors and the duplication tokens not yet used.
 */
export class Lineage {
  readonly live = new Map<number, Map<string, LiveEntry>>()
  private readonly ids = new WeakMap<Sock, number>()
  private readonly tokens = new Map<string, {id: number; ret: Ev; sock: Sock}>()
  private readonly tokensOf = new WeakMap<Sock, string[]>()
  private nextId = 1

  private idOf(k: Sock): number {
    let id = this.ids.get(k)
    if (id === undefined) this.ids.set(k, (id = this.nextId++))
    return id
  }

  private liveOf(pid: number): Map<string, LiveEntry> {
    let m = this.live.get(pid)
    if (!m) this.live.set(pid, (m = new Map()))
    return m
  }

  /** What a successful WSPSocket/WSPAccept return means, before `created` records it. */
  inspect(step: Step): Creation | undefined {
    const s = rcHandle(step.ev)
    if (!s) return undefined
    const prev = this.live.get(step.ev.pid)?.get(s)
    const token = step.ev.fn === 'WSPSocket' ? dupToken(step.call?.ev) : undefined
    const link = token ? this.tokens.get(token) : undefined
    const same = prev && link ? this.idOf(prev.sock) === link.id : undefined
    // Without the duplication in the trace, an old instance that was itself duplicated out is taken as the same socket.
    const reactivation = !!(token && prev && (same ?? prev.sock.state === 'DUPLICATED_OUT'))
    return {s, prev, token, source: link?.ret, same, reactivation}
  }

  /** Records a successful WSPSocket/WSPAccept return (after `inspect`). */
  created(step: Step, c: Creation): void {
    const k = step.created
    if (!k) return
    if (c.token) {
      const link = this.tokens.get(c.token)
      if (link) {
        this.ids.set(k, link.id)
        this.dropToken(c.token)
      }
    }
    this.liveOf(step.ev.pid).set(c.s, {ret: step.ev, sock: k})
  }

  /** ret:WSPCloseSocket (any result) ends the descriptor's life. */
  closed(step: Step): void {
    const s = str(step.call?.ev.f.Socket ?? step.ev.f.Socket)
    if (!s) return
    const m = this.live.get(step.ev.pid)
    const e = m?.get(s)
    if (!e) return
    m!.delete(s)
    if (m!.size === 0) this.live.delete(step.ev.pid)
    // A token of a closed socket can no longer be linked to an instance of this process.
    for (const t of this.tokensOf.get(e.sock) ?? []) this.tokens.delete(t)
  }

  /** ret:WSPDuplicateSocket success: the token designates this socket. */
  duplicated(step: Step): void {
    const k = step.sock
    const t = str(step.ev.f.ProviderReservedOut)
    if (!k || !t || t === '0x0' || num(step.ev.f.Rc) !== 0) return
    this.tokens.set(t, {id: this.idOf(k), ret: step.ev, sock: k})
    const list = this.tokensOf.get(k) ?? []
    list.push(t)
    this.tokensOf.set(k, list)
  }

  private dropToken(t: string): void {
    const link = this.tokens.get(t)
    if (!link) return
    this.tokens.delete(t)
    const list = this.tokensOf.get(link.sock)
    if (list) {
      const i = list.indexOf(t)
      if (i >= 0) list.splice(i, 1)
    }
  }

  readonly listener: RuleListener = {
    'ret:WSPCloseSocket': (step: Step) => this.closed(step),
    'ret:WSPDuplicateSocket': (step: Step) => this.duplicated(step),
  }
}

/** The call a return belongs to, with a reason when it is missing. */
export function pairedCall(step: Step): Call | undefined {
  return step.call && step.call.ret === step.ev ? step.call : undefined
}
