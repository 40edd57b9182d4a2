import {formatDuration as fd} from '../util/duration.js'
import type {AppReq, Op, RdmaReg, Sock} from '../model/state.js'
import {isOutstanding} from '../model/state.js'
import {C} from './refs.js'
import {SWITCH_NEEDS, liveRdmaRegs, outstandingOps} from './switch-events.js'
import type {RuleModule, TimerHandle} from './types.js'

/** SAN035: a cancelled request with outstanding RDMA waits for it, and forces completion by close when it is too long. */
export const SAN035: RuleModule = {
  meta: {
    id: 'SAN035',
    title: 'Cancel with outstanding RDMA',
    severity: 'error',
    fault: 'switch',
    section: 'G. Close and cancel',
    refs: [C('blocking-calls-for-a-san')],
    docs: {
      checks:
        'At each AppCancel, the RDMA set is the outstanding RDMA operations mapped to the request or overlapping its buffer, plus live RDMA registrations overlapping it. (a) AppComplete while any of them is still outstanding (or a registration is live and the socket is not closed) is an error: the buffer went back to the application during RDMA. (b) RDMA still outstanding when the wait threshold after the cancel passes, with no WSPCloseSocket issued by then, is a warning: the switch did not force completion. Needs the switch-side events.',
      why: 'The adapter may still write the application buffer while an RDMA is outstanding: handing the buffer back corrupts application memory. Waiting forever instead hangs the application; the documented way out is an abortive WSPCloseSocket.',
      fix: 'In the switch, keep a cancelled request whose buffer is in an outstanding RDMA until that RDMA completes; if it takes longer than the limit, call WSPCloseSocket on the SAN socket to abort the connection and force completion, and only then complete the request.',
      example: [
        '+0.000 s  SpiCall WSPRdmaRead Socket=0x2a0 Overlapped=0x7ffd3000 Buffers=[{Addr:0x5000000,Len:65536}]',
        '+0.100 s  AppCancel AppReqId=9',
        '(RDMA still pending at +5.100 s and no WSPCloseSocket)   <- RDMA wait past the threshold',
      ],
    },
    thresholds: {
      rdmaCancelWaitMax: {flag: 'rdma-cancel-wait-max', default: '5000ms', description: 'how long the switch may wait for an outstanding RDMA after a cancel before it must close the socket'},
    },
    needs: [SWITCH_NEEDS, {keys: ['app:Cancel'], why: 'application cancels (AppCancel events)'}],
    instance: 'cancel of a request with outstanding RDMA',
  },
  create(ctx) {
    const max = ctx.t.rdmaCancelWaitMax
    const watched = new Map<AppReq, {ops: Op[]; regs: RdmaReg[]}>()
    const sockOf = (r: AppReq, ops: Op[], regs: RdmaReg[], fallback?: Sock): Sock | undefined =>
      ops[0]?.sock ?? regs[0]?.sock ?? fallback

    /** A running RDMA wait limit: its operations and socket, watched until the limit is moot. */
    interface Wait {
      ops: Op[]
      sock?: Sock
      timer?: TimerHandle
    }
    /** Running waits by each of their operations and by their socket. */
    const waits = new Map<Op | Sock, Wait[]>()
    const keysOf = (w: Wait): Array<Op | Sock> => (w.sock ? [...w.ops, w.sock] : w.ops)
    /**
     * Nothing left to judge, at the limit or at the end: no operation outstanding any more (an
     * operation never becomes outstanding again), or the switch called WSPCloseSocket (its call
     * is then no later than the limit).
     */
    const moot = (w: Wait): boolean => w.sock?.closeCall !== undefined || !w.ops.some(isOutstanding)
    const unwait = (w: Wait): void => {
      for (const key of keysOf(w)) {
        const ws = waits.get(key)
        const j = ws ? ws.indexOf(w) : -1
        if (j < 0) continue
        ws!.splice(j, 1)
        if (ws!.length === 0) waits.delete(key)
      }
    }
    const recheck = (key: Op | Sock | undefined): void => {
      const ws = key && waits.get(key)
      if (!ws) return
      for (const w of [...ws]) {
        if (!moot(w)) continue
        unwait(w)
        ctx.cancel(w.timer)
      }
    }

    return {
      // What can make a wait moot: an operation's return or completion, the socket's close.
      'ret:*': (step) => recheck(step.op),
      'up:WPUCompleteOverlappedRequest': (step) => recheck(step.op),
      'prov:OpDone': (step) => recheck(step.op),
      'call:WSPCloseSocket': (step) => recheck(step.sock),
      'app:Cancel': (step) => {
        const r = step.app
        if (!r || r.cancel !== step.ev || r.complete) return
        const ops = outstandingOps(step.proc, r, true)
        const regs = liveRdmaRegs(step.proc, r)
        if (ops.length === 0 && regs.length === 0) return
        ctx.checked()
        watched.set(r, {ops, regs})
        const cancel = step.ev
        if (ops.length === 0) return
        const deadline = cancel.ts + max
        const sock = sockOf(r, ops, regs, step.sock)
        const w: Wait = {ops, sock}
        w.timer = ctx.at(
          deadline,
          () => {
            unwait(w)
            const still = ops.filter(isOutstanding)
            if (still.length === 0) return
            if (sock?.closeCall && sock.closeCall.ts <= deadline) return
            ctx.report({
              message: `RDMA still outstanding ${fd(max)} after application request ${r.id} was cancelled, and the switch did not call WSPCloseSocket to force completion (${still.map((o) => `${o.fn} ${o.ov}`).join(', ')})`,
              severity: 'warning',
              sock,
              pid: cancel.pid,
              ts: deadline,
              evidence: [['request', r.req], ['cancel', cancel], ...still.slice(0, 4).map((o): [string, typeof o.call] => ['outstanding RDMA', o.call])],
              measured: {thresholdNs: max},
            })
          },
          () => {
            unwait(w)
            if (ops.some(isOutstanding) && !sock?.closeCall) ctx.inconclusive('the trace ended before the RDMA wait limit')
          },
        )
        for (const key of keysOf(w)) {
          const ws = waits.get(key)
          if (ws) ws.push(w)
          else waits.set(key, [w])
        }
      },
      'app:Complete': (step) => {
        const r = step.app
        const w = r && watched.get(r)
        if (!r || !w) return
        watched.delete(r)
        const ops = w.ops.filter(isOutstanding)
        const regs = w.regs.filter((g) => step.proc.rdmaRegs.has(g) && !['CLOSING', 'CLOSED', 'RELEASED'].includes(g.sock?.state ?? ''))
        if (ops.length === 0 && regs.length === 0) return
        const what = [
          ...ops.map((o) => `${o.fn} ${o.ov} still outstanding`),
          ...regs.map((g) => `RDMA registration at 0x${g.start.toString(16)} still exposed to the peer`),
        ]
        ctx.report({
          message: `buffer returned to the application during RDMA: request ${r.id} completed after its cancel while ${what.join('; ')}`,
          sock: sockOf(r, ops, regs, step.sock),
          pid: step.ev.pid,
          evidence: [
            ['request', r.req],
            ['cancel', r.cancel],
            ['complete', step.ev],
            ...ops.slice(0, 3).map((o): [string, typeof o.call] => ['outstanding RDMA', o.call]),
            ...regs.slice(0, 2).map((g): [string, typeof g.call] => ['live RDMA registration', g.call]),
          ],
        })
      },
    }
  },
}
