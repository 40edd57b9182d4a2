import {Args, Flags} from '@oclif/core'
import {BaseCommand, writeOut} from '../src/cli/base.js'
import {colorFlag, configFlag, thresholdFlagDefs, thresholdValues} from '../src/cli/flags.js'
import {loadConfig} from '../src/config.js'
import {useColor} from '../src/output/color.js'
import {renderSocketList, renderTimeline} from '../src/output/timeline.js'
import {timeline} from '../src/timeline.js'
import {toHandle} from '../src/model/fields.js'
import {UsageError} from '../src/util/errors.js'
import {demoTracePath} from '../src/util/paths.js'

export default class Timeline extends BaseCommand {
  static override summary = "Show one socket's calls in order, with its findings marked inline"
  static override description = `Without --socket, lists the sockets of the trace (pid, descriptor, generation, role, final state, events, findings).
Arrows: → call, ← return, ↑ upcall or condition callback, ↓ its return, • provider signal or internal event, ◆ switch event.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> capture.jsonl',
    '<%= config.bin %> <%= command.id %> capture.jsonl --socket 0x2a0 --pid 4120',
  ]

  static override strict = false
  static override args = {file: Args.string({description: 'trace file(s) (default: the bundled demo trace)'})}
  static override flags = {
    socket: Flags.string({char: 's', description: 'provider socket descriptor (hex 0x2a0 or decimal)'}),
    pid: Flags.integer({char: 'p', description: 'process id', min: 0}),
    generation: Flags.integer({description: 'only this generation of the descriptor (reuse after close makes a new one)', min: 0}),
    limit: Flags.integer({description: 'events shown per socket', default: 5000, min: 1}),
    json: Flags.boolean({description: 'print the timeline as JSON'}),
    config: configFlag,
    color: colorFlag,
    ...thresholdFlagDefs(),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Timeline)
    const files = argv.length ? (argv as string[]) : [demoTracePath()]
    let socket: string | undefined
    if (flags.socket !== undefined) {
      socket = toHandle(flags.socket)
      if (!socket) throw new UsageError(`--socket: expected a descriptor such as 0x2a0 or 672, got '${flags.socket}'`)
    }
    const r = await timeline({files, socket, pid: flags.pid, generation: flags.generation, limit: flags.limit, thresholds: thresholdValues(flags), config: loadConfig(flags.config)})
    if (flags.json) {
      const doc = socket
        ? r.timelines.map((t) => ({...t, entries: t.entries.map((e) => ({ts: e.ev.ts, tid: e.ev.tid, event: e.ev.event, fn: e.ev.fn, fields: e.ev.f, durationNs: e.duration, file: e.ev.src.file, line: e.ev.src.line}))}))
        : r.sockets
      await writeOut(JSON.stringify(doc, null, 2) + '\n')
      return
    }
    const color = useColor(flags.color)
    if (!socket) {
      await writeOut(renderSocketList(r, color))
      return
    }
    if (r.timelines.length === 0) {
      throw new UsageError(`no socket ${socket}${flags.pid !== undefined ? ` in process ${flags.pid}` : ''} in the trace (run without --socket to list them)`)
    }
    await writeOut(renderTimeline(r, color))
  }
}
