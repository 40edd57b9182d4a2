import {Args, Flags} from '@oclif/core'
import {analyze} from '../../src/analyze.js'
import {BASELINE_FILE, createBaseline, writeBaseline} from '../../src/baseline.js'
import {BaseCommand} from '../../src/cli/base.js'
import {configFlag, thresholdFlagDefs, thresholdValues} from '../../src/cli/flags.js'
import {loadConfig} from '../../src/config.js'
import {demoTracePath} from '../../src/util/paths.js'

export default class BaselineCreate extends BaseCommand {
  static override summary = 'Write the current findings as a baseline file (counts per rule and fingerprint)'
  static override description = 'Commit the file; `santrace analyze --baseline FILE` then reports only new findings. Like ESLint\'s suppressions file, it counts findings per rule and fingerprint.'
  static override examples = ['<%= config.bin %> <%= command.id %> traces/*.jsonl -o santrace-baseline.json']
  static override strict = false
  static override args = {files: Args.string({description: 'trace files'})}
  static override flags = {
    output: Flags.string({char: 'o', default: BASELINE_FILE, description: 'baseline file to write'}),
    config: configFlag,
    ...thresholdFlagDefs(),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(BaselineCreate)
    const files = argv.length ? (argv as string[]) : [demoTracePath()]
    const r = await analyze({files, config: loadConfig(flags.config), thresholds: thresholdValues(flags)})
    const b = createBaseline(r.findings)
    writeBaseline(flags.output, b)
    const n = Object.values(b.rules).reduce((a, fps) => a + Object.values(fps).reduce((x, e) => x + e.count, 0), 0)
    process.stderr.write(`wrote ${flags.output}: ${n} known finding${n === 1 ? '' : 's'} in ${Object.keys(b.rules).length} rule${Object.keys(b.rules).length === 1 ? '' : 's'}\n`)
  }
}
