/**
 * Per-function error-code tables of wsd-rules §1.2 (SAN004 forbidden codes, SAN005 documented
 * codes), each with the catalogue's confidence tag: [V] verified in the reference page, [P] only
 * the visible start of the page's list is known, [I] inferred from the generic SPI semantics.
 */
import {ERROR_CODES as C, errorName} from '../../model/constants.js'
import type {Ev} from '../../model/event.js'
import {num} from '../../model/event.js'
import {succeeded} from '../../model/result.js'
import type {Severity} from '../types.js'

export type Confidence = 'V' | 'P' | 'I'

export interface Forbidden {
  code: number
  conf: Confidence
  /** Why a SAN provider never returns it. */
  why: string
}

const WHY_INPROGRESS = 'the switch never issues blocking calls to a SAN provider, so no blocking call can be in progress'
const WHY_INTR = 'the switch never cancels a blocking call (WSPCancelBlockingCall is never issued), so no call can be interrupted'

/** Codes the reference pages list as not supported by a SAN provider [V]. */
const FORBIDDEN_V: Readonly<Record<string, ReadonlyArray<Omit<Forbidden, 'conf'>>>> = {
  WSPCloseSocket: [
    {code: C.WSAEINPROGRESS, why: WHY_INPROGRESS},
    {code: C.WSAEWOULDBLOCK, why: 'the switch performs graceful close and linger itself, so close never has to wait'},
  ],
  WSPListen: [
    {code: C.WSAEADDRINUSE, why: 'address reuse is resolved by the switch and TCP/IP before the SAN socket listens'},
    {code: C.WSAEINPROGRESS, why: WHY_INPROGRESS},
    {code: C.WSAEOPNOTSUPP, why: 'the switch only listens on SOCK_STREAM sockets, which support listen'},
  ],
  WSPCleanup: [{code: C.WSAEINVAL, why: 'WSPCleanup has no argument that can be invalid; the SAN page lists only WSANOTINITIALISED and WSAENETDOWN'}],
  WSPEventSelect: [{code: C.WSAEINPROGRESS, why: WHY_INPROGRESS}],
  WSPEnumNetworkEvents: [{code: C.WSAEINPROGRESS, why: WHY_INPROGRESS}],
  WSPDuplicateSocket: [{code: C.WSAEINPROGRESS, why: WHY_INPROGRESS}],
}

/** Codes no function legitimately returns on a SAN, by inference where the page does not say so [I]. */
const GENERIC: ReadonlyArray<Omit<Forbidden, 'conf'>> = [
  {code: C.WSAEINPROGRESS, why: WHY_INPROGRESS},
  {code: C.WSAEINTR, why: WHY_INTR},
]

/** FORBIDDEN[fn]: the [V] codes of its page, plus WSAEINPROGRESS / WSAEINTR as [I] where the page does not list them. */
export function forbidden(fn: string, code: number): Forbidden | undefined {
  const v = FORBIDDEN_V[fn]?.find((x) => x.code === code)
  if (v) return {...v, conf: 'V'}
  const g = GENERIC.find((x) => x.code === code)
  return g ? {...g, conf: 'I'} : undefined
}

/** Completion statuses (WPUCompleteOverlappedRequest dwError) that are never valid [I]. */
export function forbiddenStatus(code: number): Forbidden | undefined {
  const g = GENERIC.find((x) => x.code === code)
  return g ? {...g, conf: 'I'} : undefined
}

export interface Allowed {
  codes: ReadonlySet<number>
  /** The weakest tag of the list: a [P]/[I] list may be incomplete. */
  conf: Confidence
}

const list = (conf: Confidence, ...names: string[]): Allowed => ({codes: new Set(names.map((n) => C[n])), conf})

const SEND_GENERIC = ['WSAENETDOWN', 'WSAEFAULT', 'WSAENETRESET', 'WSAENOBUFS', 'WSAENOTCONN', 'WSAENOTSOCK', 'WSAECONNABORTED', 'WSAECONNRESET', 'WSA_OPERATION_ABORTED']

/** ALLOWED[fn] (§1.2). */
export const ALLOWED: Readonly<Record<string, Allowed>> = {
  // [P] WSASYSNOTREADY, WSAVERNOTSUPPORTED; [I] WSAEPROCLIM, WSAEFAULT from the generic WSPStartup.
  WSPStartupEx: list('P', 'WSASYSNOTREADY', 'WSAVERNOTSUPPORTED', 'WSAEPROCLIM', 'WSAEFAULT'),
  WSPCleanup: list('V', 'WSANOTINITIALISED', 'WSAENETDOWN'),
  // [P] the visible start; WSAESOCKTNOSUPPORT and WSAEINVAL are the likely continuation.
  WSPSocket: list('P', 'WSAENETDOWN', 'WSAEAFNOSUPPORT', 'WSAEMFILE', 'WSAENOBUFS', 'WSAEPROTONOSUPPORT', 'WSAEPROTOTYPE', 'WSAESOCKTNOSUPPORT', 'WSAEINVAL'),
  WSPBind: list('P', 'WSAENETDOWN', 'WSAEADDRNOTAVAIL', 'WSAEFAULT'),
  WSPListen: list('V', 'WSAENETDOWN', 'WSAEINVAL', 'WSAEISCONN', 'WSAEMFILE', 'WSAENOBUFS', 'WSAENOTSOCK'),
  WSPEventSelect: list('V', 'WSAENETDOWN', 'WSAEINVAL', 'WSAENOTSOCK'),
  WSPEnumNetworkEvents: list('V', 'WSAENETDOWN', 'WSAEINVAL', 'WSAENOTSOCK'),
  // [P] visible; [V] conceptual results; [I] other generic codes.
  WSPConnect: list(
    'P',
    'WSAENETDOWN', 'WSAEALREADY', 'WSAEINVAL', 'WSAECONNREFUSED', 'WSAECONNRESET', 'WSAEHOSTUNREACH', 'WSAETIMEDOUT',
    'WSAEADDRNOTAVAIL', 'WSAEFAULT', 'WSAEISCONN', 'WSAENETUNREACH', 'WSAENOBUFS', 'WSAENOTSOCK',
  ),
  WSPAccept: list('P', 'WSAECONNREFUSED', 'WSAENETDOWN', 'WSAEFAULT', 'WSAEINVAL', 'WSAEMFILE'),
  WSPSend: list('P', ...SEND_GENERIC),
  WSPRecv: list('P', ...SEND_GENERIC),
  WSPGetOverlappedResult: list('P', 'WSAENETDOWN', 'WSAENOTSOCK', 'WSA_INVALID_HANDLE', 'WSAEINVAL', 'WSA_IO_INCOMPLETE'),
  // Not visible [P]; the codes the SAN pages and WinOF name for option and control-code handling.
  WSPIoctl: list('P', 'WSAENETDOWN', 'WSAEFAULT', 'WSAEINVAL', 'WSAENOTSOCK', 'WSAEOPNOTSUPP', 'WSAENOPROTOOPT', 'WSAENOBUFS'),
  WSPGetSockOpt: list('P', 'WSAENETDOWN', 'WSAEFAULT', 'WSAEINVAL', 'WSAENOPROTOOPT', 'WSAENOTSOCK'),
  WSPSetSockOpt: list('P', 'WSAENETDOWN', 'WSAEFAULT', 'WSAEINVAL', 'WSAENOPROTOOPT', 'WSAENOTSOCK'),
  WSPGetQOSByName: list('I', 'WSAEOPNOTSUPP', 'WSAENETDOWN', 'WSAEFAULT', 'WSAEINVAL', 'WSAENOTSOCK'),
  WSPCloseSocket: list('V', 'WSAENETDOWN', 'WSAENOTSOCK'),
  WSPDuplicateSocket: list('V', 'WSAENETDOWN', 'WSAEINVAL', 'WSAEMFILE', 'WSAENOBUFS', 'WSAENOTSOCK'),
  WSPRegisterMemory: list('V', 'WSAENOBUFS', 'WSAEFAULT', 'WSAEINVAL', 'WSAENOTCONN'),
  WSPDeregisterMemory: list('V', 'WSAEINVAL'),
  WSPRegisterRdmaMemory: list('P', 'WSAENOBUFS', 'WSAEFAULT', 'WSAEINVAL', 'WSAENOTCONN'),
  WSPDeregisterRdmaMemory: list('V', 'WSAEINVAL'),
  WSPRdmaWrite: list('P', ...SEND_GENERIC, 'WSAEINVAL'),
  WSPRdmaRead: list('P', ...SEND_GENERIC, 'WSAEINVAL'),
  WSPMemoryRegistrationCacheCallback: list('V', 'WSAEFAULT', 'WSAEINVAL'),
}

/** SAN005 severity by the confidence of the list: warning for [V], info for [P]/[I]. */
export const severityFor = (conf: Confidence): Severity => (conf === 'V' ? 'warning' : 'info')

export const confText: Record<Confidence, string> = {V: 'verified', P: 'partial', I: 'inferred'}

/** The documented codes of a function, for messages: `WSAENETDOWN, WSAEINVAL or WSAENOTSOCK`. */
export function allowedText(a: Allowed): string {
  const names = [...a.codes].map((c) => errorName(c).replace(/ \(\d+\)$/, ''))
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`
}

/**
 * The error of a failed return: the Rc of WSPStartupEx (it returns the code directly), else
 * Errno. `failed` is undefined when the return carries no Rc.
 */
export function failureOf(ret: Ev): {failed: boolean | undefined; err: number | undefined} {
  const ok = succeeded(ret)
  if (ok === undefined) return {failed: undefined, err: undefined}
  const err = ret.fn === 'WSPStartupEx' ? num(ret.f.Rc) : num(ret.f.Errno)
  return {failed: !ok, err}
}
