import {Args, Flags} from '@oclif/core'
import {analyze} from '../../src/analyze.js'
import {BASELINE_FILE, pruneBaseline, readBaseline, writeBaseline} from '../../src/baseline.js'
import {BaseCommand} from '../../src/cli/base.js'
import {configFlag, thresholdFlagDefs, thresholdValues} from '../../src/cli/flags.js'
import {loadConfig} from '../../src/config.js'
import {demoTracePath} from '../../src/util/paths.js'

export default class BaselinePrune extends BaseCommand {
  static override summary = 'Remove from a baseline the known findings that no longer occur'
  static override examples = ['<%= config.bin %> <%= command.id %> traces/*.jsonl --baseline santrace-baseline.json']
  static override strict = false
  static override args = {files: Args.string({description: 'trace files'})}
  static override flags = {
    baseline: Flags.string({default: BASELINE_FILE, description: 'baseline file to prune (rewritten in place)'}),
    config: configFlag,
    ...thresholdFlagDefs(),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(BaselinePrune)
    const files = argv.length ? (argv as string[]) : [demoTracePath()]
    const old = readBaseline(flags.baseline)
    const r = await analyze({files, config: loadConfig(flags.config), thresholds: thresholdValues(flags)})
    const {baseline, removed} = pruneBaseline(old, r.findings)
    writeBaseline(flags.baseline, baseline)
    process.stderr.write(`pruned ${flags.baseline}: ${removed} known finding${removed === 1 ? '' : 's'} removed\n`)
  }
}
