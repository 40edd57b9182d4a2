import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {RULES} from '../src/rules/index.js'
import {rulesMarkdown} from '../src/output/rules-md.js'

describe('documentation', () => {
  it('docs/rules.md is generated from the rule metadata (run scripts/gen-docs.mjs)', () => {
    expect(readFileSync(new URL('../docs/rules.md', import.meta.url), 'utf8')).toBe(rulesMarkdown(RULES))
  })

  it('every rule has complete docs, a reference page and a unique id', () => {
    const ids = new Set<string>()
    for (const r of RULES) {
      const m = r.meta
      expect(ids.has(m.id), m.id).toBe(false)
      ids.add(m.id)
      expect(m.id).toMatch(/^SAN\d{3}$/)
      for (const k of ['checks', 'why', 'fix'] as const) expect(m.docs[k].length, `${m.id} docs.${k}`).toBeGreaterThan(40)
      expect(m.docs.example.length, `${m.id} example`).toBeGreaterThan(0)
      expect(m.refs.length).toBeGreaterThan(0)
      for (const u of m.refs) expect(u).toMatch(/^https:\/\/learn\.microsoft\.com\//)
      expect(m.needs.length).toBeGreaterThan(0)
    }
  })

  it('the README lists every command and links the rules', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    for (const c of ['santrace analyze', 'santrace rules', 'santrace timeline', 'santrace baseline create', 'santrace baseline prune', 'santrace diff', 'docs/ci.md', 'santrace report', 'santrace export', 'santrace stats', 'santrace convert', 'santrace dump', 'santrace synth']) expect(readme).toContain(c)
    expect(readme).toContain('docs/rules.md')
    for (const r of RULES) expect(readme, r.meta.id).toContain(r.meta.id)
  })
})
