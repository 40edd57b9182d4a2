import {RDMA_FNS} from '../../model/constants.js'
import type {Ev} from '../../model/event.js'
import {num} from '../../model/event.js'
import type {Sock, Step} from '../../model/state.js'
import {formatOffset} from '../../util/duration.js'
import {C} from '../refs.js'
import type {RuleModule} from '../types.js'
import {CLOSED_STATES, opName, totalLen} from './util.js'

const SO_MAX_MSG_SIZE = 0x2003
const SO_MAX_RDMA_SIZE = 0x700d
const SO_RDMA_THRESHOLD_SIZE = 0x700e

type Kind = 'msg' | 'rdma' | 'thr'
const OPT: Record<number, Kind> = {[SO_MAX_MSG_SIZE]: 'msg', [SO_MAX_RDMA_SIZE]: 'rdma', [SO_RDMA_THRESHOLD_SIZE]: 'thr'}
const OPT_NAME: Record<Kind, string> = {msg: 'SO_MAX_MSG_SIZE', rdma: 'SO_MAX_RDMA_SIZE', thr: 'SO_RDMA_THRESHOLD_SIZE'}

interface Limit {
  value: number
  /** The WSPGetSockOpt return it came from; absent for configured values. */
  ev?: Ev
  source: string
  /** The same limit applied to another socket of the process (made once). */
  samePid?: Limit
}

type Limits = Partial<Record<Kind, Limit>>

/** SAN023: WSPSend within SO_MAX_MSG_SIZE, RDMA within SO_MAX_RDMA_SIZE. */
export const SAN023: RuleModule = {
  meta: {
    id: 'SAN023',
    title: 'Transfer-size limits',
    severity: 'error',
    fault: 'switch',
    section: 'E. Memory registration',
    refs: [C('handling-socket-options-and-control-codes-for-a-san')],
    docs: {
      checks:
        'The limits the provider reports through WSPGetSockOpt (SO_MAX_MSG_SIZE 0x2003, SO_MAX_RDMA_SIZE 0x700D) are kept per socket, and per process as a fallback (the provider answers the same for every socket); without them, the provider capabilities of the configuration file (maxMsgSize, maxRdmaSize) are used. The total length of the buffers of one WSPSend must not exceed SO_MAX_MSG_SIZE, nor that of one WSPRdmaWrite/WSPRdmaRead SO_MAX_RDMA_SIZE (errors). A value of 0 means no limit. SO_RDMA_THRESHOLD_SIZE is the provider\'s preference only: an RDMA transfer below it, or a WSPSend above it, is reported as info once per socket.',
      why: 'A message-oriented SAN transport cannot carry more than its maximum message in one send, and the adapter cannot move more than its maximum in one RDMA operation; a switch that ignores the limits gets failed transfers (or truncated messages) on the application\'s connection.',
      fix: 'In the switch, query SO_MAX_MSG_SIZE and SO_MAX_RDMA_SIZE after creating the SAN socket and split larger application transfers into pieces within those limits.',
      example: [
        '+0.000 s  SpiReturn WSPGetSockOpt Socket=0x2a0 OptName=0x2003 OptValue=65536',
        '+0.010 s  SpiCall WSPSend Socket=0x2a0 Overlapped=0x7000 TotalLen=131072   <- exceeds SO_MAX_MSG_SIZE',
      ],
    },
    thresholds: {},
    needs: [{keys: ['call:WSPSend', 'call:WSPRdmaWrite', 'call:WSPRdmaRead'], why: 'WSPSend or RDMA transfer calls'}],
    instance: 'WSPSend or RDMA transfer with a known size limit',
  },
  create(ctx) {
    const bySock = new WeakMap<Sock, Limits>()
    const byPid = new Map<number, Limits>()
    /** Threshold deviations already reported per socket. */
    const told = new WeakMap<Sock, Set<string>>()
    /** Limits from the configuration, per kind (made once). */
    const configured = new Map<Kind, Limit | undefined>()

    const limit = (k: Sock, kind: Kind): Limit | undefined => {
      const own = bySock.get(k)?.[kind]
      if (own) return own
      const pid = byPid.get(k.pid)?.[kind]
      if (pid) return (pid.samePid ??= {value: pid.value, ev: pid.ev, source: `${pid.source} (same process)`})
      if (configured.has(kind)) return configured.get(kind)
      const cfg = kind === 'msg' ? ctx.options.provider.maxMsgSize : kind === 'rdma' ? ctx.options.provider.maxRdmaSize : undefined
      const lim = cfg !== undefined ? {value: cfg, source: `the configured provider ${kind === 'msg' ? 'maxMsgSize' : 'maxRdmaSize'}`} : undefined
      configured.set(kind, lim)
      return lim
    }

    const threshold = (step: Step, k: Sock, len: number): void => {
      const thr = limit(k, 'thr')
      if (!thr || thr.value <= 0) return
      const rdma = RDMA_FNS.has(step.ev.fn)
      const off = rdma ? len < thr.value : len > thr.value
      const key = rdma ? 'rdma' : 'send'
      let seen = told.get(k)
      if (!off || seen?.has(key)) return
      if (!seen) told.set(k, (seen = new Set()))
      seen.add(key)
      ctx.report({
        message: `${opName(step.ev)} on ${k.s} moves ${len} bytes ${rdma ? 'by RDMA, below' : 'by a send, above'} the provider's preferred SO_RDMA_THRESHOLD_SIZE ${thr.value} (${thr.source}); the switch may choose its own threshold (reported once per socket)`,
        severity: 'info',
        sock: k,
        evidence: [['threshold', thr.ev], ['transfer', step.ev]],
      })
    }

    const transfer = (step: Step): void => {
      const k = step.sock
      const before = step.call?.before ?? step.before
      if (!k || !before || CLOSED_STATES.has(before)) return
      const kind: Kind = RDMA_FNS.has(step.ev.fn) ? 'rdma' : 'msg'
      const len = totalLen(step.ev, step.call?.op)
      if (len === undefined) return ctx.inconclusive(`${step.ev.fn} without Buffers or TotalLen`)
      threshold(step, k, len)
      const lim = limit(k, kind)
      if (!lim) return ctx.inconclusive(`the provider's ${OPT_NAME[kind]} is not in the trace (WSPGetSockOpt) nor configured (${kind === 'msg' ? 'maxMsgSize' : 'maxRdmaSize'})`)
      if (lim.value <= 0) return ctx.inconclusive(`${OPT_NAME[kind]} reported as 0 (no limit)`)
      ctx.checked()
      if (len <= lim.value) return
      ctx.report({
        message: `${opName(step.ev)} on ${k.s} ${kind === 'msg' ? 'sends' : 'transfers'} ${len} bytes in one call > ${OPT_NAME[kind]} ${lim.value} (${lim.source}); the switch must split transfers to the provider's limit`,
        sock: k,
        evidence: [['limit', lim.ev], ['transfer', step.ev]],
        measured: {bytes: len, limit: lim.value},
      })
    }

    return {
      'ret:WSPGetSockOpt': (step) => {
        const call = step.call?.ev
        const name = num(call?.f.OptName ?? step.ev.f.OptName)
        const kind = name !== undefined ? OPT[name] : undefined
        const value = num(step.ev.f.OptValue)
        if (!kind || value === undefined || num(step.ev.f.Rc) !== 0) return
        const k = step.sock
        const at = formatOffset(step.ev.ts)
        if (k) {
          const l = bySock.get(k) ?? {}
          l[kind] = {value, ev: step.ev, source: `WSPGetSockOpt on ${k.s} at ${at}`}
          bySock.set(k, l)
        }
        const p = byPid.get(step.ev.pid) ?? {}
        p[kind] = {value, ev: step.ev, source: `WSPGetSockOpt${k ? ` on ${k.s}` : ''} at ${at}`}
        byPid.set(step.ev.pid, p)
      },
      'call:WSPSend': transfer,
      'call:WSPRdmaWrite': transfer,
      'call:WSPRdmaRead': transfer,
    }
  },
}
