import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../src/cli/base.js'
import {convert} from '../src/convert.js'
import {formatProblem} from '../src/ingest/diagnostics.js'

export default class Convert extends BaseCommand {
  static override summary = 'Convert SAN traces between JSON Lines and .etl'
  static override description = 'The output format follows the output file\'s extension (.etl or .jsonl), or --to. Inputs of any readable kind (several are merged by time). Events are validated and normalized on the way: what is written is what santrace analyzes. .etl output uses the WSD.SanSpi / WSD.SwitchShim TraceLogging providers with the first field types of the trace format; traces with integer times start at --start in .etl.'
  static override examples = ['<%= config.bin %> <%= command.id %> capture.jsonl capture.etl', '<%= config.bin %> <%= command.id %> capture.etl capture.jsonl']
  static override strict = false
  static override args = {
    input: Args.string({required: true, description: 'input trace (.etl, .jsonl, .ndjson, .json, .gz)'}),
    output: Args.string({required: true, description: 'output file (.etl or .jsonl)'}),
  }
  static override flags = {
    to: Flags.option({options: ['jsonl', 'etl'] as const, description: 'output format (default: from the output extension)'})(),
    strict: Flags.boolean({description: 'stop at the first invalid event instead of skipping it'}),
    start: Flags.string({description: 'RFC 3339 time of ts 0 for traces with integer times, when writing .etl (default 2026-01-01T00:00:00Z)'}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Convert)
    const files = argv as string[]
    const out = files.pop()!
    let start: bigint | undefined
    if (flags.start) {
      const {parseRfc3339} = await import('../src/ingest/build.js')
      start = parseRfc3339(flags.start)
      if (start === undefined) this.error(`--start: expected an RFC 3339 time, got '${flags.start}'`, {exit: 2})
    }
    const r = await convert(files, out, {to: flags.to, strict: flags.strict, start})
    process.stderr.write(`wrote ${out}: ${r.events} events${r.skipped ? `, ${r.skipped} skipped` : ''}\n`)
    for (const p of r.ctx.diag.samples.slice(0, 10)) process.stderr.write(`  skipped: ${formatProblem(p)}\n`)
  }
}
