/** Everything skipped or noticed while reading is counted here and reported; nothing is dropped silently. */

export interface Problem {
  file: string
  line?: number
  offset?: number
  /** JSON pointer of the offending field, when there is one. */
  pointer?: string
  reason: string
  message: string
}

export interface FileStats {
  file: string
  format: string
  events: number
  skipped: number
  /** Events of other ETW providers, by provider (counted, not analyzed). */
  otherProviders?: Record<string, number>
}

export class Diagnostics {
  /** Count of skipped events or records by reason. */
  readonly skipped = new Map<string, number>()
  /** Non-fatal observations that skipped nothing (e.g. events out of time order). */
  readonly notes = new Map<string, number>()
  readonly samples: Problem[] = []
  readonly files: FileStats[] = []

  constructor(
    readonly strict = false,
    readonly maxSamples = 50,
  ) {}

  skip(p: Problem, count = 1): void {
    this.skipped.set(p.reason, (this.skipped.get(p.reason) ?? 0) + count)
    if (this.samples.length < this.maxSamples) this.samples.push(p)
  }

  note(reason: string, count = 1): void {
    this.notes.set(reason, (this.notes.get(reason) ?? 0) + count)
  }

  get totalSkipped(): number {
    let n = 0
    for (const v of this.skipped.values()) n += v
    return n
  }
}

export function formatProblem(p: Problem): string {
  const where = `${p.file}${p.line !== undefined ? `:${p.line}` : ''}${p.offset !== undefined ? ` @${p.offset}` : ''}`
  return `${where}: ${p.pointer !== undefined ? `${p.pointer || '/'}: ` : ''}${p.message}`
}
