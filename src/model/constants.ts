/** Winsock constants used by the trace vocabulary and the rules (wsd-rules.md §1.0). */

export const SOCKET_ERROR = -1
export const WSA_FLAG_OVERLAPPED = 0x01
export const MSG_OOB = 0x1
export const FD_ACCEPT = 0x08
export const FD_CONNECT = 0x10
export const FD_ACCEPT_BIT = 3
export const FD_CONNECT_BIT = 4

export const ERROR_CODES: Readonly<Record<string, number>> = {
  NO_ERROR: 0,
  WSA_INVALID_HANDLE: 6,
  WSA_OPERATION_ABORTED: 995,
  WSA_IO_INCOMPLETE: 996,
  WSA_IO_PENDING: 997,
  WSAEINTR: 10004,
  WSAEACCES: 10013,
  WSAEFAULT: 10014,
  WSAEINVAL: 10022,
  WSAEMFILE: 10024,
  WSAEWOULDBLOCK: 10035,
  WSAEINPROGRESS: 10036,
  WSAEALREADY: 10037,
  WSAENOTSOCK: 10038,
  WSAEMSGSIZE: 10040,
  WSAEPROTOTYPE: 10041,
  WSAENOPROTOOPT: 10042,
  WSAEPROTONOSUPPORT: 10043,
  WSAESOCKTNOSUPPORT: 10044,
  WSAEOPNOTSUPP: 10045,
  WSAEAFNOSUPPORT: 10047,
  WSAEADDRINUSE: 10048,
  WSAEADDRNOTAVAIL: 10049,
  WSAENETDOWN: 10050,
  WSAENETUNREACH: 10051,
  WSAENETRESET: 10052,
  WSAECONNABORTED: 10053,
  WSAECONNRESET: 10054,
  WSAENOBUFS: 10055,
  WSAEISCONN: 10056,
  WSAENOTCONN: 10057,
  WSAESHUTDOWN: 10058,
  WSAETIMEDOUT: 10060,
  WSAECONNREFUSED: 10061,
  WSAEHOSTUNREACH: 10065,
  WSAEPROCLIM: 10067,
  WSASYSNOTREADY: 10091,
  WSAVERNOTSUPPORTED: 10092,
  WSANOTINITIALISED: 10093,
  WSATRY_AGAIN: 11002,
}

export const E = ERROR_CODES as {
  readonly [K in
    | 'WSA_OPERATION_ABORTED'
    | 'WSA_IO_INCOMPLETE'
    | 'WSA_IO_PENDING'
    | 'WSAEINTR'
    | 'WSAEWOULDBLOCK'
    | 'WSAEINPROGRESS'
    | 'WSAENOTSOCK'
    | 'WSAENETDOWN'
    | 'WSAENETRESET'
    | 'WSAECONNABORTED'
    | 'WSAECONNRESET'
    | 'WSAECONNREFUSED']: number
}

/** Condition-function results (ConditionReturn.Result). */
export const CONDITION_RESULTS: Readonly<Record<string, number>> = {CF_ACCEPT: 0, CF_REJECT: 1, CF_DEFER: 2}

const NAME_BY_CODE = new Map<number, string>()
for (const [name, code] of Object.entries(ERROR_CODES)) if (code !== 0) NAME_BY_CODE.set(code, name)

/** `WSAEWOULDBLOCK (10035)`; `0` for success; the bare number when unknown. */
export function errorName(code: number | undefined): string {
  if (code === undefined) return '(absent)'
  const n = NAME_BY_CODE.get(code)
  return n ? `${n} (${code})` : String(code)
}

/** Data-transfer functions that take an OVERLAPPED and are tracked as operations (§3.2). */
export const TRANSFER_FNS = new Set(['WSPSend', 'WSPRecv', 'WSPRdmaWrite', 'WSPRdmaRead'])
export const RDMA_FNS = new Set(['WSPRdmaWrite', 'WSPRdmaRead'])

/** SPI functions that carry no socket argument. */
export const SOCKETLESS_FNS = new Set(['WSPStartupEx', 'WSPStartup', 'WSPCleanup', 'WSPSocket', 'WSPMemoryRegistrationCacheCallback', 'WSPAddressToString', 'WSPStringToAddress', 'WSPCancelBlockingCall'])
