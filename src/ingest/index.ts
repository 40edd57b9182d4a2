/** Opening trace files of any supported container, and merging them into one time-ordered stream. */
import {stat} from 'node:fs/promises'
import type {Ev} from '../model/event.js'
import {InputError} from '../util/errors.js'
import {TimeBase} from './build.js'
import {Diagnostics} from './diagnostics.js'
import {readEtl} from './etl.js'
import {readJsonDocument, readJsonLines, sniff} from './json.js'
import {mergeByTime} from './order.js'
import {EventValidator} from './validate.js'

export interface IngestContext {
  diag: Diagnostics
  validator: EventValidator
  timebase: TimeBase
  /** When set, SPI events whose ProviderId is not listed are skipped (counted). */
  sanProviders?: Set<string>
  /** Bytes of the input files read so far (for the progress display). */
  progress: {bytes: number}
}

let sharedValidator: EventValidator | undefined

export function createIngestContext(opts: {strict?: boolean; sanProviders?: string[]} = {}): IngestContext {
  // Compiling the schema is the costly part; the validator is stateless and shared.
  sharedValidator ??= new EventValidator()
  return {
    diag: new Diagnostics(opts.strict ?? false),
    validator: sharedValidator,
    timebase: new TimeBase(),
    sanProviders: opts.sanProviders ? new Set(opts.sanProviders.map((p) => p.toLowerCase())) : undefined,
    progress: {bytes: 0},
  }
}

/** Checks a path is a readable regular file (or `-` for stdin); bad paths are usage errors. */
export async function checkInput(path: string): Promise<void> {
  if (path === '-') return
  let st
  try {
    st = await stat(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new InputError(path, code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : `cannot read (${code})`)
  }
  if (st.isDirectory()) throw new InputError(path, 'is a directory: give trace files (.etl, .jsonl, .ndjson, .json, optionally .gz)')
  if (!st.isFile()) throw new InputError(path, 'not a regular file')
}

/** One file's events, in time order, as batches. */
export async function* readTrace(path: string, ctx: IngestContext): AsyncGenerator<Ev[]> {
  const display = path === '-' ? '<stdin>' : path
  await checkInput(path)
  const lower = path.toLowerCase()
  if (path === '-') {
    yield* readJsonLines(path, display, false, ctx)
    return
  }
  if (lower.endsWith('.etl')) {
    yield* readEtl(path, display, ctx)
    return
  }
  const {gzip, first} = await sniff(path)
  const base = lower.replace(/\.gz$/, '')
  if (base.endsWith('.jsonl') || base.endsWith('.ndjson')) {
    yield* readJsonLines(path, display, gzip, ctx)
    return
  }
  if (gzip) {
    // Compressed without a telling extension: JSON Lines is the streaming form.
    yield* readJsonLines(path, display, true, ctx)
    return
  }
  if (first === '[') {
    yield* readJsonDocument(path, display, false, ctx)
    return
  }
  if (first === '{') {
    // A JSON Lines file starts with a complete event object on its first line.
    if (await firstLineIsObject(path)) yield* readJsonLines(path, display, false, ctx)
    else yield* readJsonDocument(path, display, false, ctx)
    return
  }
  if (first === undefined) throw new InputError(display, 'the file is empty: expected JSON Lines events or a JSON trace document')
  throw new InputError(display, `not a trace santrace can read: expected .etl (by its extension), JSON Lines or a JSON document, found '${first}' at the start`, {offset: 0})
}

async function firstLineIsObject(path: string): Promise<boolean> {
  const {open} = await import('node:fs/promises')
  const fh = await open(path, 'r')
  try {
    const b = Buffer.alloc(1 << 16)
    const {bytesRead} = await fh.read(b, 0, b.length, 0)
    const s = b.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '')
    const nl = s.indexOf('\n')
    const first = (nl < 0 ? s : s.slice(0, nl)).trim()
    try {
      const v = JSON.parse(first)
      return v !== null && typeof v === 'object' && !Array.isArray(v) && ('event' in v || ('header' in v && !('events' in v)))
    } catch {
      return false
    }
  } finally {
    await fh.close()
  }
}

/** All files merged into one time-ordered stream. */
export function readTraces(paths: string[], ctx: IngestContext): AsyncGenerator<Ev[]> {
  return mergeByTime(paths.map((p) => readTrace(p, ctx)))
}

export {Diagnostics} from './diagnostics.js'
export {TimeBase} from './build.js'
