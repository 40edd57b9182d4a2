/** Helpers shared by the connection and memory-registration rules (SAN014–SAN023). */
import {FD_ACCEPT, FD_CONNECT, FD_CONNECT_BIT} from '../../model/constants.js'
import {type Ev, type Value, num, str} from '../../model/event.js'
import {type Op, type OpBuffer, readBuffers} from '../../model/state.js'
export {merge, overlaps} from '../listeners.js'


/** An address `a.b.c.d:port` or `[v6]:port`. */
export interface SockAddr {
  ip: string
  port: number
  text: string
}

export function parseAddr(v: Value | undefined): SockAddr | undefined {
  if (typeof v !== 'string') return undefined
  const t = v.trim()
  const m = /^\[([^\]]*)\]:(\d+)$/.exec(t) ?? /^([^:]+):(\d+)$/.exec(t)
  if (!m) return undefined
  return {ip: m[1].toLowerCase(), port: Number(m[2]), text: t}
}

export const isWildcardIp = (ip: string): boolean => ip === '0.0.0.0' || ip === '::' || ip === '0:0:0:0:0:0:0:0'

/** Whether a connect destination reaches a socket bound at `bound` (exact, or wildcard IP with the same port). */
export function destMatches(dest: SockAddr, bound: SockAddr): boolean {
  return dest.port === bound.port && (dest.ip === bound.ip || isWildcardIp(bound.ip))
}

/** Whether two addresses can be the same endpoint: IPs equal unless one is a wildcard, ports equal unless one is 0. */
export function compatible(a: SockAddr, b: SockAddr): boolean {
  const ipOk = a.ip === b.ip || isWildcardIp(a.ip) || isWildcardIp(b.ip)
  const portOk = a.port === b.port || a.port === 0 || b.port === 0
  return ipOk && portOk
}

/** The FD_* names of a network-event mask: `FD_CONNECT|FD_ACCEPT`. */
const FD_NAMES = ['FD_READ', 'FD_WRITE', 'FD_OOB', 'FD_ACCEPT', 'FD_CONNECT', 'FD_CLOSE', 'FD_QOS', 'FD_GROUP_QOS', 'FD_ROUTING_INTERFACE_CHANGE', 'FD_ADDRESS_LIST_CHANGE']

export function fdName(bit: number): string {
  return FD_NAMES[bit] ?? `FD bit ${bit}`
}

export function maskText(mask: number): string {
  const names: string[] = []
  for (let b = 0; b < 10; b++) if (mask & (1 << b)) names.push(FD_NAMES[b])
  return `0x${mask.toString(16)}${names.length ? ` (${names.join('|')})` : ''}`
}

/** FD_CONNECT result reported by a WSPEnumNetworkEvents return: null when the bit is not set, undefined code when ErrorCodes is absent. */
export function fdConnectOf(ret: Ev): {code: number | undefined} | null {
  const mask = num(ret.f.NetworkEventsOut)
  if (mask === undefined || (mask & FD_CONNECT) === 0) return null
  const codes = ret.f.ErrorCodes
  return {code: Array.isArray(codes) ? num(codes[FD_CONNECT_BIT]) : undefined}
}

export const reportsFdAccept = (ret: Ev): boolean => ((num(ret.f.NetworkEventsOut) ?? 0) & FD_ACCEPT) !== 0

export const ms = (ns: number): string => `+${(ns / 1e9).toFixed(6)} s`

/** A transfer buffer as traced: [start, end), with the WSABUFEX handle for RDMA. */
export type Buf = OpBuffer

/** The event whose buffers were read last, and what they were: the rules of one event share them. */
let lastEv: Ev | undefined
let lastRaw: unknown
let lastBufs: readonly Buf[] | undefined

/**
 * The `Buffers` array of a transfer call; undefined when the trace does not carry it. With the
 * operation the call issued, the model's reading of them. Shared: callers must not modify it.
 */
export function buffersOf(ev: Ev, op?: Op): readonly Buf[] | undefined {
  if (op?.call === ev && op.buffers) return op.buffers
  const bufs = ev.f.Buffers
  if (ev === lastEv && bufs === lastRaw) return lastBufs
  const out = readBuffers(bufs)
  lastEv = ev
  lastRaw = bufs
  lastBufs = out
  return out
}

/** Σ of the buffer lengths of a transfer (from `Buffers`, else `TotalLen`). */
export function totalLen(ev: Ev, op?: Op): number | undefined {
  const bufs = buffersOf(ev, op)
  if (bufs && bufs.length) {
    let sum = 0
    for (const b of bufs) sum += b.len
    return sum
  }
  return num(ev.f.TotalLen)
}

export const hex = (v: bigint): string => `0x${v.toString(16)}`

export const rangeText = (start: bigint, end: bigint): string => `[${hex(start)}, ${hex(end)})`

/** Overlap of two half-open ranges. */

/** Socket states owned by other rules: calls there are judged by SAN033 (closed) and SAN037 (duplicated out). */
export const CLOSED_STATES = new Set(['CLOSING', 'CLOSED', 'RELEASED'])

/** `WSPRecv (OVERLAPPED 0x7040)`. */
export const opName = (ev: Ev): string => `${ev.fn}${typeof ev.f.Overlapped === 'string' ? ` (OVERLAPPED ${ev.f.Overlapped})` : ''}`

export const bufText = (b: Buf): string => `buffer ${b.index} ${rangeText(b.start, b.end)}`
