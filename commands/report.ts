import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../src/cli/base.js'
import {configFlag, thresholdFlagDefs, thresholdValues} from '../src/cli/flags.js'
import {loadConfig} from '../src/config.js'
import {writeHtml} from '../src/output/html.js'
import {demoTracePath} from '../src/util/paths.js'
import {buildReportData} from '../src/view/report.js'

export default class Report extends BaseCommand {
  static override summary = 'Write a self-contained HTML report: timeline, findings, sockets, statistics'
  static override description = 'One HTML file with its data, styles and script inline (no network, works from file://). It reads without JavaScript; the script adds the swimlane timeline (zoom, pan, hover), filters and deep links (#finding-N, #socket-PID-SOCKET-GEN).'
  static override examples = ['<%= config.bin %> <%= command.id %> capture.jsonl -o report.html']
  static override strict = false
  static override args = {files: Args.string({description: 'trace files (default: the bundled demo trace)'})}
  static override flags = {
    output: Flags.string({char: 'o', default: 'santrace-report.html', description: 'HTML file to write'}),
    config: configFlag,
    ...thresholdFlagDefs(),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Report)
    const files = argv.length ? (argv as string[]) : [demoTracePath()]
    const data = await buildReportData({files, config: loadConfig(flags.config), thresholds: thresholdValues(flags), progress: true})
    const size = writeHtml(flags.output, data)
    process.stderr.write(`wrote ${flags.output} (${(size / 1024).toFixed(0)} KiB): ${data.findings.length} findings, ${data.lanes.length} sockets\n`)
  }
}
