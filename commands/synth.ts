import {Flags} from '@oclif/core'
import {BaseCommand} from '../src/cli/base.js'
import {parseInject} from '../src/synth/planters.js'
import {sidecarPath, synthesize, type SynthOptions} from '../src/synth/sim.js'
import {formatDuration} from '../src/util/duration.js'
import {UsageError} from '../src/util/errors.js'

const SIZE_UNITS: Record<string, number> = {'': 1, b: 1, k: 1024, kb: 1e3, kib: 1024, m: 1024 ** 2, mb: 1e6, mib: 1024 ** 2, g: 1024 ** 3, gb: 1e9, gib: 1024 ** 3}

/** `200MB`, `1.5GiB`, `64k`, `5000000`: bytes. KB/MB/GB are powers of 1000, KiB/MiB/GiB (and K/M/G) powers of 1024. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined
  if (!m || unit === undefined) throw new UsageError(`invalid size '${text}': expected a number with an optional unit, e.g. 200MB, 1.5GiB, 64KB`)
  const bytes = Math.round(Number(m[1]) * unit)
  if (bytes < 1 || !Number.isSafeInteger(bytes)) throw new UsageError(`invalid size '${text}': must be at least 1 byte`)
  return bytes
}

const mb = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`)
const int = (n: number): string => n.toLocaleString('en-US')

export default class Synth extends BaseCommand {
  static override summary = 'Write a simulated SAN trace: healthy switch/provider traffic of any size, with planted violations'
  static override description = `Simulates the Winsock switch and a SAN provider: many processes, threads and sockets; connects,
accepts, memory registrations, sends and receives in both notification modes (completion upcalls, or
polling with WSPGetOverlappedResult and provider OpDone events), RDMA writes and reads on memory the peer
registered, duplication into another process, orderly closes, and the switch's application requests,
cancels and aborts. The trace is written as it is generated (any size, little memory); the same seed and
options give the same file.

--inject plants exactly that many violations of each rule, and nothing else: analyzing the trace reports
exactly the findings listed under "expected" in the sidecar file <out>.planted.json, which also lists every
planted violation (rule, pid, socket, time).`

  static override examples = [
    '<%= config.bin %> <%= command.id %> -o healthy.jsonl --events 100000',
    '<%= config.bin %> <%= command.id %> -o big.jsonl --size 200MB --processes 16 --sockets 64 --seed 42',
    '<%= config.bin %> <%= command.id %> -o planted.jsonl --inject SAN013=5,SAN030=2',
    '<%= config.bin %> <%= command.id %> -o every-rule.jsonl --events 200000 --inject all=1',
  ]

  static override flags = {
    out: Flags.string({char: 'o', required: true, description: 'trace file to write (the sidecar goes to FILE.planted.json)', helpValue: 'FILE'}),
    seed: Flags.string({description: 'seed of the pseudo-random choices: an integer or any text (default 1)', helpValue: 'SEED'}),
    events: Flags.integer({description: 'target number of events (default 20000 unless --size is given); the sessions in progress finish, so the trace ends a little above it', min: 1, helpValue: 'N'}),
    size: Flags.string({description: 'target file size, e.g. 200MB, 1.5GiB (KB/MB/GB: powers of 1000; KiB/MiB/GiB: 1024)', helpValue: 'SIZE'}),
    processes: Flags.integer({description: 'processes using the provider (default 4)', min: 1, max: 250, helpValue: 'N'}),
    sockets: Flags.integer({description: 'concurrent connections (default 8)', min: 1, max: 10000, helpValue: 'N'}),
    inject: Flags.string({description: 'violations to plant: RULE=COUNT[,RULE=COUNT…], e.g. SAN013=5,SAN030=2; all=N plants N of every rule', helpValue: 'SPEC'}),
    format: Flags.string({description: 'output format (only jsonl for now)', default: 'jsonl', helpValue: 'FORMAT'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Synth)
    if (flags.format.toLowerCase() !== 'jsonl') {
      throw new UsageError(`--format ${flags.format} is not supported yet: santrace synth writes JSON Lines only (--format jsonl); convert the result with 'santrace convert' for other containers`)
    }
    const opts: SynthOptions = {
      seed: flags.seed === undefined ? undefined : /^-?\d+$/.test(flags.seed) && Number.isSafeInteger(Number(flags.seed)) ? Number(flags.seed) : flags.seed,
      events: flags.events,
      bytes: flags.size === undefined ? undefined : parseSize(flags.size),
      processes: flags.processes,
      sockets: flags.sockets,
      inject: flags.inject === undefined ? undefined : parseInject(flags.inject),
    }
    const t0 = Date.now()
    const tty = Boolean(process.stderr.isTTY) && !process.env.CI
    const summary = synthesize(opts, flags.out, tty ? (events, bytes) => process.stderr.write(`\r${int(events)} events, ${mb(bytes)}…`) : undefined)
    const secs = (Date.now() - t0) / 1000
    const planted = Object.values(summary.sidecar.planted).reduce((a, b) => a + b, 0)
    const rules = Object.keys(summary.sidecar.planted).length
    if (tty) process.stderr.write('\r\u001b[K')
    process.stderr.write(
      `wrote ${flags.out}: ${int(summary.events)} events, ${mb(summary.bytes)}, ${summary.processes} processes, ${int(summary.sockets)} sockets, ` +
        `${formatDuration(summary.span.last - summary.span.first)} of trace, generated in ${formatDuration((Date.now() - t0) * 1e6)} (${int(Math.round(summary.events / Math.max(secs, 0.001)))} events/s)\n` +
        `${planted ? `planted ${planted} violation${planted > 1 ? 's' : ''} of ${rules} rule${rules > 1 ? 's' : ''}` : 'no violation planted (healthy trace)'}; sidecar ${sidecarPath(flags.out)}\n`,
    )
  }
}
