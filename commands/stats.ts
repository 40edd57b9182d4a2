import {Args, Flags} from '@oclif/core'
import {BaseCommand, writeOut} from '../src/cli/base.js'
import {colorFlag, configFlag} from '../src/cli/flags.js'
import {loadConfig} from '../src/config.js'
import {useColor} from '../src/output/color.js'
import {renderStats} from '../src/output/stats.js'
import {demoTracePath} from '../src/util/paths.js'
import {analyzeWithStats} from '../src/view/run.js'

export default class Stats extends BaseCommand {
  static override summary = 'Operation counts, latency percentiles, bytes transferred and what was pending at the end'
  static override examples = ['<%= config.bin %> <%= command.id %> capture.jsonl', '<%= config.bin %> <%= command.id %> capture.jsonl --json']
  static override strict = false
  static override args = {files: Args.string({description: 'trace files (default: the bundled demo trace)'})}
  static override flags = {
    json: Flags.boolean({description: 'print the statistics as JSON (durations in ns)'}),
    config: configFlag,
    color: colorFlag,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Stats)
    const files = argv.length ? (argv as string[]) : [demoTracePath()]
    const {stats} = await analyzeWithStats({files, config: loadConfig(flags.config)})
    await writeOut(flags.json ? JSON.stringify(stats, null, 2) + '\n' : renderStats(stats, useColor(flags.color)))
  }
}
