import {Args, Flags} from '@oclif/core'
import {writeFileSync} from 'node:fs'
import {analyze, errorsOnly, exitCodeFor, type FailOn} from '../src/analyze.js'
import {readBaseline} from '../src/baseline.js'
import {analyzeMany, expandInputs, groupFiles} from '../src/parallel.js'
import {BaseCommand, writeOut} from '../src/cli/base.js'
import {colorFlag, configFlag, thresholdFlagDefs, thresholdValues} from '../src/cli/flags.js'
import {loadConfig} from '../src/config.js'
import {useColor} from '../src/output/color.js'
import {FORMATS, render, type Format} from '../src/output/formats.js'
import {writeGithubSummary} from '../src/output/github.js'
import {UsageError} from '../src/util/errors.js'
import {demoTracePath} from '../src/util/paths.js'

export default class Analyze extends BaseCommand {
  static override summary = 'Check SAN SPI traces for violations of the Windows Sockets Direct contract'
  static override description = `Reads JSON Lines (.jsonl, .ndjson, optionally .gz), JSON arrays or {header, events} documents ("-" reads stdin), rebuilds every socket's timeline in time order, and runs the rules. Without a file, analyzes the bundled demo trace.

Several files are one trace, merged by time (the two ends of a connection). A directory is searched recursively for traces (--include/--exclude globs), and its files, like files given with --each, are analyzed independently in worker threads (--jobs); --group keeps files that belong together in one analysis. Results are merged in input order.

Formats: text (default), json, jsonl (one finding per line), sarif (GitHub code scanning), junit, github (workflow annotations; also writes $GITHUB_STEP_SUMMARY), gitlab (Code Quality). Give several --format/--output pairs to write several reports in one run.

Exit codes: 0 no finding at or above --fail-on (and no more warnings than --max-warnings); 1 otherwise; 2 bad usage or unreadable input.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> capture.jsonl --fail-on warning',
    '<%= config.bin %> <%= command.id %> capture.jsonl --format sarif --output santrace.sarif --format junit --output santrace.xml --format text',
    '<%= config.bin %> <%= command.id %> capture.jsonl --baseline santrace-baseline.json',
    '<%= config.bin %> <%= command.id %> capture.jsonl --connect-call-max 500ms --rule SAN013,SAN029',
  ]

  static override strict = false
  static override args = {files: Args.string({description: 'trace files (default: the bundled demo trace)'})}

  static override flags = {
    format: Flags.option({options: FORMATS, char: 'f', multiple: true, description: 'report format; repeat with --output for several reports'})(),
    output: Flags.string({char: 'o', multiple: true, description: 'write the report of the matching --format to this file'}),
    json: Flags.boolean({description: 'same as --format json'}),
    'fail-on': Flags.option({options: ['error', 'warning', 'info', 'never'] as const, description: 'lowest severity that makes the exit code 1 (default: error, or failOn in the configuration)'})(),
    'max-warnings': Flags.integer({min: -1, description: 'exit 1 when there are more warnings than this (-1: no limit)'}),
    quiet: Flags.boolean({char: 'q', description: 'report errors only (warnings still count for --max-warnings)'}),
    baseline: Flags.string({description: 'report only findings this baseline file does not already allow', helpValue: 'FILE'}),
    strict: Flags.boolean({description: 'stop at the first invalid event instead of skipping it'}),
    rule: Flags.string({multiple: true, delimiter: ',', description: 'run only these rules (e.g. SAN013,SAN029)'}),
    'cancel-implies-abort': Flags.boolean({description: 'treat an application cancel as the start of the abort regime (SAN036)'}),
    'no-evidence': Flags.boolean({description: 'list findings without their evidence events (text format)'}),
    each: Flags.boolean({description: 'analyze each file on its own (the default for directories); without it, the files given are one trace merged by time'}),
    group: Flags.string({description: 'analyze files together whose paths give the same first capture group of this regular expression (e.g. the two ends of a connection)', helpValue: 'REGEX'}),
    jobs: Flags.integer({char: 'j', min: 1, description: 'worker threads for independent traces (default: the number of CPUs)'}),
    include: Flags.string({multiple: true, description: 'in directories, only files matching this glob (e.g. "**/*.etl"); repeatable'}),
    exclude: Flags.string({multiple: true, description: 'in directories, skip files matching this glob; repeatable'}),
    config: configFlag,
    color: colorFlag,
    ...thresholdFlagDefs(),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Analyze)
    const formats: Format[] = [...(flags.format ?? [])]
    if (flags.json) formats.push('json')
    const outputs = flags.output ?? []
    if (formats.length === 0) formats.push('text')
    if (outputs.length > formats.length) throw new UsageError(`${outputs.length} --output files for ${formats.length} --format values: give one --format per --output`)
    const toStdout = formats.slice(outputs.length)
    if (toStdout.length > 1) throw new UsageError(`only one format can go to standard output (${toStdout.join(', ')}): give --output files for the others`)

    const {files, fromDirectory} = await expandInputs(argv.length ? (argv as string[]) : [demoTracePath()], flags.include, flags.exclude)
    const config = loadConfig(flags.config)
    const common = {
      config,
      strict: flags.strict,
      thresholds: thresholdValues(flags),
      only: flags.rule,
      cancelImpliesAbort: flags['cancel-implies-abort'] || undefined,
      baseline: flags.baseline ? {baseline: readBaseline(flags.baseline), file: flags.baseline} : undefined,
    }
    const independent = fromDirectory || flags.each || flags.group !== undefined
    const report = independent
      ? await analyzeMany({...common, groups: groupFiles(files, flags.group), jobs: flags.jobs})
      : await analyze({...common, files, progress: true})
    const shown = flags.quiet ? errorsOnly(report) : report
    const color = useColor(flags.color)
    for (let i = 0; i < formats.length; i++) {
      const text = render(formats[i], shown, {color: i < outputs.length ? false : color, evidence: !flags['no-evidence']})
      if (i < outputs.length) writeFileSync(outputs[i], text)
      else await writeOut(text)
      if (formats[i] === 'github') writeGithubSummary(shown)
    }
    process.exitCode = exitCodeFor(report, (flags['fail-on'] ?? config.failOn ?? 'error') as FailOn, flags['max-warnings'])
  }
}
