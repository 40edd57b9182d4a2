/**
 * JUnit XML for GitLab, Jenkins and test-report actions: one suite per trace file, one
 * test case per rule (failures carry that file's findings, not-evaluated rules are skipped).
 * GitLab shows `classname` as the suite name and reads the failure text from the body.
 */
import type {Report} from '../analyze.js'
import type {Finding} from '../rules/types.js'
import {artifactUri, primaryEvidence, whereText} from './common.js'

export function xmlEscape(s: string): string {
  // Characters XML 1.0 cannot carry at all are replaced; the rest escaped.
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

function findingText(f: Finding): string {
  const lines = [`${f.severity} ${f.rule} ${f.message} [${f.fault}] ${whereText(f)} at ${f.time}`]
  for (const e of f.evidence) lines.push(`    ${e.role}: ${e.time}${e.tid !== undefined ? ` tid ${e.tid}` : ''} ${e.text} (${e.file}${e.line !== undefined ? `:${e.line}` : e.offset !== undefined ? `@${e.offset}` : ''})`)
  return lines.join('\n')
}

export function renderJunit(r: Report): string {
  const files = r.inputs.length ? r.inputs.map((i) => i.file) : ['(no input)']
  const byFile = new Map<string, Finding[]>(files.map((f) => [f, []]))
  for (const f of r.findings) {
    const file = primaryEvidence(f)?.file ?? files[0]
    ;(byFile.get(file) ?? byFile.get(files[0])!).push(f)
  }
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>']
  let tests = 0
  let failures = 0
  let skipped = 0
  const suites: string[] = []
  for (const file of files) {
    const uri = artifactUri(file)
    const fs = byFile.get(file)!
    const cases: string[] = []
    let sf = 0
    let ss = 0
    for (const s of r.rules) {
      if (s.status === 'disabled') continue
      const name = `${s.rule} ${s.title}`
      const mine = fs.filter((f) => f.rule === s.rule)
      let body = ''
      if (mine.length) {
        sf++
        const worst = mine.some((f) => f.severity === 'error') ? 'error' : mine.some((f) => f.severity === 'warning') ? 'warning' : 'info'
        body = `<failure message="${xmlEscape(`${mine.length} finding${mine.length > 1 ? 's' : ''}: ${mine[0].message}`)}" type="${worst}">${xmlEscape(mine.map(findingText).join('\n'))}</failure>`
      } else if (s.status === 'not-evaluated') {
        ss++
        body = `<skipped message="${xmlEscape(`not evaluated: ${s.reason ?? ''}`)}"/>`
      }
      cases.push(`    <testcase classname="${xmlEscape(uri)}" name="${xmlEscape(name)}" file="${xmlEscape(uri)}" time="0">${body}</testcase>`)
    }
    tests += cases.length
    failures += sf
    skipped += ss
    suites.push(`  <testsuite name="${xmlEscape(uri)}" tests="${cases.length}" failures="${sf}" errors="0" skipped="${ss}" time="0">\n${cases.join('\n')}\n  </testsuite>`)
  }
  out.push(`<testsuites name="santrace" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="0">`, ...suites, '</testsuites>')
  return out.join('\n') + '\n'
}
