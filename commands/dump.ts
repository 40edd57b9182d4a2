import {Args, Flags} from '@oclif/core'
import {BaseCommand, writeOut} from '../src/cli/base.js'
import {dumpEtl, type DumpedEvent} from '../src/dump.js'
import {parseDuration} from '../src/util/duration.js'

export default class Dump extends BaseCommand {
  static override summary = 'Print an .etl file\'s header and every decoded event (any provider)'
  static override description = 'Each event with its provider (name or GUID), event name or id, opcode, level, keyword, pid, tid, cpu, time and decoded TraceLogging fields. With --manifest, manifest-based events of the providers an instrumentation manifest (.man) defines are shown with the provider and event names and named fields. Filters combine. --from/--to are durations from the first event (e.g. 1.5s).'
  static override examples = [
    '<%= config.bin %> <%= command.id %> capture.etl --provider WSD.SanSpi --limit 20',
    '<%= config.bin %> <%= command.id %> capture.etl --format jsonl --pid 4120 --from 2s --to 3s',
    '<%= config.bin %> <%= command.id %> HTTP_Server.etl --manifest HTTP_Server.man --event "HTTP Request Trace Task/Parse"',
  ]
  static override args = {file: Args.string({required: true, description: '.etl file'})}
  static override flags = {
    format: Flags.option({options: ['text', 'jsonl'] as const, default: 'text', description: 'listing or one JSON object per line'})(),
    provider: Flags.string({multiple: true, description: 'only this provider (name or GUID); repeatable'}),
    event: Flags.string({multiple: true, description: 'only this event name; repeatable'}),
    pid: Flags.integer({multiple: true, description: 'only this process; repeatable'}),
    from: Flags.string({description: 'start of the time range, from the first event'}),
    to: Flags.string({description: 'end of the time range, from the first event'}),
    limit: Flags.integer({min: 1, description: 'stop after this many events'}),
    manifest: Flags.string({multiple: true, description: 'instrumentation manifest (.man XML) decoding the manifest-based events of its providers; repeatable'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Dump)
    const diags: string[] = []
    const it = dumpEtl(args.file, {
      providers: flags.provider,
      events: flags.event,
      pids: flags.pid,
      from: flags.from ? parseDuration(flags.from, 's') : undefined,
      to: flags.to ? parseDuration(flags.to, 's') : undefined,
      limit: flags.limit,
    }, (m) => diags.push(m), {manifests: flags.manifest})
    let buf = ''
    let count = 0
    for await (const x of it) {
      if ('header' in x) {
        buf += flags.format === 'jsonl' ? JSON.stringify({header: x.header}) + '\n' : Object.entries(x.header).map(([k, v]) => `${k.padEnd(16)} ${v}`).join('\n') + '\n\n'
        continue
      }
      count++
      buf += flags.format === 'jsonl' ? JSON.stringify(x) + '\n' : line(x) + '\n'
      if (buf.length > 1 << 16) {
        await writeOut(buf)
        buf = ''
      }
    }
    await writeOut(buf)
    process.stderr.write(`${count} events${diags.length ? `; ${diags.length} problems in the file:` : ''}\n`)
    for (const d of diags.slice(0, 20)) process.stderr.write(`  ${d}\n`)
  }
}

function line(e: DumpedEvent): string {
  const fields = e.fields ? ' ' + Object.entries(e.fields).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ') : ''
  const err = e.fieldsError ? ` [payload: ${e.fieldsError}]` : ''
  return `${e.time} cpu${e.cpu} pid ${e.pid} tid ${e.tid} ${e.provider}/${e.event} op ${e.opcode} lvl ${e.level} kw ${e.keyword} @${e.offset}${fields}${err}`
}
