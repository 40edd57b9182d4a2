import {errorName} from '../../model/constants.js'
import {type Ev, num} from '../../model/event.js'
import type {Step} from '../../model/state.js'
import {C} from '../refs.js'
import type {RuleModule} from '../types.js'
import {when} from './common.js'

const SOL_SOCKET = 0xffff
const IPPROTO_TCP = 6
const SO_GROUP_ID = 0x2001
const SO_GROUP_PRIORITY = 0x2002
const SIO_ADDRESS_LIST_QUERY = 0x48000016
const WSAEOPNOTSUPP = 10045

const OPTION_NAMES: Record<number, string> = {
  0x0001: 'SO_DEBUG',
  0x0004: 'SO_REUSEADDR',
  0x0008: 'SO_KEEPALIVE',
  0x0080: 'SO_LINGER',
  0x0100: 'SO_OOBINLINE',
  0x1001: 'SO_SNDBUF',
  0x1002: 'SO_RCVBUF',
  0x1005: 'SO_SNDTIMEO',
  0x1006: 'SO_RCVTIMEO',
  [SO_GROUP_ID]: 'SO_GROUP_ID',
  [SO_GROUP_PRIORITY]: 'SO_GROUP_PRIORITY',
  0x2003: 'SO_MAX_MSG_SIZE',
  0x700d: 'SO_MAX_RDMA_SIZE',
  0x700e: 'SO_RDMA_THRESHOLD_SIZE',
  0xfffffffb: 'SO_EXCLUSIVEADDRUSE',
}

const IOCTL_NAMES: Record<number, string> = {
  0xc8000006: 'SIO_GET_EXTENSION_FUNCTION_POINTER',
  [SIO_ADDRESS_LIST_QUERY]: 'SIO_ADDRESS_LIST_QUERY',
  0xc8000007: 'SIO_GET_QOS',
  0xc8000008: 'SIO_GET_GROUP_QOS',
  0x8800000b: 'SIO_SET_QOS',
  0x8800000c: 'SIO_SET_GROUP_QOS',
  0x4004667e: 'FIONBIO',
  0x4004667f: 'FIONREAD',
  0x98000004: 'SIO_KEEPALIVE_VALS',
  0x98000001: 'SIO_RCVALL',
}

const GET_OPTIONS = new Set([0x0001, 0x2003, 0x700d, 0x700e, SO_GROUP_ID, SO_GROUP_PRIORITY])
const SET_OPTIONS = new Set([0x0001, SO_GROUP_PRIORITY])
const QOS_IOCTLS = new Set([0xc8000007, 0xc8000008, 0x8800000b, 0x8800000c])
const SWITCH_IOCTLS = new Set([0xc8000006, SIO_ADDRESS_LIST_QUERY, ...QOS_IOCTLS])

const hexOf = (n: number): string => `0x${(n >>> 0).toString(16)}`

function optionName(level: number | undefined, name: number): string {
  if (level === IPPROTO_TCP && name === 1) return 'TCP_NODELAY (IPPROTO_TCP)'
  if (level !== undefined && level !== SOL_SOCKET) return `option ${hexOf(name)} at level ${level}`
  return OPTION_NAMES[name >>> 0] ?? `option ${hexOf(name)}`
}

function ioctlName(code: number): string {
  const n = IOCTL_NAMES[code >>> 0]
  return n ? `${n} (${hexOf(code)})` : `control code ${hexOf(code)}`
}

const QOS_UNKNOWN = 'provider QoS capability unknown (set provider.qosSupported in the configuration): QoS requests not judged'

/** SAN039: only documented options and ioctls reach the provider; QoS only to QoS providers. */
export const SAN039: RuleModule = {
  meta: {
    id: 'SAN039',
    title: 'Options, ioctls and QoS',
    severity: 'warning',
    fault: 'switch/provider',
    section: 'I. Options and session',
    refs: [C('handling-socket-options-and-control-codes-for-a-san'), C('windows-sockets-spi-functions-required-for-sans')],
    docs: {
      checks:
        'WSPGetSockOpt of an option other than SO_DEBUG, SO_MAX_MSG_SIZE, SO_MAX_RDMA_SIZE, SO_RDMA_THRESHOLD_SIZE, SO_GROUP_ID, SO_GROUP_PRIORITY, or WSPSetSockOpt of one other than SO_DEBUG and SO_GROUP_PRIORITY: info (the switch may replay application options). WSPIoctl with a code other than SIO_GET_EXTENSION_FUNCTION_POINTER, SIO_ADDRESS_LIST_QUERY and SIO_GET/SET_(GROUP_)QOS: warning (switch). SIO_*QOS or SO_GROUP_* sent to a provider without XP1_QOS_SUPPORTED: warning (switch). WSPGetQOSByName on such a provider not failing with WSAEOPNOTSUPP: error (provider). A successful SIO_ADDRESS_LIST_QUERY returning 0 addresses while later WSPBind/WSPConnect on that provider succeed: info. The QoS checks need the provider capability from the configuration (provider.qosSupported); without it they are not judged.',
      why: 'The switch only forwards the options and control codes a SAN provider is required to handle; anything else may be unimplemented in the provider and fail the application\'s call, or change behaviour the switch owns (buffering, keep-alive, blocking mode). QoS requests to a provider that does not advertise QoS cannot be honoured, and a provider that pretends to answer WSPGetQOSByName misleads the application.',
      fix: 'Switch: keep application-level options and ioctls on the TCP/IP side; send QoS requests only when the provider\'s protocol info has XP1_QOS_SUPPORTED. Provider: without QoS support, fail WSPGetQOSByName with WSAEOPNOTSUPP; report the NIC addresses in SIO_ADDRESS_LIST_QUERY.',
      example: ['+0.000 s  SpiCall WSPIoctl Socket=0x2a0 IoctlCode=0x4004667e   <- FIONBIO is not a control code the switch sends to a SAN provider'],
    },
    thresholds: {},
    needs: [
      {
        keys: ['call:WSPGetSockOpt', 'call:WSPSetSockOpt', 'call:WSPIoctl', 'call:WSPGetQOSByName'],
        why: 'option, ioctl or QoS calls (WSPGetSockOpt, WSPSetSockOpt, WSPIoctl, WSPGetQOSByName)',
      },
    ],
    instance: 'option, ioctl or QoS call',
  },
  create(ctx) {
    const qos = ctx.options.provider.qosSupported
    /** Last successful SIO_ADDRESS_LIST_QUERY per process that returned no address. */
    const emptyList = new Map<number, {call: Ev; ret: Ev}>()

    const qosRequest = (step: Step, what: string): void => {
      if (qos === undefined) return ctx.inconclusive(QOS_UNKNOWN)
      if (qos) return
      ctx.report({
        message: `${what} sent to a provider without XP1_QOS_SUPPORTED (provider.qosSupported = false): the switch sends QoS requests only to QoS-capable providers`,
        severity: 'warning',
        fault: 'switch',
        sock: step.sock,
        pid: step.ev.pid,
        evidence: [['call', step.ev]],
      })
    }

    const option = (step: Step, set: boolean): void => {
      const ev = step.ev
      const name = num(ev.f.OptName)
      if (name === undefined) return ctx.inconclusive(`${ev.fn} without an OptName field`)
      ctx.checked()
      const level = num(ev.f.OptLevel)
      const socketLevel = level === undefined || level === SOL_SOCKET
      const allowed = socketLevel && (set ? SET_OPTIONS : GET_OPTIONS).has(name >>> 0)
      if (!allowed) {
        ctx.report({
          message: `${ev.fn} of ${optionName(level, name)} on ${step.sock?.s ?? '?'}: the switch ${set ? 'sets only SO_DEBUG and SO_GROUP_PRIORITY' : 'reads only SO_DEBUG, SO_MAX_MSG_SIZE, SO_MAX_RDMA_SIZE, SO_RDMA_THRESHOLD_SIZE, SO_GROUP_ID and SO_GROUP_PRIORITY'} on a SAN socket (an application option replayed on the companion socket?)`,
          severity: 'info',
          fault: 'switch',
          sock: step.sock,
          pid: ev.pid,
          evidence: [['call', ev]],
        })
      }
      if (socketLevel && (name === SO_GROUP_ID || name === SO_GROUP_PRIORITY)) qosRequest(step, `${ev.fn} of ${optionName(level, name)}`)
    }

    const afterSetup = (step: Step, what: string): void => {
      const e = emptyList.get(step.ev.pid)
      if (!e) return
      emptyList.delete(step.ev.pid)
      ctx.report({
        message: `SIO_ADDRESS_LIST_QUERY returned 0 addresses at ${when(e.ret)}, yet ${what} on ${step.sock?.s ?? '?'} succeeded on this provider: the provider should report the addresses of its NICs`,
        severity: 'info',
        fault: 'provider',
        sock: step.sock,
        pid: step.ev.pid,
        evidence: [
          ['address list query', e.call],
          ['empty list', e.ret],
          [what, step.ev],
        ],
      })
    }

    return {
      'call:WSPGetSockOpt': (step) => option(step, false),
      'call:WSPSetSockOpt': (step) => option(step, true),
      'call:WSPIoctl': (step) => {
        const ev = step.ev
        const code = num(ev.f.IoctlCode)
        if (code === undefined) return ctx.inconclusive('WSPIoctl without an IoctlCode field')
        ctx.checked()
        const c = code >>> 0
        if (!SWITCH_IOCTLS.has(c)) {
          ctx.report({
            message: `WSPIoctl ${ioctlName(c)} on ${step.sock?.s ?? '?'}: the switch sends a SAN provider only SIO_GET_EXTENSION_FUNCTION_POINTER, SIO_ADDRESS_LIST_QUERY and the SIO_*QOS codes`,
            severity: 'warning',
            fault: 'switch',
            sock: step.sock,
            pid: ev.pid,
            evidence: [['call', ev]],
          })
        }
        if (QOS_IOCTLS.has(c)) qosRequest(step, `WSPIoctl ${ioctlName(c)}`)
      },
      'ret:WSPIoctl': (step) => {
        const call = step.call?.ev
        if (!call || (num(call.f.IoctlCode) ?? 0) >>> 0 !== SIO_ADDRESS_LIST_QUERY || num(step.ev.f.Rc) !== 0) return
        const n = num(step.ev.f.AddrCount)
        if (n === 0) emptyList.set(step.ev.pid, {call, ret: step.ev})
        else if (n !== undefined) emptyList.delete(step.ev.pid)
      },
      'ret:WSPBind': (step) => {
        if (num(step.ev.f.Rc) === 0) afterSetup(step, 'WSPBind')
      },
      'ret:WSPConnect': (step) => {
        if (num(step.ev.f.Rc) === 0) afterSetup(step, 'WSPConnect')
      },
      'ret:WSPEnumNetworkEvents': (step) => {
        if (step.before === 'CONNECTING' && step.sock?.state === 'CONNECTED') afterSetup(step, 'the connect')
      },
      'call:WSPGetQOSByName': () => {
        if (qos === undefined) ctx.inconclusive(QOS_UNKNOWN)
      },
      'ret:WSPGetQOSByName': (step) => {
        if (qos === undefined) return
        ctx.checked()
        if (qos) return
        const rc = num(step.ev.f.Rc)
        const err = num(step.ev.f.Errno)
        if (rc === 0 && err === WSAEOPNOTSUPP) return
        ctx.report({
          message: `WSPGetQOSByName ${rc !== 0 ? 'succeeded' : `failed with ${errorName(err)}`} on a provider without QoS support (provider.qosSupported = false): it must fail with ${errorName(WSAEOPNOTSUPP)}`,
          severity: 'error',
          fault: 'provider',
          sock: step.sock,
          pid: step.ev.pid,
          evidence: [
            ['call', step.call?.ev],
            ['return', step.ev],
          ],
        })
      },
    }
  },
}
