/** Helpers shared by the rules that need the switch's own events (SAN034–SAN036). */
import {RDMA_FNS} from '../model/constants.js'
import type {AppReq, Op, Proc, RdmaReg} from '../model/state.js'
import {isOutstanding} from '../model/state.js'
import {overlaps} from './listeners.js'

export const SWITCH_NEEDS = {keys: ['app:Cancel', 'app:Request', 'sw:Map', 'sw:Abort'], why: 'switch-side events (WSD.SwitchShim: AppRequest, AppCancel, AppComplete, SwitchMap)'}

type Range = {start: bigint; end: bigint}


/** The application buffer ranges of a request: its own buffer plus the RDMA ranges the switch mapped. */
export function requestRanges(r: AppReq): Range[] {
  return r.buf ? [r.buf, ...r.ranges] : [...r.ranges]
}

/** Outstanding SAN operations mapped to the request, or whose buffers overlap its ranges. */
export function outstandingOps(p: Proc, r: AppReq, onlyRdma: boolean): Op[] {
  const out = new Set<Op>()
  for (const ov of r.ovs) {
    const op = p.ops.get(ov)
    if (op && isOutstanding(op) && (!onlyRdma || RDMA_FNS.has(op.fn))) out.add(op)
  }
  const ranges = requestRanges(r)
  if (ranges.length) {
    const uses = (op: Op): boolean => !(onlyRdma && !RDMA_FNS.has(op.fn)) && !!op.buffers && op.buffers.some((b) => ranges.some((x) => overlaps(b, x)))
    // The model's outstanding operations find the users; with several, the operation map gives their order.
    let more: Op | undefined
    let n = 0
    for (const op of p.outstanding) {
      if (out.has(op) || !uses(op)) continue
      if (n++ === 0) more = op
    }
    if (n === 1) out.add(more!)
    else if (n > 1) for (const op of p.ops.values()) if (isOutstanding(op) && uses(op)) out.add(op)
  }
  return [...out]
}

/** Live RDMA registrations (exposed to the peer) that overlap the request's buffers. */
export function liveRdmaRegs(p: Proc, r: AppReq): RdmaReg[] {
  const ranges = requestRanges(r)
  const out: RdmaReg[] = []
  if (ranges.length) for (const g of p.rdmaRegs) if (ranges.some((x) => overlaps(g, x))) out.push(g)
  return out
}
