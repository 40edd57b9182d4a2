/** Whether a return succeeded, by the function's return convention (trace-format.md, SpiReturn.Rc). */
import type {Ev} from './event.js'
import {num} from './event.js'

export function succeeded(ret: Ev): boolean | undefined {
  const rc = num(ret.f.Rc)
  if (rc === undefined) return undefined
  switch (ret.fn) {
    case 'WSPSocket':
    case 'WSPAccept':
      return rc !== -1
    case 'WSPGetOverlappedResult':
    case 'WSPRegisterMemory':
      return rc !== 0
    default:
      return rc === 0
  }
}
