/**
 * JSON traces: JSON Lines (`.jsonl`, `.ndjson`, optionally gzip-compressed) streamed line by
 * line, and JSON documents (an array of events, or `{"header", "events"}`), whose elements are
 * located with their line numbers by a small scanner before each is parsed.
 */
import {createReadStream} from 'node:fs'
import {open} from 'node:fs/promises'
import {createGunzip} from 'node:zlib'
import type {Readable} from 'node:stream'
import type {Ev} from '../model/event.js'
import {InputError} from '../util/errors.js'
import {EventBuilder, parseRfc3339} from './build.js'
import {Reorderer} from './order.js'
import type {IngestContext} from './index.js'

/** Yields the lines of a byte stream in groups, with the number of the group's first line. */
export async function* lines(stream: Readable): AsyncGenerator<{first: number; lines: string[]}> {
  let rest = ''
  let lineNo = 1
  for await (const chunk of stream) {
    const text = rest + (typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8'))
    const out: string[] = []
    let start = 0
    for (;;) {
      const nl = text.indexOf('\n', start)
      if (nl < 0) break
      out.push(text.slice(start, nl))
      start = nl + 1
    }
    rest = text.slice(start)
    if (out.length) {
      yield {first: lineNo, lines: out}
      lineNo += out.length
    }
  }
  if (rest.length) yield {first: lineNo, lines: [rest]}
}

function isWhitespace(s: string): boolean {
  return /^\s*$/.test(s)
}

export interface OpenedJson {
  kind: 'jsonl' | 'json'
  gzip: boolean
}

/** Looks at the first bytes: gzip magic, then the first non-blank character. */
export async function sniff(path: string): Promise<{gzip: boolean; first?: string}> {
  const fh = await open(path, 'r')
  try {
    const b = Buffer.alloc(4096)
    const {bytesRead} = await fh.read(b, 0, b.length, 0)
    if (bytesRead >= 2 && b[0] === 0x1f && b[1] === 0x8b) return {gzip: true}
    const s = b.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '')
    const m = /\S/.exec(s)
    return {gzip: false, first: m?.[0]}
  } finally {
    await fh.close()
  }
}

function openStream(path: string, gzip: boolean, ctx?: IngestContext): Readable {
  const raw: Readable = path === '-' ? process.stdin : createReadStream(path, {highWaterMark: 1 << 20})
  // Bytes read from the file (compressed bytes for gzip) feed the progress display.
  if (ctx) raw.on('data', (c: Buffer | string) => (ctx.progress.bytes += c.length))
  return gzip ? raw.pipe(createGunzip()) : raw
}

/** Reads a JSON Lines stream (file, gzip file or stdin) in time order. */
export async function* readJsonLines(path: string, display: string, gzip: boolean, ctx: IngestContext): AsyncGenerator<Ev[]> {
  const b = new EventBuilder(display, ctx)
  const ro = new Reorderer()
  let sawContent = false
  const stream = openStream(path, gzip, ctx)
  try {
    for await (const group of lines(stream)) {
      const list = group.lines
      for (let j = 0; j < list.length; j++) {
        const text = list[j]
        const line = group.first + j
        if (text.length === 0 || (text.charCodeAt(0) <= 32 && isWhitespace(text))) continue
        sawContent = true
        let raw: unknown
        try {
          raw = JSON.parse(text)
        } catch (e) {
          b.invalidJson({file: display, line}, `not valid JSON (${(e as Error).message.replace(/^.*?: /, '')})${text.length > 60 ? '' : `: ${text.trim()}`}`)
          continue
        }
        // An optional header line: {"header": {...}}
        if (raw && typeof raw === 'object' && !Array.isArray(raw) && 'header' in raw && !('event' in raw)) {
          b.startAbs = headerStart((raw as {header: unknown}).header, display, line) ?? b.startAbs
          continue
        }
        const ev = b.fromJson(raw, {file: display, line})
        if (ev) ro.push(ev)
      }
      const r = ro.ready()
      if (r) yield r
    }
  } catch (e) {
    if (e instanceof InputError) throw e
    const err = e as NodeJS.ErrnoException
    if (err.code === 'Z_DATA_ERROR' || err.code === 'Z_BUF_ERROR' || /unexpected end of file/.test(err.message)) {
      ctx.diag.skip({file: display, reason: 'truncated gzip stream', message: `gzip stream is corrupt or truncated (${err.message}); events after this point are lost`})
    } else throw e
  }
  const tail = ro.flush()
  if (tail.length) yield tail
  finish(display, gzip ? 'jsonl.gz' : 'jsonl', b, ro, ctx, sawContent)
}

function finish(display: string, format: string, b: EventBuilder, ro: Reorderer, ctx: IngestContext, sawContent: boolean): void {
  if (ro.outOfOrder) ctx.diag.note(`events out of time order in ${display} (re-sorted)`, ro.outOfOrder)
  if (ro.late) ctx.diag.note(`events too far out of order in ${display} (processed late)`, ro.late)
  ctx.diag.files.push({file: display, format, events: b.events, skipped: b.skipped})
  if (!sawContent) throw new InputError(display, 'the file is empty: expected JSON Lines events or a JSON trace document')
  if (b.events === 0) {
    const first = ctx.diag.samples.find((p) => p.file === display)
    throw new InputError(display, `no valid events (${b.skipped} skipped)${first ? `; first problem at line ${first.line}: ${first.pointer ? `${first.pointer}: ` : ''}${first.message}` : ''}`)
  }
}

function headerStart(header: unknown, file: string, line?: number): bigint | undefined {
  if (!header || typeof header !== 'object') throw new InputError(file, 'header must be an object', {line})
  const st = (header as {startTime?: unknown}).startTime
  if (st === undefined) return undefined
  const abs = typeof st === 'string' ? parseRfc3339(st) : undefined
  if (abs === undefined) throw new InputError(file, `header.startTime: expected an RFC 3339 time, got ${JSON.stringify(st)}`, {line})
  return abs
}

/** Reads a JSON document (array of events, or {header, events}) and yields its events in time order. */
export async function* readJsonDocument(path: string, display: string, gzip: boolean, ctx: IngestContext): AsyncGenerator<Ev[]> {
  const chunks: Buffer[] = []
  for await (const c of openStream(path, gzip, ctx)) chunks.push(c as Buffer)
  const text = Buffer.concat(chunks).toString('utf8').replace(/^\uFEFF/, '')
  const b = new EventBuilder(display, ctx)
  const ro = new Reorderer()
  const {elements, startAbs} = scanDocument(text, display)
  if (startAbs !== undefined) b.startAbs = startAbs
  for (const el of elements) {
    let raw: unknown
    try {
      raw = JSON.parse(text.slice(el.start, el.end))
    } catch (e) {
      b.invalidJson({file: display, line: el.line}, `not valid JSON (${(e as Error).message})`)
      continue
    }
    const ev = b.fromJson(raw, {file: display, line: el.line})
    if (ev) ro.push(ev)
    const r = ro.ready()
    if (r) yield r
  }
  const tail = ro.flush()
  if (tail.length) yield tail
  finish(display, gzip ? 'json.gz' : 'json', b, ro, ctx, !isWhitespace(text))
}

interface Element {
  start: number
  end: number
  line: number
}

/**
 * Finds the events array of a document and the extent and starting line of each element.
 * Structural errors (unbalanced brackets, a truncated document) are reported with their line.
 */
export function scanDocument(text: string, file: string): {elements: Element[]; startAbs?: bigint} {
  let pos = 0
  let line = 1
  const n = text.length
  const err = (msg: string): never => {
    throw new InputError(file, msg, {line})
  }
  const ws = (): void => {
    while (pos < n) {
      const c = text.charCodeAt(pos)
      if (c === 10) line++
      else if (c !== 32 && c !== 9 && c !== 13) return
      pos++
    }
  }
  /** Skips one JSON value, tracking lines; returns its [start, end). */
  const skipValue = (): [number, number] => {
    ws()
    const start = pos
    if (pos >= n) err('unexpected end of document: expected a value')
    const c0 = text[pos]
    if (c0 !== '{' && c0 !== '[' && c0 !== '"') {
      while (pos < n && !/[,\]\}\s]/.test(text[pos])) pos++
      return [start, pos]
    }
    let depth = 0
    do {
      const c = text[pos]
      if (c === '"') {
        pos++
        while (pos < n && text[pos] !== '"') {
          if (text[pos] === '\\') pos++
          else if (text[pos] === '\n') line++
          pos++
        }
        if (pos >= n) err('unterminated string: the document is truncated')
        pos++
      } else if (c === '{' || c === '[') {
        depth++
        pos++
      } else if (c === '}' || c === ']') {
        depth--
        pos++
      } else {
        if (c === '\n') line++
        pos++
      }
      if (depth > 0 && pos >= n) err('unexpected end of document: a bracket is not closed (the document is truncated)')
    } while (depth > 0)
    return [start, pos]
  }
  const array = (): Element[] => {
    const out: Element[] = []
    if (text[pos] !== '[') err(`expected '[' to start the events array, found '${text[pos] ?? 'end of file'}'`)
    pos++
    ws()
    if (text[pos] === ']') {
      pos++
      return out
    }
    for (;;) {
      ws()
      const l = line
      const [s, e] = skipValue()
      out.push({start: s, end: e, line: l})
      ws()
      if (text[pos] === ',') {
        pos++
        continue
      }
      if (text[pos] === ']') {
        pos++
        return out
      }
      err(pos >= n ? 'unexpected end of document: the events array is not closed (the document is truncated)' : `expected ',' or ']' in the events array, found '${text[pos]}'`)
    }
  }
  ws()
  if (text[pos] === '[') return {elements: array()}
  if (text[pos] !== '{') err(`not a JSON trace: expected '[' or '{', found '${text[pos] ?? 'end of file'}'`)
  // {"header": {...}, "events": [...]}
  pos++
  let elements: Element[] | undefined
  let startAbs: bigint | undefined
  for (;;) {
    ws()
    if (text[pos] === '}') break
    const keyLine = line
    const [ks, ke] = skipValue()
    let key: string
    try {
      key = JSON.parse(text.slice(ks, ke))
    } catch {
      return err('expected a quoted key in the trace document')
    }
    ws()
    if (text[pos] !== ':') err(`expected ':' after key "${key}"`)
    pos++
    ws()
    if (key === 'events') elements = array()
    else {
      const [vs, ve] = skipValue()
      if (key === 'header') {
        let h: unknown
        try {
          h = JSON.parse(text.slice(vs, ve))
        } catch (e) {
          err(`header is not valid JSON (${(e as Error).message})`)
        }
        startAbs = headerStart(h, file, keyLine)
      }
    }
    ws()
    if (text[pos] === ',') {
      pos++
      continue
    }
    if (text[pos] === '}') break
    err(pos >= n ? 'unexpected end of document (truncated)' : `expected ',' or '}' in the trace document, found '${text[pos]}'`)
  }
  if (!elements) err('the document has no "events" array: expected {"header": {...}, "events": [...]}, an array of events, or JSON Lines')
  return {elements: elements!, startAbs}
}
