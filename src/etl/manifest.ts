/**
 * Manifest-based ETW events decoded with the provider's instrumentation manifest (.man XML),
 * etl-format.md §10.1.
 *
 *   const set = new ManifestSet([await loadManifest('HTTP_Server.man')])
 *   const d = decodeManifestEvent(ev, set)   // undefined unless (provider, id, version) is in it
 *   d?.fields, d?.error
 *
 * A record matches an event by (ProviderId, Id, Version). The payload is the template's data
 * items in order; sizes by inType (§10.1, §9.4). Decoding never throws: on a short or
 * inconsistent payload, or an inType it does not know, it stops and returns the fields decoded so
 * far plus `error`.
 */
import {readFile} from 'node:fs/promises'
import {XMLParser, XMLValidator} from 'fast-xml-parser'
import {InputError} from '../util/errors.js'
import {formatGuid} from './guid.js'
import {copyBytes, decodeCp1252, formatSid, type TlSystemTime} from './tracelogging.js'
import type {EtlEvent} from './types.js'

/** A `<data>` item (inType set) or a `<struct>` (members set) of a template. */
export interface ManifestField {
  name: string
  /** e.g. `win:UInt32`; undefined for a struct. */
  inType?: string
  outType?: string
  /** Literal number, or the name of an earlier integer data item. */
  length?: number | string
  count?: number | string
  /** Name of a valueMap/bitMap. */
  map?: string
  /** Struct members. */
  members?: ManifestField[]
}

export interface ManifestTemplate {
  tid: string
  fields: ManifestField[]
}

export interface ManifestName {
  name: string
  value: number
  /** The resolved `message` string (e.g. `Parse`), if any. */
  message?: string
}

export interface ManifestEventDef {
  id: number
  version: number
  symbol?: string
  template?: string
  task?: ManifestName
  opcode?: ManifestName
  level?: ManifestName
  keywords?: string[]
  channel?: string
  /** Resolved message string, with %1..%n placeholders. */
  message?: string
  /** Display name: symbol, else `task/opcode` (their messages, else their names), else `id N`. */
  name: string
}

export interface ManifestMap {
  kind: 'value' | 'bit'
  entries: Map<number, string>
}

export interface ManifestProvider {
  name: string
  /** Lowercase, no braces. */
  guid: string
  symbol?: string
  /** Keyed by `id/version`. */
  events: Map<string, ManifestEventDef>
  templates: Map<string, ManifestTemplate>
  maps: Map<string, ManifestMap>
}

export interface Manifest {
  file: string
  providers: ManifestProvider[]
}

export interface ManifestDecoded {
  provider: string
  providerGuid: string
  eventName?: string
  event: ManifestEventDef
  /**
   * Named fields. Integers of up to 32 bits, floats: numbers; 64-bit integers, pointers and
   * FILETIMEs: numbers when exactly representable, else bigint; win:Boolean: boolean; GUID:
   * lowercase string; SID: S-1-…; SYSTEMTIME: object; Binary: Uint8Array copy; arrays (count):
   * arrays; structs: objects. Items with a valueMap/bitMap whose value matches hold the map's text.
   */
  fields: Record<string, unknown>
  /** Payload bytes the template consumed. */
  consumed: number
  /** The event message with %n filled in, when the manifest has one. */
  message?: string
  /** Set when decoding stopped early; `fields` holds what decoded before. */
  error?: string
}

// ---------------------------------------------------------------------------------------------
// Loading

interface XNode {
  tag: string
  attrs: Record<string, string>
  children: XNode[]
}

function toTree(list: unknown[]): XNode[] {
  const out: XNode[] = []
  for (const item of list) {
    if (!item || typeof item !== 'object') continue
    const o = item as Record<string, unknown>
    const tag = Object.keys(o).find((k) => k !== ':@')
    if (!tag || tag === '#text' || tag === '#comment' || tag.startsWith('?')) continue
    const attrs = (o[':@'] ?? {}) as Record<string, string>
    const kids = Array.isArray(o[tag]) ? (o[tag] as unknown[]) : []
    out.push({tag, attrs, children: toTree(kids)})
  }
  return out
}

function kids(n: XNode | undefined, tag: string): XNode[] {
  return n ? n.children.filter((c) => c.tag === tag) : []
}
function kid(n: XNode | undefined, tag: string): XNode | undefined {
  return n?.children.find((c) => c.tag === tag)
}
function descendants(n: XNode, tag: string, out: XNode[] = []): XNode[] {
  for (const c of n.children) {
    if (c.tag === tag) out.push(c)
    else descendants(c, tag, out)
  }
  return out
}

function decodeText(b: Uint8Array): string {
  if (b[0] === 0xff && b[1] === 0xfe) return new TextDecoder('utf-16le').decode(b.subarray(2))
  if (b[0] === 0xfe && b[1] === 0xff) return new TextDecoder('utf-16be').decode(b.subarray(2))
  if (b.length >= 2 && b[0] === 0x3c && b[1] === 0) return new TextDecoder('utf-16le').decode(b)
  if (b.length >= 2 && b[0] === 0 && b[1] === 0x3c) return new TextDecoder('utf-16be').decode(b)
  return new TextDecoder('utf-8').decode(b) // strips a UTF-8 BOM
}

function num(s: string | undefined): number | undefined {
  if (s === undefined) return undefined
  const t = s.trim()
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) return undefined
  return Number(t)
}

function normGuid(g: string): string {
  return g.trim().replace(/[{}]/g, '').toLowerCase()
}

const WIN_LEVELS: Record<string, number> = {'win:LogAlways': 0, 'win:Critical': 1, 'win:Error': 2, 'win:Warning': 3, 'win:Informational': 4, 'win:Verbose': 5}
const WIN_OPCODES: Record<string, number> = {
  'win:Info': 0, 'win:Start': 1, 'win:Stop': 2, 'win:DC_Start': 3, 'win:DC_Stop': 4, 'win:Extension': 5,
  'win:Reply': 6, 'win:Resume': 7, 'win:Suspend': 8, 'win:Send': 9, 'win:Receive': 240,
}

function parseFields(tpl: XNode): ManifestField[] {
  const out: ManifestField[] = []
  for (const c of tpl.children) {
    if (c.tag !== 'data' && c.tag !== 'struct') continue
    const a = c.attrs
    const ref = (v: string | undefined): number | string | undefined => (v === undefined || v.trim() === '' ? undefined : num(v) ?? v.trim())
    const f: ManifestField = {name: a.name ?? `field${out.length}`}
    if (c.tag === 'data') {
      f.inType = a.inType ?? ''
      if (a.outType) f.outType = a.outType
      if (a.map) f.map = a.map
    } else f.members = parseFields(c)
    const length = ref(a.length)
    const count = ref(a.count)
    if (length !== undefined) f.length = length
    if (count !== undefined) f.count = count
    out.push(f)
  }
  return out
}

/** Parses manifest XML (string or bytes; UTF-8 or UTF-16). Throws {@link InputError} naming `file`. */
export function parseManifest(xml: string | Uint8Array, file = '<manifest>'): Manifest {
  const text = (typeof xml === 'string' ? xml : decodeText(xml)).replace(/^\uFEFF/, '')
  if (!text.trim()) throw new InputError(file, 'empty file: not an instrumentation manifest')
  const valid = XMLValidator.validate(text)
  if (valid !== true) throw new InputError(file, `not well-formed XML: ${valid.err.msg}`, {line: valid.err.line})
  let tree: XNode[]
  try {
    const p = new XMLParser({preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '', removeNSPrefix: true, parseAttributeValue: false, parseTagValue: false, processEntities: true})
    tree = toTree(p.parse(text) as unknown[])
  } catch (e) {
    throw new InputError(file, `not well-formed XML: ${(e as Error).message}`)
  }
  const root = tree.find((n) => n.tag === 'instrumentationManifest') ?? tree[0]
  if (!root) throw new InputError(file, 'no XML element: not an instrumentation manifest')

  // Localized strings: prefer en-US, else the first culture.
  const strings = new Map<string, string>()
  const res = descendants(root, 'resources')
  const pick = res.find((r) => (r.attrs.culture ?? '').toLowerCase() === 'en-us') ?? res[0]
  if (pick) for (const s of descendants(pick, 'string')) if (s.attrs.id !== undefined) strings.set(s.attrs.id, s.attrs.value ?? '')
  const msg = (m: string | undefined): string | undefined => {
    if (m === undefined) return undefined
    const r = /^\$\(string\.(.+)\)$/.exec(m.trim())
    return r ? strings.get(r[1]) : m
  }

  const providers: ManifestProvider[] = []
  for (const pn of descendants(root, 'provider')) {
    const guid = pn.attrs.guid
    if (!guid || !/^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$/i.test(guid.trim())) {
      throw new InputError(file, `provider ${JSON.stringify(pn.attrs.name ?? '?')} has no valid guid attribute (${JSON.stringify(guid ?? '')})`)
    }
    const prov: ManifestProvider = {name: pn.attrs.name ?? normGuid(guid), guid: normGuid(guid), symbol: pn.attrs.symbol, events: new Map(), templates: new Map(), maps: new Map()}

    const named = (nodes: XNode[], key = 'name'): Map<string, ManifestName> => {
      const m = new Map<string, ManifestName>()
      for (const n of nodes) {
        const name = n.attrs[key]
        const value = num(n.attrs.value ?? n.attrs.mask)
        if (name !== undefined && value !== undefined) m.set(name, {name, value, message: msg(n.attrs.message)})
      }
      return m
    }
    const tasks = named(kids(kid(pn, 'tasks'), 'task'))
    const taskOpcodes = new Map<string, Map<string, ManifestName>>()
    for (const t of kids(kid(pn, 'tasks'), 'task')) if (t.attrs.name) taskOpcodes.set(t.attrs.name, named(kids(kid(t, 'opcodes'), 'opcode')))
    const opcodes = named(kids(kid(pn, 'opcodes'), 'opcode'))
    const levels = named(kids(kid(pn, 'levels'), 'level'))
    const channels = new Map<string, string>()
    for (const c of kids(kid(pn, 'channels'), 'channel')) {
      if (c.attrs.chid) channels.set(c.attrs.chid, c.attrs.name ?? c.attrs.chid)
      if (c.attrs.name) channels.set(c.attrs.name, c.attrs.name)
    }

    for (const t of kids(kid(pn, 'templates'), 'template')) {
      if (t.attrs.tid) prov.templates.set(t.attrs.tid, {tid: t.attrs.tid, fields: parseFields(t)})
    }
    for (const mapsNode of kids(pn, 'maps')) {
      for (const m of mapsNode.children) {
        if ((m.tag !== 'valueMap' && m.tag !== 'bitMap') || !m.attrs.name) continue
        const entries = new Map<number, string>()
        for (const e of kids(m, 'map')) {
          const v = num(e.attrs.value)
          if (v !== undefined) entries.set(v, (msg(e.attrs.message) ?? String(v)).trim())
        }
        prov.maps.set(m.attrs.name, {kind: m.tag === 'bitMap' ? 'bit' : 'value', entries})
      }
    }

    for (const e of kids(kid(pn, 'events'), 'event')) {
      const id = num(e.attrs.value)
      if (id === undefined) continue
      const version = num(e.attrs.version) ?? 0
      const a = e.attrs
      const task = a.task ? tasks.get(a.task) ?? {name: a.task, value: NaN} : undefined
      let opcode: ManifestName | undefined
      if (a.opcode) {
        opcode = (a.task ? taskOpcodes.get(a.task)?.get(a.opcode) : undefined) ?? opcodes.get(a.opcode)
        if (!opcode && a.opcode in WIN_OPCODES) opcode = {name: a.opcode, value: WIN_OPCODES[a.opcode], message: a.opcode.slice(4)}
        opcode ??= {name: a.opcode, value: NaN}
      }
      let level: ManifestName | undefined
      if (a.level) level = levels.get(a.level) ?? (a.level in WIN_LEVELS ? {name: a.level, value: WIN_LEVELS[a.level], message: a.level.slice(4)} : {name: a.level, value: NaN})
      const disp = (n: ManifestName | undefined): string | undefined => (n ? n.message || n.name : undefined)
      const name = a.symbol || (task || opcode ? [disp(task), disp(opcode)].filter(Boolean).join('/') : `id ${id}`)
      const def: ManifestEventDef = {id, version, name}
      if (a.symbol) def.symbol = a.symbol
      if (a.template) def.template = a.template
      if (task) def.task = task
      if (opcode) def.opcode = opcode
      if (level) def.level = level
      if (a.keywords?.trim()) def.keywords = a.keywords.trim().split(/\s+/)
      if (a.channel) def.channel = channels.get(a.channel) ?? a.channel
      const m = msg(a.message)
      if (m !== undefined) def.message = m
      if (def.template && !prov.templates.has(def.template)) {
        throw new InputError(file, `event ${id} (version ${version}) of provider ${prov.name} names template ${JSON.stringify(def.template)}, which the manifest does not define`)
      }
      prov.events.set(`${id}/${version}`, def)
    }
    providers.push(prov)
  }
  if (providers.length === 0) throw new InputError(file, 'no <provider> element: not an instrumentation manifest, or one that defines no providers')
  return {file, providers}
}

/** Reads and parses a manifest file; a missing/unreadable/invalid file throws {@link InputError}. */
export async function loadManifest(path: string): Promise<Manifest> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new InputError(path, code === 'ENOENT' ? 'manifest file not found' : `cannot read manifest: ${(e as Error).message}`)
  }
  return parseManifest(bytes, path)
}

/** Providers of one or more manifests, indexed by GUID (a later manifest wins on a clash). */
export class ManifestSet {
  readonly byGuid = new Map<string, ManifestProvider>()
  constructor(readonly manifests: readonly Manifest[]) {
    for (const m of manifests) for (const p of m.providers) this.byGuid.set(p.guid, p)
  }
  provider(guid: string): ManifestProvider | undefined {
    return this.byGuid.get(guid.length === 36 ? guid.toLowerCase() : normGuid(guid))
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

class Stop extends Error {}

const wide = new TextDecoder('utf-16le')
const utf8 = new TextDecoder('utf-8')

function int64(dv: DataView, p: number, signed: boolean): number | bigint {
  const v = signed ? dv.getBigInt64(p, true) : dv.getBigUint64(p, true)
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v
}

interface Cursor {
  b: Uint8Array
  dv: DataView
  p: number
  end: number
  pointerSize: number
}

function need(c: Cursor, n: number, what: string): void {
  if (c.p + n > c.end) throw new Stop(`${what}: needs ${n} bytes at payload offset ${c.p}, only ${Math.max(0, c.end - c.p)} left`)
}

/** One value of `inType` (length = resolved `length` attribute, if any). */
function readValue(c: Cursor, f: ManifestField, length: number | undefined): unknown {
  const t = f.inType ?? ''
  const {dv} = c
  const fixed = (n: number, read: () => unknown): unknown => {
    need(c, n, `${f.name} (${t})`)
    const v = read()
    c.p += n
    return v
  }
  switch (t) {
    case 'win:Int8': return fixed(1, () => dv.getInt8(c.p))
    case 'win:UInt8': return fixed(1, () => dv.getUint8(c.p))
    case 'win:Int16': return fixed(2, () => dv.getInt16(c.p, true))
    case 'win:UInt16': return fixed(2, () => dv.getUint16(c.p, true))
    case 'win:Int32': return fixed(4, () => dv.getInt32(c.p, true))
    case 'win:UInt32':
    case 'win:HexInt32': return fixed(4, () => dv.getUint32(c.p, true))
    case 'win:Int64': return fixed(8, () => int64(dv, c.p, true))
    case 'win:UInt64':
    case 'win:HexInt64':
    case 'win:FILETIME': return fixed(8, () => int64(dv, c.p, false))
    case 'win:Float': return fixed(4, () => dv.getFloat32(c.p, true))
    case 'win:Double': return fixed(8, () => dv.getFloat64(c.p, true))
    case 'win:Boolean': return fixed(4, () => dv.getUint32(c.p, true) !== 0)
    case 'win:Pointer': return c.pointerSize === 4 ? fixed(4, () => dv.getUint32(c.p, true)) : fixed(8, () => int64(dv, c.p, false))
    case 'win:GUID': return fixed(16, () => formatGuid(c.b, c.p))
    case 'win:SYSTEMTIME':
      return fixed(16, (): TlSystemTime => {
        const u = (i: number) => dv.getUint16(c.p + 2 * i, true)
        return {year: u(0), month: u(1), dayOfWeek: u(2), day: u(3), hour: u(4), minute: u(5), second: u(6), milliseconds: u(7)}
      })
    case 'win:SID': {
      need(c, 8, `${f.name} (${t})`)
      const n = 8 + 4 * c.b[c.p + 1]
      return fixed(n, () => formatSid(c.b, c.p))
    }
    case 'win:UnicodeString':
    case 'win:AnsiString': {
      const unit = t === 'win:UnicodeString' ? 2 : 1
      let s = c.p
      let e: number
      let next: number
      if (length !== undefined) {
        need(c, length * unit, `${f.name} (${t}, length ${length})`)
        next = c.p + length * unit
        e = s
        while (e + unit <= next && (unit === 1 ? c.b[e] !== 0 : c.b[e] !== 0 || c.b[e + 1] !== 0)) e += unit
      } else {
        // NUL-terminated, or running to the end of the user data (TDH accepts a missing NUL).
        e = s
        while (e + unit <= c.end && (unit === 1 ? c.b[e] !== 0 : c.b[e] !== 0 || c.b[e + 1] !== 0)) e += unit
        next = e + unit <= c.end ? e + unit : c.end
      }
      c.p = next
      if (unit === 2) return wide.decode(c.b.subarray(s, e))
      return f.outType === 'win:Utf8' || f.outType === 'win:Xml' || f.outType === 'win:Json' ? utf8.decode(c.b.subarray(s, e)) : decodeCp1252(c.b, s, e)
    }
    case 'win:Binary': {
      if (length === undefined) throw new Stop(`${f.name} (${t}): no length attribute`)
      need(c, length, `${f.name} (${t}, length ${length})`)
      const v = copyBytes(c.b, c.p, c.p + length)
      c.p += length
      return v
    }
    case 'win:CountedUnicodeString':
    case 'win:CountedString':
    case 'win:CountedAnsiString':
    case 'win:CountedBinary': {
      need(c, 2, `${f.name} (${t}) byte count`)
      const n = dv.getUint16(c.p, true)
      c.p += 2
      need(c, n, `${f.name} (${t})`)
      const s = c.p
      c.p += n
      if (t === 'win:CountedBinary') return copyBytes(c.b, s, s + n)
      if (t === 'win:CountedAnsiString') return decodeCp1252(c.b, s, s + n)
      return wide.decode(c.b.subarray(s, s + (n & ~1))).replace(/\0+$/, '')
    }
    default:
      throw new Stop(`${f.name}: unsupported inType ${JSON.stringify(t)}`)
  }
}

type Scope = {raw: Map<string, unknown>; parent?: Scope}

function resolveRef(v: number | string | undefined, scope: Scope, f: ManifestField, attr: string): number | undefined {
  if (v === undefined || typeof v === 'number') return v
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    if (!s.raw.has(v)) continue
    const x = s.raw.get(v)
    const n = typeof x === 'bigint' ? (x <= 0xffffffffn && x >= 0n ? Number(x) : NaN) : typeof x === 'number' ? x : NaN
    if (!Number.isInteger(n) || n < 0) throw new Stop(`${f.name}: ${attr}="${v}" refers to a value that is not a non-negative integer (${String(x)})`)
    return n
  }
  throw new Stop(`${f.name}: ${attr}="${v}" names no earlier data item`)
}

function mapped(p: ManifestProvider, f: ManifestField, v: unknown): unknown {
  if (!f.map || typeof v !== 'number') return v
  const m = p.maps.get(f.map)
  if (!m) return v
  if (m.kind === 'value') return m.entries.get(v) ?? v
  const parts: string[] = []
  let rest = v >>> 0
  for (const [bit, text] of m.entries) {
    if (bit !== 0 && (v & bit) >>> 0 === bit >>> 0) {
      parts.push(text)
      rest &= ~bit
    }
  }
  if (parts.length === 0) return m.entries.get(v) ?? v
  if (rest) parts.push(`0x${(rest >>> 0).toString(16)}`)
  return parts.join(' | ')
}

function decodeFields(c: Cursor, p: ManifestProvider, fields: ManifestField[], out: Record<string, unknown>, scope: Scope): void {
  for (const f of fields) {
    const count = resolveRef(f.count, scope, f, 'count')
    const length = resolveRef(f.length, scope, f, 'length')
    const one = (): unknown => {
      if (!f.members) return readValue(c, f, length)
      const obj: Record<string, unknown> = {}
      const sub: Scope = {raw: new Map(), parent: scope}
      if (length === undefined) {
        decodeFields(c, p, f.members, obj, sub)
        return obj
      }
      // A struct with a byte length: its members are read inside that many bytes.
      need(c, length, `${f.name} (struct, length ${length})`)
      const inner: Cursor = {...c, end: c.p + length}
      try {
        decodeFields(inner, p, f.members, obj, sub)
      } finally {
        c.p += length
      }
      return obj
    }
    if (count === undefined) {
      const v = one()
      scope.raw.set(f.name, v)
      out[f.name] = mapped(p, f, v)
    } else {
      if (count > 1_000_000) throw new Stop(`${f.name}: count ${count} is implausible`)
      const arr: unknown[] = []
      out[f.name] = arr
      for (let i = 0; i < count; i++) {
        if (c.p >= c.end && !(f.members && f.members.length === 0)) throw new Stop(`${f.name}: array of ${count} ends after ${i} elements at the end of the payload`)
        arr.push(mapped(p, f, one()))
      }
      scope.raw.set(f.name, arr)
    }
  }
}

function display(v: unknown): string {
  if (typeof v === 'bigint') return v.toString()
  if (v instanceof Uint8Array) return '0x' + Buffer.from(v).toString('hex')
  if (Array.isArray(v)) return v.map(display).join(', ')
  if (v && typeof v === 'object') return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))
  return String(v)
}

/** Fills %1..%n of a manifest message with the top-level template items; %% → %, %n → newline, %t → tab. */
export function formatManifestMessage(message: string, tpl: ManifestTemplate | undefined, fields: Record<string, unknown>): string {
  const top = tpl?.fields ?? []
  return message.replace(/%(\d+)(![^!]*!)?|%([%nt!.])/g, (all, n: string | undefined, _fmt, esc: string | undefined) => {
    if (esc) return esc === 'n' ? '\n' : esc === 't' ? '\t' : esc
    const f = top[Number(n) - 1]
    return f && f.name in fields ? display(fields[f.name]) : all
  })
}

/**
 * Decodes `ev` with the manifests. Undefined unless the event is an EVENT_HEADER record whose
 * (provider GUID, id, version) a manifest defines. Never throws on payload contents.
 */
export function decodeManifestEvent(
  ev: Pick<EtlEvent, 'providerGuid' | 'id' | 'version' | 'payloadBytes' | 'pointerSize'> & {kind?: EtlEvent['kind']},
  manifests: ManifestSet | readonly Manifest[],
): ManifestDecoded | undefined {
  if (ev.kind !== undefined && ev.kind !== 'event-header') return undefined
  const set = manifests instanceof ManifestSet ? manifests : setOf(manifests)
  const prov = set.provider(ev.providerGuid)
  const def = prov?.events.get(`${ev.id}/${ev.version}`)
  if (!prov || !def) return undefined
  const tpl = def.template ? prov.templates.get(def.template) : undefined
  const b = ev.payloadBytes
  const c: Cursor = {b, dv: new DataView(b.buffer, b.byteOffset, b.byteLength), p: 0, end: b.byteLength, pointerSize: ev.pointerSize === 4 ? 4 : 8}
  const fields: Record<string, unknown> = {}
  let error: string | undefined
  try {
    if (tpl) decodeFields(c, prov, tpl.fields, fields, {raw: new Map()})
  } catch (e) {
    error = e instanceof Stop ? e.message : `decoder failure: ${(e as Error).message}`
  }
  const out: ManifestDecoded = {provider: prov.name, providerGuid: prov.guid, eventName: def.name, event: def, fields, consumed: Math.min(c.p, c.end)}
  if (def.message !== undefined) out.message = formatManifestMessage(def.message, tpl, fields)
  if (error !== undefined) out.error = error
  return out
}

const sets = new WeakMap<readonly Manifest[], ManifestSet>()
function setOf(ms: readonly Manifest[]): ManifestSet {
  let s = sets.get(ms)
  if (!s) sets.set(ms, (s = new ManifestSet(ms)))
  return s
}
