import {succeeded} from '../../model/result.js'
import type {Step} from '../../model/state.js'
import {C, R} from '../refs.js'
import type {RuleModule} from '../types.js'
import {Lineage, merge, when} from './common.js'

/** SAN009: a provider descriptor is not handed out again while it is live (before WSPCloseSocket). */
export const SAN009: RuleModule = {
  meta: {
    id: 'SAN009',
    title: 'Provider descriptor reused before WSPCloseSocket',
    severity: 'error',
    fault: 'provider',
    section: 'B. Socket creation and handles',
    refs: [C('duplicating-socket-handles-for-a-san'), R('ff566273')],
    docs: {
      checks:
        'Per process, the descriptors returned by successful WSPSocket and WSPAccept calls are live until WSPCloseSocket on them returns (whatever its result). A successful WSPSocket/WSPAccept returning a descriptor that is still live is a violation, except the re-activation of a duplicated socket in a process where it already existed (a WSPSocket with dwProviderReserved ≠ 0 returning the descriptor of the same underlying socket, see SAN008).',
      why: 'The switch keys its socket table by the provider descriptor. Handing out a live descriptor again makes two switch sockets share one provider socket: calls meant for one act on the other, and the first close tears down both connections.',
      fix: 'In the provider, keep each descriptor allocated until the switch calls WSPCloseSocket on it, and only then let the value be reused.',
      example: [
        '+0.000 s  SpiReturn WSPSocket Rc=0x2a0',
        '+1.000 s  SpiReturn WSPAccept Socket=0x1a0 Rc=0x2a0   <- 0x2a0 is still live (never closed)',
      ],
    },
    thresholds: {},
    needs: [{keys: ['ret:WSPSocket', 'ret:WSPAccept'], why: 'WSPSocket or WSPAccept returns'}],
    instance: 'descriptor returned by WSPSocket/WSPAccept',
  },
  create(ctx) {
    const lineage = new Lineage()

    const onRet = (step: Step): void => {
      if (succeeded(step.ev) !== true) return
      const c = lineage.inspect(step)
      if (!c) return
      ctx.checked()
      if (c.prev && !c.reactivation) {
        const p = c.prev
        ctx.report({
          message: `${step.ev.fn} returned descriptor ${c.s}, which is still live in process ${step.ev.pid} (returned by ${p.ret.fn} at ${when(p.ret)}${p.sock.switchHandle ? `, switch handle ${p.sock.switchHandle}` : ''}, never closed with WSPCloseSocket): two sockets now share one descriptor`,
          sock: step.created,
          evidence: [['earlier instance', p.ret], ['call', step.call?.ev], ['return', step.ev]],
        })
      }
      lineage.created(step, c)
    }

    return merge(lineage.listener, {'ret:WSPSocket': onRet, 'ret:WSPAccept': onRet})
  },
}
