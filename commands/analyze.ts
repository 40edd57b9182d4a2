import {Args, Flags} from '@oclif/core'
import {analyze, exitCodeFor, type FailOn} from '../src/analyze.js'
import {BaseCommand, writeOut} from '../src/cli/base.js'
import {colorFlag, configFlag, thresholdFlagDefs, thresholdValues} from '../src/cli/flags.js'
import {loadConfig} from '../src/config.js'
import {renderJson} from '../src/output/json.js'
import {useColor} from '../src/output/color.js'
import {renderText} from '../src/output/text.js'
import {demoTracePath} from '../src/util/paths.js'

export default class Analyze extends BaseCommand {
  static override summary = 'Check SAN SPI traces for violations of the Windows Sockets Direct contract'
  static override description = `Reads JSON Lines (.jsonl, .ndjson, optionally .gz), JSON arrays or {header, events} documents ("-" reads stdin), rebuilds every socket's timeline in time order, and runs the rules. Without a file, analyzes the bundled demo trace.

Exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; 2 bad usage or unreadable input.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> capture.jsonl --fail-on warning',
    '<%= config.bin %> <%= command.id %> a.jsonl b.jsonl --json > report.json',
    '<%= config.bin %> <%= command.id %> capture.jsonl --connect-call-max 500ms --rule SAN013,SAN029',
  ]

  static override strict = false
  static override args = {files: Args.string({description: 'trace files (default: the bundled demo trace)'})}

  static override flags = {
    json: Flags.boolean({description: 'print one JSON document (findings, summary, rule statuses)'}),
    'fail-on': Flags.option({options: ['error', 'warning', 'info', 'never'] as const, description: 'lowest severity that makes the exit code 1 (default: error, or failOn in the configuration)'})(),
    config: configFlag,
    strict: Flags.boolean({description: 'stop at the first invalid event instead of skipping it'}),
    rule: Flags.string({multiple: true, delimiter: ',', description: 'run only these rules (e.g. SAN013,SAN029)'}),
    'cancel-implies-abort': Flags.boolean({description: 'treat an application cancel as the start of the abort regime (SAN036)'}),
    'no-evidence': Flags.boolean({description: 'list findings without their evidence events'}),
    color: colorFlag,
    ...thresholdFlagDefs(),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Analyze)
    const files = argv.length ? (argv as string[]) : [demoTracePath()]
    const config = loadConfig(flags.config)
    const report = await analyze({
      files,
      config,
      strict: flags.strict,
      thresholds: thresholdValues(flags),
      only: flags.rule,
      cancelImpliesAbort: flags['cancel-implies-abort'] || undefined,
    })
    if (flags.json) await writeOut(renderJson(report))
    else await writeOut(renderText(report, {color: useColor(flags.color), evidence: !flags['no-evidence']}))
    process.exitCode = exitCodeFor(report, (flags['fail-on'] ?? config.failOn ?? 'error') as FailOn)
  }
}
