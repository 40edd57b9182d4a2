import {ERROR_CODES, errorName} from '../../model/constants.js'
import type {Ev} from '../../model/event.js'
import {num} from '../../model/event.js'
import {C, R} from '../refs.js'
import type {Step} from '../../model/state.js'
import type {RuleListener, RuleModule} from '../types.js'
import {SIO_GET_EXTENSION_FUNCTION_POINTER, guidKey, ioctlCode, when} from './common.js'

const WSAEOPNOTSUPP = ERROR_CODES.WSAEOPNOTSUPP

interface Ext {
  fn: string
  mandatory: boolean
}

/** Extension-function GUIDs (wsd-rules §1.0), canonical form. */
export const EXTENSIONS: ReadonlyMap<string, Ext> = new Map([
  ['c0b422f5-f58c-11d1-ad6c-00c04fa34a2d', {fn: 'WSPRegisterMemory', mandatory: true}],
  ['c0b422f6-f58c-11d1-ad6c-00c04fa34a2d', {fn: 'WSPDeregisterMemory', mandatory: true}],
  ['c0b422f7-f58c-11d1-ad6c-00c04fa34a2d', {fn: 'WSPRegisterRdmaMemory', mandatory: true}],
  ['c0b422f8-f58c-11d1-ad6c-00c04fa34a2d', {fn: 'WSPDeregisterRdmaMemory', mandatory: true}],
  ['c0b422f9-f58c-11d1-ad6c-00c04fa34a2d', {fn: 'WSPRdmaWrite', mandatory: true}],
  ['c0b422fa-f58c-11d1-ad6c-00c04fa34a2d', {fn: 'WSPRdmaRead', mandatory: false}],
  ['e5da4af8-d824-48cd-a799-6337a98ed2af', {fn: 'WSPMemoryRegistrationCacheCallback', mandatory: false}],
])

const GUID_BY_FN = new Map([...EXTENSIONS].map(([g, x]) => [x.fn, g]))

interface Lookup {
  ok: boolean
  err?: number
  call: Ev
  ret: Ev
}

/** SAN006: extension functions are discovered through WSPIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER). */
export const SAN006: RuleModule = {
  meta: {
    id: 'SAN006',
    title: 'Extension-function discovery contract',
    severity: 'error',
    fault: 'switch/provider',
    section: 'A. Contract-wide',
    refs: [C('windows-sockets-spi-extensions-for-sans'), C('handling-socket-options-and-control-codes-for-a-san'), R('ff565854')],
    docs: {
      checks:
        'Each WSPIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER) for a SAN extension GUID is recorded per process. (a) A failed lookup of a mandatory extension (WSPRegisterMemory, WSPDeregisterMemory, WSPRegisterRdmaMemory, WSPDeregisterRdmaMemory, WSPRdmaWrite) is a provider error. (b) A failed lookup of an optional one (WSPRdmaRead, WSPMemoryRegistrationCacheCallback) must fail with WSAEOPNOTSUPP; any other code is a provider error. (c) A call of an extension function in a process whose latest lookup of it failed is a switch error. Calls of functions whose lookup is not in the trace are not judged. The socket argument of the ioctl is ignored.',
      why: 'The switch builds its data path from these pointers. A provider that refuses a mandatory extension cannot carry SAN traffic at all; one that refuses an optional extension with a code other than WSAEOPNOTSUPP makes the switch treat the provider as broken instead of falling back to send/receive. A switch that calls a function it could not resolve jumps through a NULL or stale pointer.',
      fix: 'Provider: return the pointers of all mandatory extensions; for WSPRdmaRead or WSPMemoryRegistrationCacheCallback not implemented, fail the lookup with WSAEOPNOTSUPP. Switch: never call an extension function whose lookup failed (use WSPSend/WSPRecv instead of WSPRdmaRead, skip the registration cache).',
      example: [
        '+0.000 s  SpiCall WSPIoctl IoctlCode=0xc8000006 IoctlGuid={c0b422fa-f58c-11d1-ad6c-00c04fa34a2d}',
        '+0.000 s  SpiReturn WSPIoctl Rc=-1 Errno=WSAEOPNOTSUPP',
        '+3.000 s  SpiCall WSPRdmaRead Socket=0x2a0   <- the lookup of WSPRdmaRead failed',
      ],
    },
    thresholds: {},
    needs: [{keys: ['ret:WSPIoctl'], why: 'WSPIoctl returns (extension-function lookups)'}],
    instance: 'extension-function lookup (WSPIoctl SIO_GET_EXTENSION_FUNCTION_POINTER) or call of a looked-up extension',
  },
  create(ctx) {
    /** Latest lookup per process and GUID: bounded by processes × 7 GUIDs. */
    const lookups = new Map<number, Map<string, Lookup>>()

    const onCall = (fn: string, step: Step): void => {
      const g = GUID_BY_FN.get(fn)!
      const l = lookups.get(step.ev.pid)?.get(g)
      if (!l) return // (d) no lookup in the trace
      ctx.checked()
      if (l.ok) return
      ctx.report({
        message: `the switch called ${fn}${step.sock ? ` on ${step.sock.s}` : ''} although its pointer lookup failed with ${errorName(l.err)} at ${when(l.ret)}`,
        fault: 'switch',
        pid: step.ev.pid,
        evidence: [['lookup', l.call], ['lookup failed', l.ret], ['call', step.ev]],
      })
    }

    const out: RuleListener = {
      'ret:WSPIoctl': (step) => {
        const call = step.call?.ev
        if (!call || ioctlCode(call) !== SIO_GET_EXTENSION_FUNCTION_POINTER) return
        const g = guidKey(call.f.IoctlGuid)
        if (g === undefined) return ctx.inconclusive('extension-function lookup without IoctlGuid')
        const x = EXTENSIONS.get(g)
        if (!x) return
        const rc = num(step.ev.f.Rc)
        if (rc === undefined) return ctx.inconclusive('WSPIoctl return without Rc')
        ctx.checked()
        const err = num(step.ev.f.Errno)
        const l: Lookup = {ok: rc === 0, err, call, ret: step.ev}
        let m = lookups.get(step.ev.pid)
        if (!m) lookups.set(step.ev.pid, (m = new Map()))
        m.set(g, l)
        if (l.ok) return
        if (x.mandatory) {
          ctx.report({
            message: `the provider refused the pointer of mandatory extension ${x.fn} (${errorName(err)}); every SAN provider must implement it`,
            fault: 'provider',
            pid: step.ev.pid,
            evidence: [['lookup', call], ['return', step.ev]],
          })
        } else if (err !== WSAEOPNOTSUPP) {
          ctx.report({
            message: `the lookup of optional extension ${x.fn} failed with ${errorName(err)}; an unsupported optional extension must be refused with ${errorName(WSAEOPNOTSUPP)}`,
            fault: 'provider',
            pid: step.ev.pid,
            evidence: [['lookup', call], ['return', step.ev]],
          })
        }
      },
    }
    for (const x of EXTENSIONS.values()) out[`call:${x.fn}`] = (step: Step) => onCall(x.fn, step)
    return out
  },
}
