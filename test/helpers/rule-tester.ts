/**
 * ESLint RuleTester style: each rule gets valid cases (the rule is evaluated and finds nothing),
 * invalid cases (exactly the expected findings of that rule, nothing more) and not-evaluated
 * cases (the rule says why it could not judge, never "passed").
 */
import {describe, expect, it} from 'vitest'
import type {AnalyzeOptions, Report} from '../../src/analyze.js'
import {TraceBuilder} from '../../src/synth/builder.js'
import type {Finding, RuleModule, Severity} from '../../src/rules/types.js'
import {analyzeEvents} from './run.js'

export interface Case {
  name: string
  build: (b: TraceBuilder) => void
  options?: Partial<AnalyzeOptions>
}

export interface Expected {
  message: RegExp
  severity?: Severity
  fault?: string
  socket?: string
  pid?: number
}

export interface RuleCases {
  valid: Case[]
  invalid: Array<Case & {findings: Expected[]}>
  notEvaluated?: Array<Case & {reason: RegExp}>
}

export async function runCase(rule: string, c: Case): Promise<{report: Report; findings: Finding[]}> {
  const b = new TraceBuilder()
  c.build(b)
  const report = await analyzeEvents(b.events, c.options)
  return {report, findings: report.findings.filter((f) => f.rule === rule)}
}

/**
 * `ruleSet`: run these rule modules instead of the registry (for rules not yet registered
 * in src/rules/index.ts).
 */
export function ruleTester(rule: string, cases: RuleCases, ruleSet?: readonly RuleModule[]): void {
  const run = (c: Case) => runCase(rule, ruleSet ? {...c, options: {ruleSet, ...c.options}} : c)
  describe(rule, () => {
    describe('valid', () => {
      for (const c of cases.valid) {
        it(c.name, async () => {
          const {report, findings} = await run(c)
          expect(findings.map((f) => f.message)).toEqual([])
          const st = report.rules.find((s) => s.rule === rule)!
          expect(st.status, `status of ${rule}: ${st.reason ?? ''}`).toBe('passed')
          expect(st.checked).toBeGreaterThan(0)
        })
      }
    })
    describe('invalid', () => {
      for (const c of cases.invalid) {
        it(c.name, async () => {
          const {report, findings} = await run(c)
          expect(findings.map((f) => `${f.severity}: ${f.message}`), 'number of findings').toHaveLength(c.findings.length)
          c.findings.forEach((e, i) => {
            const f = findings[i]
            expect(f.message).toMatch(e.message)
            expect(f.severity).toBe(e.severity ?? report.rules.find((s) => s.rule === rule)!.severity)
            if (e.fault) expect(f.fault).toBe(e.fault)
            if (e.socket) expect(f.socket).toBe(e.socket)
            if (e.pid !== undefined) expect(f.pid).toBe(e.pid)
            expect(f.evidence.length).toBeGreaterThan(0)
            for (const ev of f.evidence) expect(ev.line).toBeGreaterThan(0)
          })
          expect(report.rules.find((s) => s.rule === rule)!.status).toBe('violated')
        })
      }
    })
    if (cases.notEvaluated?.length) {
      describe('not evaluated', () => {
        for (const c of cases.notEvaluated!) {
          it(c.name, async () => {
            const {report, findings} = await run(c)
            expect(findings).toEqual([])
            const st = report.rules.find((s) => s.rule === rule)!
            expect(st.status).toBe('not-evaluated')
            expect(st.reason).toMatch(c.reason)
          })
        }
      })
    }
  })
}
