import {describe, expect, it} from 'vitest'
import {PROGRESS_MIN_BYTES, progressLine, shouldShowProgress} from '../src/cli/progress.js'
import {demoTracePath} from '../src/util/paths.js'
import {tempFile} from './helpers/run.js'

describe('progress display', () => {
  it('only for large inputs on a terminal, never in CI or pipes', () => {
    const big = tempFile('big.jsonl', Buffer.alloc(PROGRESS_MIN_BYTES + 1, 0x20))
    expect(shouldShowProgress([big], {}, true)).toBe(PROGRESS_MIN_BYTES + 1)
    expect(shouldShowProgress([big], {CI: 'true'}, true)).toBeUndefined()
    expect(shouldShowProgress([big], {}, false)).toBeUndefined()
    expect(shouldShowProgress([demoTracePath()], {}, true)).toBeUndefined()
    expect(shouldShowProgress(['-'], {}, true)).toBeUndefined()
  })

  it('shows bytes of total, events per second and time left', () => {
    const line = progressLine(50 * 1048576, 100 * 1048576, 2_000_000, 2000)
    expect(line).toMatch(/^\[#{12}-{12}\]  50% 50 MB\/100 MB  1\.00M events\/s  2 s left$/)
  })
})
