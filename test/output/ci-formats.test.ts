import {readFileSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Ajv2020} from 'ajv/dist/2020.js'
import AjvDraft04 from 'ajv-draft-04'
import {XMLParser} from 'fast-xml-parser'
import {describe, expect, it} from 'vitest'
import {analyze, type Report} from '../../src/analyze.js'
import {renderGithub, renderGithubSummary, escapeData, escapeProperty} from '../../src/output/github.js'
import {renderGitlab} from '../../src/output/gitlab.js'
import {renderJson} from '../../src/output/json.js'
import {renderJsonl} from '../../src/output/jsonl.js'
import {renderJunit} from '../../src/output/junit.js'
import {renderSarif} from '../../src/output/sarif.js'
import {TraceBuilder} from '../../src/synth/builder.js'
import {demoTracePath} from '../../src/util/paths.js'
import {requireShared, sarifSchemaPath} from '../helpers/shared.js'
import {cli, demoLine} from '../helpers/cli.js'
import {jsonl, tempFile} from '../helpers/run.js'

const demo = (): Promise<Report> => analyze({files: [demoTracePath()]})

/** Two processes, each with sockets closed without the final upcall: many findings of one rule. */
function manyLeaks(n: number): TraceBuilder {
  const b = new TraceBuilder()
  for (let i = 0; i < n; i++) {
    const s = `0x${(0x100 + i * 8).toString(16)}`
    b.connect(10 + (i % 2), 1, s, `0x${(0x900 + i * 4).toString(16)}`, `10.0.0.${i + 2}:445`)
    b.close(10 + (i % 2), 1, s, '0x0', {release: false})
  }
  b.wait(3000)
  b.callRet(10, 1, 'WSPCleanup', {})
  return b
}

describe('SARIF', () => {
  it('validates against the official SARIF 2.1.0 schema', async () => {
    const path = requireShared('SARIF 2.1.0 schema', sarifSchemaPath())
    if (!path) return
    const ajv = new AjvDraft04({strict: false, validateFormats: false})
    const validate = ajv.compile(JSON.parse(readFileSync(path, 'utf8')))
    const sarif = JSON.parse(renderSarif(await demo()))
    expect(validate(sarif), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true)
  })

  it('has rules with help, results with level, location line and fingerprints', async () => {
    const sarif = JSON.parse(renderSarif(await demo()))
    const run = sarif.runs[0]
    expect(run.tool.driver.name).toBe('santrace')
    const ids = run.tool.driver.rules.map((r: {id: string}) => r.id)
    expect(ids).toContain('SAN032')
    const r13 = run.tool.driver.rules.find((r: {id: string}) => r.id === 'SAN013')
    expect(r13.help.markdown).toMatch(/--connect-call-max/)
    expect(r13.helpUri).toMatch(/^https:\/\/learn\.microsoft\.com/)
    const res = run.results.find((r: {ruleId: string}) => r.ruleId === 'SAN013')
    expect(res.level).toBe('error')
    expect(run.tool.driver.rules[res.ruleIndex].id).toBe('SAN013')
    expect(res.locations[0].physicalLocation).toEqual({artifactLocation: {uri: 'fixtures/demo/demo.jsonl'}, region: {startLine: demoLine('"SpiReturn"', '"WSPConnect"', '"0x2b8"')}})
    expect(res.partialFingerprints.primaryLocationLineHash).toMatch(/^[0-9a-f]{16}:1$/)
    expect(run.results.find((r: {ruleId: string}) => r.ruleId === 'SAN035').level).toBe('warning')
  })
})

describe('fingerprints', () => {
  it('are stable across runs, file names, pids and handle values', async () => {
    const a = manyLeaks(3)
    // The same scenario captured again: other pids, descriptors and switch handles, later times.
    const text = jsonl(a.events)
      .replace(/"pid":1([01])/g, '"pid":7$1')
      .replace(/0x1([0-9a-f]{2})/g, '0x5$1')
      .replace(/0x9([0-9a-f]{2})/g, '0xa$1')
    const r1 = await analyze({files: [tempFile('first.jsonl', jsonl(a.events))]})
    const r2 = await analyze({files: [tempFile('renamed-capture.jsonl', text)]})
    const r3 = await analyze({files: [tempFile('first-again.jsonl', jsonl(a.events))]})
    const fps = (r: Report): string[] => r.findings.map((f) => `${f.rule} ${f.fingerprint}`)
    expect(fps(r1)).toHaveLength(3)
    expect(r2.findings[0].pid).toBe(70)
    expect(r2.findings[0].socket).toMatch(/^0x5/)
    expect(fps(r2)).toEqual(fps(r1))
    expect(fps(r3)).toEqual(fps(r1))
    // Distinct connections (different peers) get distinct fingerprints.
    expect(new Set(fps(r1)).size).toBe(3)
  })
})

describe('JUnit', () => {
  it('parses as XML, one suite per trace, one case per rule, unique names, failures carry findings', async () => {
    const a = tempFile('a.jsonl', jsonl(manyLeaks(2).events))
    const b = tempFile('b.jsonl', readFileSync(demoTracePath(), 'utf8'))
    const r = await analyze({files: [a, b]})
    const xml = renderJunit(r)
    const doc = new XMLParser({ignoreAttributes: false, attributeNamePrefix: '@'}).parse(xml)
    const suites = doc.testsuites.testsuite
    expect(suites).toHaveLength(2)
    for (const s of suites) {
      const names = s.testcase.map((c: {'@name': string}) => `${c['@classname']}|${c['@name']}`)
      expect(new Set(names).size).toBe(names.length)
      expect(s.testcase.length).toBe(r.rules.length)
    }
    const demoSuite = suites.find((s: {'@name': string}) => s['@name'].endsWith('b.jsonl'))
    const failed = demoSuite.testcase.filter((c: {failure?: unknown}) => c.failure)
    expect(failed.map((c: {'@name': string}) => c['@name'].split(' ')[0]).sort()).toEqual(['SAN001', 'SAN012', 'SAN013', 'SAN032', 'SAN035'])
    const leakSuite = suites.find((s: {'@name': string}) => s['@name'].endsWith('a.jsonl'))
    const leak = leakSuite.testcase.find((c: {'@name': string}) => c['@name'].startsWith('SAN032'))
    expect(leak.failure['#text']).toMatch(/resources still held after close/)
    expect(leak.failure['@message']).toMatch(/^2 findings/)
    expect(demoSuite.testcase.find((c: {'@name': string}) => c['@name'].startsWith('SAN031')).skipped['@message']).toMatch(/not evaluated/)
  })

  it('escapes what the trace says', async () => {
    const b = new TraceBuilder()
    b.callRet(1, 1, 'WSPCancelBlockingCall', {})
    const r = await analyze({files: [tempFile('x<&"y>.jsonl', jsonl(b.events))]})
    const xml = renderJunit(r)
    expect(() => new XMLParser().parse(xml)).not.toThrow()
    expect(xml).toContain('x&lt;&amp;&quot;y&gt;.jsonl')
  })
})

describe('GitHub and GitLab', () => {
  it('workflow commands: escaped, at most 10 per severity, then a notice; Markdown summary', async () => {
    expect(escapeData('a%b\r\nc')).toBe('a%25b%0D%0Ac')
    expect(escapeProperty('x:y,z')).toBe('x%3Ay%2Cz')
    const r = await analyze({files: [tempFile('leaks.jsonl', jsonl(manyLeaks(13).events))]})
    const lines = renderGithub(r).trim().split('\n')
    expect(lines.filter((l) => l.startsWith('::error '))).toHaveLength(10)
    expect(lines.find((l) => l.startsWith('::notice'))).toMatch(/3 more findings not annotated/)
    expect(lines[0]).toMatch(/^::error file=.*leaks\.jsonl,line=\d+,title=SAN032 WPUCloseSocketHandle is final%2C after close%2C within grace::resources still held/)
    const md = renderGithubSummary(r)
    expect(md.split('\n').filter((l) => l.startsWith('| error | SAN032'))).toHaveLength(13)
  })

  it('Code Quality issues have unique fingerprints and GitLab severities', async () => {
    const r = await analyze({files: [tempFile('leaks.jsonl', jsonl(manyLeaks(4).events))]})
    const issues = JSON.parse(renderGitlab(r))
    expect(issues).toHaveLength(4)
    expect(new Set(issues.map((i: {fingerprint: string}) => i.fingerprint)).size).toBe(4)
    expect(issues[0]).toMatchObject({check_name: 'SAN032', severity: 'major', location: {lines: {begin: expect.any(Number)}}})
  })
})

describe('JSON and JSON Lines', () => {
  it('the JSON report validates against schemas/report.schema.json; jsonl has one finding per line', async () => {
    const schema = JSON.parse(readFileSync(new URL('../../schemas/report.schema.json', import.meta.url), 'utf8'))
    const validate = new Ajv2020({strict: false}).compile(schema)
    const r = await demo()
    const doc = JSON.parse(renderJson(r))
    expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true)
    const lines = renderJsonl(r).trim().split('\n')
    expect(lines).toHaveLength(5)
    expect(JSON.parse(lines[0]).rule).toBe('SAN012')
  })
})

describe('analyze --format/--output, gating and baselines (command line)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'santrace-ci-'))

  it('writes several reports in one run, one more to stdout', async () => {
    const sarif = join(dir, 'r.sarif')
    const junit = join(dir, 'r.xml')
    const r = await cli(['analyze', '--format', 'sarif', '--output', sarif, '--format', 'junit', '--output', junit, '--format', 'jsonl'])
    expect(r.code).toBe(1)
    expect(JSON.parse(readFileSync(sarif, 'utf8')).version).toBe('2.1.0')
    expect(readFileSync(junit, 'utf8')).toMatch(/^<\?xml/)
    expect(r.stdout.trim().split('\n')).toHaveLength(5)
    const two = await cli(['analyze', '--format', 'sarif', '--format', 'json'])
    expect(two.code).toBe(2)
    expect(two.stderr).toMatch(/only one format can go to standard output/)
  })

  it('--max-warnings and --quiet follow ESLint', async () => {
    expect((await cli(['analyze', '--fail-on', 'never', '--max-warnings', '0'])).code).toBe(1)
    expect((await cli(['analyze', '--fail-on', 'never', '--max-warnings', '1'])).code).toBe(0)
    const q = await cli(['analyze', '--quiet', '--format', 'jsonl'])
    expect(q.stdout.trim().split('\n').map((l) => JSON.parse(l).severity)).toEqual(['error', 'error', 'error', 'error'])
  })

  it('github format writes the job summary when GITHUB_STEP_SUMMARY is set', async () => {
    const summary = join(dir, 'summary.md')
    const r = await cli(['analyze', '--format', 'github'], {env: {GITHUB_STEP_SUMMARY: summary}})
    expect(r.stdout).toContain(`::error file=fixtures/demo/demo.jsonl,line=${demoLine('"SpiCall"', '"WSPConnect"', '"0x2b8"')},`)
    expect(readFileSync(summary, 'utf8')).toMatch(/## santrace/)
  })

  it('baseline create, analyze with it, a finding that appears twice when the baseline allowed one, prune', async () => {
    const base = join(dir, 'baseline.json')
    const one = tempFile('one.jsonl', jsonl(manyLeaks(1).events))
    expect((await cli(['baseline', 'create', one, '-o', base])).code).toBe(0)
    const known = JSON.parse(readFileSync(base, 'utf8'))
    expect(Object.values(known.rules.SAN032)).toEqual([expect.objectContaining({count: 1})])
    // The same trace: everything known, exit 0.
    const same = await cli(['analyze', one, '--baseline', base, '--json'])
    expect(same.code).toBe(0)
    expect(JSON.parse(same.stdout)).toMatchObject({findings: [], baseline: {suppressed: 1, missing: []}})
    // The defect now happens twice on the same connection: one is known, one is new.
    const b = manyLeaks(1)
    b.connect(10, 1, '0x100', '0x904', '10.0.0.2:445')
    b.close(10, 1, '0x100', '0x0', {release: false})
    b.wait(3000)
    b.callRet(10, 1, 'WSPCleanup', {})
    const twice = await cli(['analyze', tempFile('twice.jsonl', jsonl(b.events)), '--baseline', base, '--json'])
    expect(twice.code).toBe(1)
    const doc = JSON.parse(twice.stdout)
    expect(doc.findings).toHaveLength(1)
    expect(doc.findings[0]).toMatchObject({rule: 'SAN032', baselineState: 'new'})
    expect(doc.baseline.suppressed).toBe(1)
    // A fixed trace: the known finding is gone and prune removes it.
    const fixed = new TraceBuilder()
    fixed.connect(10, 1, '0x100', '0x900', '10.0.0.2:445')
    fixed.close(10, 1, '0x100', '0x900')
    const clean = tempFile('fixed.jsonl', jsonl(fixed.events))
    const gone = await cli(['analyze', clean, '--baseline', base, '--no-color'])
    expect(gone.stdout).toMatch(/0 known findings suppressed; 1 known finding no longer occurs \(prune with: santrace baseline prune\)/)
    expect((await cli(['baseline', 'prune', clean, '--baseline', base])).code).toBe(0)
    expect(JSON.parse(readFileSync(base, 'utf8')).rules).toEqual({})
    const bad = await cli(['analyze', clean, '--baseline', join(dir, 'nope.json')])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/no such baseline file/)
  })

  it('diff: added, removed and unchanged between two traces or saved reports', async () => {
    const oldT = tempFile('old.jsonl', jsonl(manyLeaks(2).events))
    const newT = tempFile('new.jsonl', readFileSync(demoTracePath(), 'utf8'))
    const d = await cli(['diff', oldT, newT, '--json'])
    expect(d.code).toBe(1)
    const doc = JSON.parse(d.stdout)
    expect(doc.added.map((f: {rule: string}) => f.rule).sort()).toEqual(['SAN001', 'SAN012', 'SAN013', 'SAN032', 'SAN035'])
    expect(doc.removed).toHaveLength(2)
    const saved = join(dir, 'demo-report.json')
    await cli(['analyze', '--format', 'json', '--output', saved])
    const same = await cli(['diff', saved, newT, '--no-color'])
    expect(same.code).toBe(0)
    expect(same.stdout).toMatch(/Added \(0\)[\s\S]*Removed \(0\)[\s\S]*Unchanged: 5/)
  })
})
