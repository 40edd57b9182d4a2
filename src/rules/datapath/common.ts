/**
 * Helpers shared by the data-path, duplication and option rules (SAN025–SAN028, SAN037–SAN040).
 * Stateless functions, plus a small per-rule tracker each rule instantiates in `create()`.
 */
import {E, TRANSFER_FNS, errorName} from '../../model/constants.js'
import {type Ev, num, str} from '../../model/event.js'
import type {Completion, Op, Step} from '../../model/state.js'
import {isOutstanding} from '../../model/state.js'
import {formatOffset} from '../../util/duration.js'

export const TRANSFER_CALL_KEYS = ['call:WSPSend', 'call:WSPRecv', 'call:WSPRdmaWrite', 'call:WSPRdmaRead']
export const TRANSFER_RET_KEYS = ['ret:WSPSend', 'ret:WSPRecv', 'ret:WSPRdmaWrite', 'ret:WSPRdmaRead']
export const TRANSFER_LIST = 'WSPSend, WSPRecv, WSPRdmaWrite, WSPRdmaRead'

/** `WSPRecv (OVERLAPPED 0x7040)`. */
export function opName(op: Op): string {
  return `${op.fn} (OVERLAPPED ${op.ov})`
}

/** `+1.250000 s`: the trace time of an event, for messages. */
export function when(ev: Ev): string {
  return formatOffset(ev.ts)
}

/** `success` or `WSAECONNRESET (10054)`. */
export function statusText(status: number | undefined): string {
  return status === 0 ? 'success' : errorName(status)
}

/** `success, 512 bytes` / `WSA_OPERATION_ABORTED (995), 0 bytes`. */
export function resultText(c: {status: number | undefined; bytes: number | undefined}): string {
  return c.bytes === undefined ? statusText(c.status) : `${statusText(c.status)}, ${c.bytes} byte${c.bytes === 1 ? '' : 's'}`
}

export type RetClass = 'immediate' | 'pending' | 'failed'

/** How the issuing call returned (§3.2): 0 = completed inline, WSA_IO_PENDING = started, anything else = failed synchronously. */
export function retClass(op: Op): RetClass | undefined {
  const r = op.ret
  if (!r) return undefined
  const rc = num(r.f.Rc)
  if (rc === undefined) return undefined
  if (rc === 0) return 'immediate'
  return num(r.f.Errno) === E.WSA_IO_PENDING ? 'pending' : 'failed'
}

/** Bytes the operation asked for: TotalLen, else the sum of its buffers. */
export function requested(op: Op): number | undefined {
  const t = num(op.call.f.TotalLen)
  if (t !== undefined) return t
  const bufs = op.call.f.Buffers
  if (!Array.isArray(bufs)) return undefined
  let sum = 0
  for (const b of bufs) {
    if (!b || typeof b !== 'object' || Array.isArray(b)) return undefined
    const len = num(b.Len)
    if (len === undefined) return undefined
    sum += len
  }
  return sum
}

export function isTransfer(op: Op): boolean {
  return TRANSFER_FNS.has(op.fn)
}

/** What one WSPGetOverlappedResult return says. */
export interface GorResult {
  op?: Op
  ov?: string
  call?: Ev
  ret: Ev
  /** A final status (TRUE, or FALSE with an error other than WSA_IO_INCOMPLETE). */
  final: boolean
  /** FALSE + WSA_IO_INCOMPLETE. */
  incomplete: boolean
  status?: number
  bytes?: number
}

/** The step read last by gorResult, and its reading: the rules of one event share it. */
let lastStep: Step | undefined
let lastRet: Ev | undefined
let lastGor: GorResult | undefined

/**
 * Reads a `ret:WSPGetOverlappedResult` step. The OVERLAPPED comes from the call (returns usually
 * do not repeat it). Shared by the rules that see the same step: callers must not modify it.
 */
export function gorResult(step: Step): GorResult | undefined {
  if (step === lastStep && step.ev === lastRet) return lastGor
  lastGor = readGor(step)
  lastStep = step
  lastRet = step.ev
  return lastGor
}

function readGor(step: Step): GorResult | undefined {
  const ret = step.ev
  const call = step.call?.ev
  const ov = str(call?.f.Overlapped) ?? str(ret.f.Overlapped)
  const rc = num(ret.f.Rc)
  if (rc === undefined) return undefined
  const err = num(ret.f.Errno)
  const ok = rc !== 0
  const op = step.op ?? (ov !== undefined ? step.proc.ops.get(ov) : undefined)
  return {
    op,
    ov,
    call,
    ret,
    final: ok || (err !== undefined && err !== E.WSA_IO_INCOMPLETE),
    incomplete: !ok && err === E.WSA_IO_INCOMPLETE,
    status: ok ? 0 : err,
    bytes: num(ret.f.BytesOut),
  }
}

/**
 * Completion bookkeeping a rule keeps on top of the model. The model records a final
 * WSPGetOverlappedResult only when its return event repeats the Overlapped field, which the
 * trace format does not require; this tracker takes the OVERLAPPED from the paired call.
 */
export class Completions {
  private readonly gors = new WeakMap<Op, Completion>()

  /** Records a final GOR; true when it is the first final GOR of the operation (later ones are idempotent reads). */
  onGor(op: Op, c: Completion): boolean {
    if (op.gor) return op.gor.ev === c.ev
    if (this.gors.has(op)) return false
    this.gors.set(op, c)
    return true
  }

  gor(op: Op): Completion | undefined {
    return op.gor ?? this.gors.get(op)
  }

  /** The first completion signal of any kind (inline return, upcall, OpDone or final GOR). */
  first(op: Op): Completion | undefined {
    const a = op.done
    const b = this.gor(op)
    if (!a) return b
    if (!b) return a
    return b.ev.ts < a.ev.ts ? b : a
  }

  /** Still outstanding from the switch's point of view. */
  outstanding(op: Op): boolean {
    return isOutstanding(op) && !this.gor(op)
  }
}

/** Completion statuses that mean the connection broke (SAN040). */
export const CONNECTION_ERRORS = new Set([E.WSAECONNRESET, E.WSAECONNABORTED, E.WSAENETRESET])

/** Splits `a.b.c.d:port` / `[v6]:port` into host and port. */
export function splitAddr(a: string | undefined): {host: string; port: number} | undefined {
  if (!a) return undefined
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(a.trim().toLowerCase())
  if (!m) return undefined
  return {host: m[1], port: Number(m[2])}
}

export function isWildcardHost(h: string): boolean {
  return h === '0.0.0.0' || h === '::' || h === ''
}

/** The [start, end) ranges of a call's `Buffers` array (with the registration handle for RDMA). */
export function bufferRanges(ev: Ev): Array<{start: bigint; end: bigint; handle?: string}> | undefined {
  const bufs = ev.f.Buffers
  if (!Array.isArray(bufs)) return undefined
  const out: Array<{start: bigint; end: bigint; handle?: string}> = []
  for (const b of bufs) {
    if (!b || typeof b !== 'object' || Array.isArray(b)) continue
    const a = typeof b.Addr === 'string' && /^0x[0-9a-f]+$/.test(b.Addr) ? BigInt(b.Addr) : undefined
    const len = num(b.Len)
    if (a !== undefined && len !== undefined) out.push({start: a, end: a + BigInt(len), handle: str(b.Handle)})
  }
  return out
}

export function hex(v: bigint): string {
  return `0x${v.toString(16)}`
}
