import {describe, expect, it} from 'vitest'
import {analyze, exitCodeFor} from '../src/analyze.js'
import {TraceBuilder} from '../src/synth/builder.js'
import {jsonl, tempFile} from './helpers/run.js'

describe('bounded findings', () => {
  it('keeps the first findings in full and counts the rest', async () => {
    const b = new TraceBuilder()
    for (let i = 0; i < 10; i++) b.callRet(1, 1, 'WSPCancelBlockingCall', {})
    const r = await analyze({files: [tempFile('many.jsonl', jsonl(b.events))], maxFindings: 3, only: ['SAN001']})
    expect(r.findings).toHaveLength(3)
    expect(r.summary.findings.error).toBe(10)
    expect(r.rules[0]).toMatchObject({status: 'violated', findings: 10})
    expect(r.notes).toEqual({'findings beyond the first 3 (counted in the summary, not listed)': 7})
    expect(exitCodeFor({...r, findings: []}, 'error')).toBe(1)
  })
})
