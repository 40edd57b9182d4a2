import {Args, Flags} from '@oclif/core'
import {analyze} from '../src/analyze.js'
import {BaseCommand} from '../src/cli/base.js'
import {configFlag, thresholdFlagDefs, thresholdValues} from '../src/cli/flags.js'
import {loadConfig} from '../src/config.js'
import type {Model} from '../src/model/state.js'
import {PerfettoWriter} from '../src/output/perfetto.js'

export default class Export extends BaseCommand {
  static override summary = 'Export a trace for other viewers (Perfetto / chrome://tracing JSON)'
  static override description = 'Writes Chrome Trace Event JSON: open it at https://ui.perfetto.dev (Open trace file) or in chrome://tracing. Calls and upcalls are slices on their thread, overlapped operations async slices per socket, flows join each call to the event that completed it, findings are instant events.'
  static override examples = ['<%= config.bin %> <%= command.id %> --format perfetto capture.jsonl -o trace.json']
  static override strict = false
  static override args = {files: Args.string({description: 'trace files', required: true})}
  static override flags = {
    format: Flags.option({options: ['perfetto'] as const, default: 'perfetto', description: 'export format'})(),
    output: Flags.string({char: 'o', required: true, description: 'file to write'}),
    config: configFlag,
    ...thresholdFlagDefs(),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Export)
    const w = new PerfettoWriter(flags.output)
    let model: Model | undefined
    const report = await analyze({
      files: argv as string[],
      config: loadConfig(flags.config),
      thresholds: thresholdValues(flags),
      progress: true,
      observe: (step) => w.observe(step),
      onEnd(m) {
        model = m
      },
    })
    w.finish(model!, report.findings)
    process.stderr.write(`wrote ${flags.output}: ${w.events} trace events, ${report.findings.length} findings\n`)
  }
}
