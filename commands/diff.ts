import {Args, Flags} from '@oclif/core'
import {SEVERITY_RANK, type Severity} from '../src/rules/types.js'
import {BaseCommand, writeOut} from '../src/cli/base.js'
import {colorFlag, configFlag, thresholdFlagDefs, thresholdValues} from '../src/cli/flags.js'
import {loadConfig} from '../src/config.js'
import {diffReports} from '../src/diff.js'
import {makeChalk} from '../src/output/color.js'
import {useColor} from '../src/output/color.js'
import {renderFinding} from '../src/output/text.js'

export default class Diff extends BaseCommand {
  static override summary = 'Compare the findings of two traces (or two saved JSON reports): added, removed, unchanged'
  static override description = `Findings are matched by their fingerprints, which ignore file names, pids, descriptors, handles and times, so two captures of the same scenario compare cleanly.

Exit codes: 0 no added finding at or above --fail-on; 1 added findings at or above it; 2 bad usage or unreadable input.`

  static override examples = ['<%= config.bin %> <%= command.id %> build-41.jsonl build-42.jsonl', '<%= config.bin %> <%= command.id %> old-report.json new-report.json --json']
  static override args = {
    old: Args.string({required: true, description: 'the earlier trace, or a report saved with --format json'}),
    new: Args.string({required: true, description: 'the later trace, or a saved report'}),
  }

  static override flags = {
    json: Flags.boolean({description: 'print the comparison as JSON'}),
    'fail-on': Flags.option({options: ['error', 'warning', 'info', 'never'] as const, default: 'error', description: 'lowest severity of an added finding that makes the exit code 1'})(),
    config: configFlag,
    color: colorFlag,
    ...thresholdFlagDefs(),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Diff)
    const d = await diffReports(args.old, args.new, {config: loadConfig(flags.config), thresholds: thresholdValues(flags)})
    if (flags.json) {
      await writeOut(JSON.stringify({old: d.old, new: d.new, added: d.added, removed: d.removed, unchanged: d.unchanged}, null, 2) + '\n')
    } else {
      const c = makeChalk(useColor(flags.color))
      const out: string[] = []
      const section = (title: string, fs: typeof d.added, color: (s: string) => string): void => {
        out.push(color(c.bold(`${title} (${fs.length})`)))
        for (const f of fs) out.push(...renderFinding(f, c, '  ', false))
        out.push('')
      }
      section('Added', d.added, c.red)
      section('Removed', d.removed, c.green)
      out.push(c.dim(`Unchanged: ${d.unchanged.length}`))
      await writeOut(out.join('\n') + '\n')
    }
    const min = flags['fail-on'] === 'never' ? Infinity : SEVERITY_RANK[flags['fail-on'] as Severity]
    process.exitCode = d.added.some((f) => SEVERITY_RANK[f.severity] >= min) ? 1 : 0
  }
}
