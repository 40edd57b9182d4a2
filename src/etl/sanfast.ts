/**
 * Fast path for SAN events read from .etl: one decoder compiled per TraceLogging metadata layout
 * reads the payload bytes straight into the normalized fields (`Ev.f`), skipping the JSON-form
 * record, schema validation and normalization.
 *
 * A layout is *trusted* only when, for every field, the value its decoder can produce is known to
 * satisfy schemas/trace-event.schema.json and to normalize to exactly what the slow path
 * (san.ts conversion → schema validation → model/fields.ts normalization) yields. Checks that
 * depend on values (enums, name patterns, non-negative counts, 64-bit values beyond 2^53, array
 * lengths) run per event; when one fails, or the payload does not match the layout exactly, the
 * decoder returns undefined and the event takes the slow path, which reports it as before.
 * Untrusted layouts always take the slow path.
 */
import {readFileSync} from 'node:fs'
import {EVENT_KINDS} from '../model/event.js'
import {FIELD_KINDS} from '../model/fields.js'
import {schemaPath} from '../util/paths.js'
import {formatGuid} from './guid.js'
import {SAN_FIELD_KINDS, SAN_PROVIDER_GUIDS} from './san.js'
import {azf, compileBudgeted, newFieldStrings, tlCursor, tlReadValue, TL_FAIL, type FieldStrings, TL_IN, TL_OUT, type TlEventMeta, type TlField} from './tracelogging.js'

/** Decodes one payload to normalized fields, or undefined: take the slow path. */
export type SanFastDecoder = (b: Uint8Array, dv: DataView, p: number, end: number) => Record<string, unknown> | undefined

// ------------------------------------------------------------------------------ schema reading

type Schema = Record<string, unknown>
let DEFS: Record<string, Schema> = {}
/** Value predicates for strings (null: the schema rejects every string). */
type StrCheck = true | null | ((s: string) => boolean)

const INT_KEYS = new Set(['type', 'minimum', 'maximum', 'description'])
const STR_KEYS = new Set(['type', 'pattern', 'description'])

function resolve(s: unknown): Schema | undefined {
  if (!s || typeof s !== 'object' || Array.isArray(s)) return undefined
  const o = s as Schema
  if (typeof o.$ref === 'string') {
    if (Object.keys(o).some((k) => k !== '$ref' && k !== 'description')) return undefined
    const m = /^#\/\$defs\/([A-Za-z0-9_]+)$/.exec(o.$ref)
    return m ? resolve(DEFS[m[1]]) : undefined
  }
  return o
}

function onlyKeys(o: Schema, keys: Set<string>): boolean {
  for (const k of Object.keys(o)) if (!keys.has(k)) return false
  return true
}

/** Whether the schema accepts every integer in [min, max]. */
function accInt(s0: unknown, min: number, max: number): boolean {
  const s = resolve(s0)
  if (!s) return false
  if (Array.isArray(s.anyOf) && onlyKeys(s, new Set(['anyOf', 'description']))) return s.anyOf.some((b) => accInt(b, min, max))
  if (s.type !== 'integer' || !onlyKeys(s, INT_KEYS)) return false
  if (s.minimum !== undefined && !(typeof s.minimum === 'number' && min >= s.minimum)) return false
  if (s.maximum !== undefined && !(typeof s.maximum === 'number' && max <= s.maximum)) return false
  return true
}

/** Which strings the schema accepts. Patterns are checked with and without the `u` flag. */
function accStr(s0: unknown): StrCheck {
  const s = resolve(s0)
  if (!s) return null
  if (Array.isArray(s.anyOf) && onlyKeys(s, new Set(['anyOf', 'description']))) {
    const parts = s.anyOf.map(accStr).filter((c) => c !== null)
    if (parts.includes(true)) return true
    if (parts.length === 0) return null
    return (x) => parts.some((c) => (c as (s: string) => boolean)(x))
  }
  if ('const' in s && onlyKeys(s, new Set(['const', 'description']))) {
    const c = s.const
    return (x) => x === c
  }
  if (Array.isArray(s.enum) && onlyKeys(s, new Set(['enum', 'description']))) {
    const set = new Set(s.enum.filter((x) => typeof x === 'string'))
    return (x) => set.has(x)
  }
  if (s.type !== 'string' || !onlyKeys(s, STR_KEYS)) return null
  if (s.pattern === undefined) return true
  if (typeof s.pattern !== 'string') return null
  let ru: RegExp
  let rn: RegExp
  try {
    ru = new RegExp(s.pattern, 'u')
    rn = new RegExp(s.pattern)
  } catch {
    return null
  }
  return (x) => ru.test(x) && rn.test(x)
}

/** Whether every string of a kind passes (e.g. every canonical hex handle): sampled exactly. */
function accAll(s: unknown, samples: string[]): boolean {
  const c = accStr(s)
  return c === true || (c !== null && samples.every((x) => c(x)))
}

const HEX_SAMPLES = ['0x0', '0x1', '0xa', '0xf', '0x2a0', '0x7ffd1200', '0xffffffff', '0xfffffffffffffff', '0xffffffffffffffff', '0x123456789abcdef0', '0x8000000000000000']
const BLOB_SAMPLES = ['', '00', 'ff', 'deadbeef', '0123456789abcdef']
const GUID_SAMPLES = ['{00000000-0000-0000-0000-000000000000}', '{b5367df2-cbac-11cf-95ca-00805f48a192}', '{ffffffff-ffff-ffff-ffff-ffffffffffff}', '{0123abcd-4567-89ef-0123-456789abcdef}']

/** Regex patterns are not analyzed: samples cover each character class position exactly. */
function accHex(s: unknown): boolean {
  const c = accStr(s)
  if (c === true) return true
  if (c === null) return false
  // every canonical hex string: 0x + 1..16 digits of [0-9a-f]
  for (const d of '0123456789abcdef') for (let n = 1; n <= 16; n++) if (!c('0x' + (d === '0' ? '1' : d) + d.repeat(n - 1))) return false
  return accAll(s, HEX_SAMPLES)
}

function accBlob(s: unknown): boolean {
  const c = accStr(s)
  if (c === true) return true
  if (c === null) return false
  for (const d of '0123456789abcdef') if (!c(d + d) || !c('00' + d + '0' + d + d)) return false
  return accAll(s, BLOB_SAMPLES)
}

function accGuid(s: unknown): boolean {
  const c = accStr(s)
  if (c === true) return true
  if (c === null) return false
  for (const d of '0123456789abcdef') if (!c(`{${d.repeat(8)}-${d.repeat(4)}-${d.repeat(4)}-${d.repeat(4)}-${d.repeat(12)}}`)) return false
  return accAll(s, GUID_SAMPLES)
}

function accBool(s0: unknown): boolean {
  const s = resolve(s0)
  if (!s) return false
  if (Array.isArray(s.anyOf) && onlyKeys(s, new Set(['anyOf', 'description']))) return s.anyOf.some(accBool)
  return s.type === 'boolean' && onlyKeys(s, new Set(['type', 'description']))
}

/** An array schema: its item schema and maxItems (undefined: not a plain array schema). */
function arrayOf(s0: unknown): {items: unknown; max: number} | undefined {
  const s = resolve(s0)
  if (!s || s.type !== 'array' || !onlyKeys(s, new Set(['type', 'items', 'maxItems', 'description']))) return undefined
  if (s.items === undefined || (s.maxItems !== undefined && typeof s.maxItems !== 'number')) return undefined
  return {items: s.items, max: typeof s.maxItems === 'number' ? s.maxItems : Infinity}
}

/** An object schema: member schemas and required members. */
function objectOf(s0: unknown): {props: Record<string, unknown>; required: string[]} | undefined {
  const s = resolve(s0)
  if (!s || s.type !== 'object' || !onlyKeys(s, new Set(['type', 'properties', 'required', 'description']))) return undefined
  const props = (s.properties ?? {}) as Record<string, unknown>
  const required = (s.required ?? []) as string[]
  if (typeof props !== 'object' || !Array.isArray(required)) return undefined
  return {props, required}
}

interface EventSchema {
  /** Schemas that apply to a payload field (empty: unconstrained). */
  field(name: string): unknown[]
  required: string[]
}

const ENVELOPE = new Set(['ts', 'pid', 'tid', 'cpu', 'provider', 'event'])
let EVENTS: Map<string, EventSchema> | undefined

function loadSchema(): Map<string, EventSchema> {
  const out = new Map<string, EventSchema>()
  let root: Schema
  try {
    root = JSON.parse(readFileSync(schemaPath('trace-event.schema.json'), 'utf8')) as Schema
  } catch {
    return out
  }
  DEFS = (root.$defs ?? {}) as Record<string, Schema>
  for (const name of Object.keys(EVENT_KINDS)) {
    const def = DEFS[name]
    if (!def || !onlyKeys(def, new Set(['type', 'allOf', 'properties', 'required', 'description'])) || def.type !== 'object') continue
    // The event object and the schemas it includes by allOf: their properties and required lists.
    const parts: Schema[] = [def]
    let ok = true
    for (const a of (def.allOf ?? []) as unknown[]) {
      const r = resolve(a)
      if (!r || r.type !== 'object' || !onlyKeys(r, new Set(['type', 'properties', 'required', 'description']))) ok = false
      else parts.push(r)
    }
    if (!ok) continue
    const props = (p: Schema): Record<string, unknown> => (p.properties ?? {}) as Record<string, unknown>
    const at = (k: string): unknown[] => parts.map((p) => props(p)[k]).filter((x) => x !== undefined)
    // Envelope values the fast path produces: ts 0, u32 pid/tid, u16 cpu, the provider and event names.
    const all = (k: string, f: (s: unknown) => boolean): boolean => at(k).every(f)
    const strOk = (k: string, v: string): boolean =>
      all(k, (s) => {
        const c = accStr(s)
        return c === true || (c !== null && c(v))
      })
    if (
      !all('ts', (s) => accInt(s, 0, 0)) ||
      !all('pid', (s) => accInt(s, 0, 0xffffffff)) ||
      !all('tid', (s) => accInt(s, 1, 0xffffffff)) ||
      !all('cpu', (s) => accInt(s, 0, 0xffff)) ||
      !strOk('provider', 'WSD.SanSpi') ||
      !strOk('provider', 'WSD.SwitchShim') ||
      !strOk('event', name)
    )
      continue
    const required = new Set<string>()
    for (const p of parts) for (const r of (p.required ?? []) as string[]) if (!ENVELOPE.has(r)) required.add(r)
    out.set(name, {field: at, required: [...required]})
  }
  return out
}

// ------------------------------------------------------------------------------ code generation

/**
 * Helpers the compiled decoders call. Handle strings repeat (sockets, OVERLAPPEDs, events):
 * a direct-mapped cache keyed by the value's two 32-bit halves (no Map hashing of doubles).
 */
const HSLOTS = 8192
const hLo = new Int32Array(HSLOTS)
const hHi = new Int32Array(HSLOTS)
const hStr: Array<string | undefined> = new Array<string | undefined>(HSLOTS).fill(undefined)

/** Canonical hex of the unsigned 64-bit value hi·2^32 + lo (hi, lo unsigned 32-bit). */
function hx64(hi: number, lo: number): string {
  const slot = (Math.imul(lo ^ Math.imul(hi, 0x27d4eb2f), 0x9e3779b1) >>> 19) & (HSLOTS - 1)
  const c = hStr[slot]
  if (c !== undefined && hLo[slot] === (lo | 0) && hHi[slot] === (hi | 0)) return c
  const s = hi === 0 ? '0x' + lo.toString(16) : '0x' + hi.toString(16) + lo.toString(16).padStart(8, '0')
  hLo[slot] = lo
  hHi[slot] = hi
  hStr[slot] = s
  return s
}
function hx(v: number): string {
  return hx64(0, v)
}

const HEX = '0123456789abcdef'
function hexb(b: Uint8Array, s: number, n: number): string {
  let out = ''
  for (let i = s; i < s + n; i++) out += HEX[b[i] >>> 4] + HEX[b[i] & 15]
  return out
}
function cachedCheck(c: (s: string) => boolean): (s: string) => boolean {
  const m = new Map<string, boolean>()
  return (s) => {
    let r = m.get(s)
    if (r === undefined) {
      r = c(s)
      if (m.size < 4096) m.set(s, r)
    }
    return r
  }
}

/** `{guid}` strings of the GUIDs at b[p…], cached by their four words (a few distinct values repeat). */
const GSLOTS = 256
const gW = new Int32Array(GSLOTS * 4)
const gStr: Array<string | undefined> = new Array<string | undefined>(GSLOTS).fill(undefined)
function bguid(b: Uint8Array, dv: DataView, p: number): string {
  const a = dv.getInt32(p, true)
  const c = dv.getInt32(p + 4, true)
  const d = dv.getInt32(p + 8, true)
  const e = dv.getInt32(p + 12, true)
  const slot = (Math.imul(a ^ Math.imul(c, 0x85ebca6b) ^ Math.imul(d, 0xc2b2ae35) ^ e, 0x9e3779b1) >>> 24) & (GSLOTS - 1)
  const s = gStr[slot]
  const k = slot * 4
  if (s !== undefined && gW[k] === a && gW[k + 1] === c && gW[k + 2] === d && gW[k + 3] === e) return s
  const r = '{' + formatGuid(b, p) + '}'
  gW[k] = a
  gW[k + 1] = c
  gW[k + 2] = d
  gW[k + 3] = e
  gStr[slot] = r
  return r
}

const H = {hx, hx64, hexb, azf, bguid, rv: tlReadValue, F: TL_FAIL, cur: tlCursor}

const U32 = 0xffffffff
const SAFE = Number.MAX_SAFE_INTEGER

interface Gen {
  lines: string[]
  n: number
  checks: Array<(s: string) => boolean>
  strings: FieldStrings[]
  ptr: number
}

function tmp(g: Gen): string {
  return `t${g.n++}`
}

/** Integer in-types: width and signedness (undefined: not an integer type the fast path reads). */
function intType(inType: number, ptr: number): {w: 8 | 16 | 32 | 64; signed: boolean} | undefined {
  switch (inType) {
    case TL_IN.Int8:
      return {w: 8, signed: true}
    case TL_IN.UInt8:
      return {w: 8, signed: false}
    case TL_IN.Int16:
      return {w: 16, signed: true}
    case TL_IN.UInt16:
      return {w: 16, signed: false}
    case TL_IN.Int32:
    case TL_IN.Bool32:
      return {w: 32, signed: true}
    case TL_IN.UInt32:
    case TL_IN.HexInt32:
      return {w: 32, signed: false}
    case TL_IN.Int64:
      return {w: 64, signed: true}
    case TL_IN.UInt64:
    case TL_IN.HexInt64:
      return {w: 64, signed: false}
    case TL_IN.Pointer:
      return {w: ptr === 4 ? 32 : 64, signed: false}
  }
  return undefined
}

/**
 * Emits the read of an integer; returns expressions for its value. For 64-bit types `lo`/`hi`
 * are the unsigned halves and `v` the exact value (the emitted code bails out past 2^53).
 */
function readInt(g: Gen, t: {w: number; signed: boolean}, wantValue: boolean): {v: string; u: string; lo: string; hi: string} {
  const x = tmp(g)
  const L = g.lines
  const n = t.w / 8
  L.push(`if (p + ${n} > end) return;`)
  if (t.w === 8) L.push(`const ${x} = ${t.signed ? '(b[p] << 24) >> 24' : 'b[p]'};`)
  else if (t.w === 16) L.push(`const ${x} = dv.${t.signed ? 'getInt16' : 'getUint16'}(p, true);`)
  else if (t.w === 32) L.push(`const ${x} = dv.${t.signed ? 'getInt32' : 'getUint32'}(p, true);`)
  if (t.w < 64) {
    L.push(`p += ${n};`)
    const mask = t.w === 8 ? '0xff' : t.w === 16 ? '0xffff' : ''
    const u = t.signed ? (t.w === 32 ? `(${x} >>> 0)` : `(${x} & ${mask})`) : x
    return {v: x, u, lo: u, hi: '0'}
  }
  const lo = `${x}l`
  const hi = `${x}h`
  L.push(`const ${lo} = dv.getUint32(p, true), ${hi} = dv.getUint32(p + 4, true); p += 8;`)
  let v = ''
  if (wantValue) {
    v = `${x}v`
    if (t.signed) L.push(`if (${hi} >= 0x200000 && ${hi} <= 0xffe00000) return; const ${v} = (${hi} | 0) * 4294967296 + ${lo};`)
    else L.push(`if (${hi} >= 0x200000) return; const ${v} = ${hi} * 4294967296 + ${lo};`)
  }
  return {v, u: '', lo, hi}
}

/** Value range a numeric emitter can produce (for the compile-time schema check). */
function range(t: {w: number; signed: boolean}, wrap32: boolean): [number, number] {
  if (t.w === 64) return t.signed ? [-(2 ** 53) + 1, SAFE] : [0, SAFE]
  if (t.signed || wrap32) return [-(2 ** (t.w - 1)), 2 ** (t.w - 1) - 1]
  return [0, 2 ** t.w - 1]
}

/** Emits a handle value (canonical hex of the unsigned reinterpretation at the type's width). */
function emitHandle(g: Gen, t: {w: number; signed: boolean}): string {
  const r = readInt(g, t, false)
  if (t.w === 64) return `H.hx64(${r.hi}, ${r.lo})`
  return `H.hx(${r.u})`
}

type NumKind = 'count' | 'rc'

/**
 * Emits a number for count/id/error/result/rc and unknown integer fields. `schemas` constrain it:
 * every value in the produced range must be accepted, or every non-negative one (then negative
 * values bail out). Returns undefined when the schemas don't allow either.
 */
function emitNumber(g: Gen, t: {w: number; signed: boolean}, inType: number, kind: NumKind, schemas: unknown[]): string | undefined {
  // Rc of a UInt32/HexInt32 is reinterpreted as signed (san.ts signed()).
  const wrap32 = kind === 'rc' && (inType === TL_IN.UInt32 || inType === TL_IN.HexInt32)
  let [min, max] = range(t, wrap32)
  // rc of an unsigned 64-bit value: all-ones high word is a small negative number.
  const rc64 = kind === 'rc' && t.w === 64 && !t.signed
  if (rc64) min = -4294967296
  let nonneg = false
  for (const s of schemas) {
    if (accInt(s, min, max)) continue
    if (accInt(s, 0, max)) nonneg = true
    else return undefined
  }
  if (rc64) {
    const r = readInt(g, t, false)
    const x = tmp(g)
    g.lines.push(`let ${x}; if (${r.hi} < 0x200000) ${x} = ${r.hi} * 4294967296 + ${r.lo}; else if (${r.hi} === 0xffffffff) ${x} = ${r.lo} - 4294967296; else return;`)
    if (nonneg) g.lines.push(`if (${x} < 0) return;`)
    return x
  }
  const r = readInt(g, t, true)
  const v = wrap32 ? `(${r.v} | 0)` : r.v
  if (nonneg && min < 0) {
    const x = tmp(g)
    g.lines.push(`const ${x} = ${v}; if (${x} < 0) return;`)
    return x
  }
  return v
}

function emitBool(g: Gen, t: {w: number; signed: boolean}): string {
  const r = readInt(g, t, false)
  return t.w === 64 ? `((${r.lo} | ${r.hi}) !== 0)` : `(${r.v} !== 0)`
}

const STRING_TYPES: ReadonlySet<number> = new Set([TL_IN.UnicodeString, TL_IN.AnsiString, TL_IN.CountedString, TL_IN.CountedAnsiString])

function emitString(g: Gen, f: TlField, schemas: unknown[]): string | undefined {
  const checks: Array<(s: string) => boolean> = []
  for (const s of schemas) {
    const c = accStr(s)
    if (c === null) return undefined
    if (c !== true) checks.push(c)
  }
  const x = tmp(g)
  // AnsiString (the common case) without the generic reader; UTF-8 for the out types it uses.
  const utf8 = f.outType === TL_OUT.Utf8 || f.outType === TL_OUT.Xml || f.outType === TL_OUT.Json
  if (f.inType === TL_IN.AnsiString) {
    // The field's own string table remembers values that passed the checks.
    g.strings.push(newFieldStrings())
    let check = ''
    if (checks.length > 0) {
      g.checks.push(cachedCheck(checks.length === 1 ? checks[0] : (s) => checks.every((c) => c(s))))
      check = `, C[${g.checks.length - 1}]`
    }
    g.lines.push(`const ${x} = H.azf(b, dv, p, end, ${utf8 ? 3 : 2}, Z[${g.strings.length - 1}]${check}); if (${x} === H.F) return; p = H.cur.p;`)
    return x
  }
  g.lines.push(`const ${x} = H.rv(b, dv, p, end, ${g.ptr}, ${f.inType}, ${f.outType}); if (${x} === H.F) return; p = H.cur.p;`)
  for (const c of checks) {
    g.checks.push(cachedCheck(c))
    g.lines.push(`if (!C[${g.checks.length - 1}](${x})) return;`)
  }
  return x
}

/** Counted element arrays: the count (u16 or constant) and the loop. */
function emitCount(g: Gen, f: TlField): string {
  const n = tmp(g)
  if (f.arity === 0x20) g.lines.push(`const ${n} = ${f.ccount};`)
  else g.lines.push(`if (p + 2 > end) return; const ${n} = b[p] | (b[p + 1] << 8); p += 2;`)
  return n
}

/**
 * Emits one top-level field; returns the expression of its normalized value, or undefined when
 * the field makes the layout untrusted.
 */
function emitField(g: Gen, fields: TlField[], i: number, ev: EventSchema): string | undefined {
  const f = fields[i]
  const key = f.key
  const nk = FIELD_KINDS[key]
  const sk = SAN_FIELD_KINDS[key]
  const schemas = ev.field(key)
  const t = intType(f.inType, g.ptr)
  const scalar = f.arity === 0
  const list = f.arity === 0x20 || f.arity === 0x40
  if (f.inType === TL_IN.Struct) {
    // Buffers / RdmaRanges: arrays of {Addr, Len[, Handle]}.
    if (!(nk === 'buffers' && sk === 'buffers' && list)) return undefined
    const members = fields.slice(i + 1, f.end)
    if (members.length !== f.outType || members.length === 0) return undefined
    const names: string[] = members.map((m) => m.key)
    if (new Set(names).size !== names.length || !names.every((n) => n === 'Addr' || n === 'Len' || n === 'Handle')) return undefined
    let max = Infinity
    let memberSchemas: Array<(k: string) => unknown[]> = []
    for (const s of schemas) {
      const a = arrayOf(s)
      const o = a && objectOf(a.items)
      if (!a || !o || !o.required.every((r) => (names as string[]).includes(r))) return undefined
      max = Math.min(max, a.max)
      memberSchemas.push((k) => (o.props[k] === undefined ? [] : [o.props[k]]))
    }
    const n = emitCount(g, f)
    const arr = tmp(g)
    const outer = g.lines
    const body: string[] = (g.lines = [])
    const vals: string[] = []
    for (const m of members) {
      const mt = intType(m.inType, g.ptr)
      if (!mt || m.arity !== 0) return undefined
      const ms = memberSchemas.flatMap((fn) => fn(m.key))
      let v: string | undefined
      if (m.key === 'Len') v = emitNumber(g, mt, m.inType, 'count', ms)
      else {
        if (m.inType === TL_IN.Bool32 || !ms.every(accHex)) return undefined
        v = emitHandle(g, mt)
      }
      if (v === undefined) return undefined
      vals.push(`${JSON.stringify(m.key)}: ${v}`)
    }
    g.lines = outer
    // One element (the common case) as an array literal of its exact size; else pushed.
    const el = `{${vals.join(', ')}}`
    g.lines.push(`if (${n} > ${max === Infinity ? 65536 : max}) return; let ${arr}; if (${n} === 1) {`, ...body, `${arr} = [${el}]; } else { ${arr} = []; for (let k = 0; k < ${n}; k++) {`, ...body, `${arr}.push(${el}); } }`)
    return arr
  }
  if (!scalar && !list) return undefined
  if (nk === 'handle' && sk === 'handle') {
    // Bool32 handles reinterpret negative values at 64 bits (san.ts handle()): slow path.
    if (!t || f.inType === TL_IN.Bool32) return undefined
    if (scalar) return schemas.every(accHex) ? emitHandle(g, t) : undefined
    let max = Infinity
    for (const s of schemas) {
      const a = arrayOf(s)
      if (!a || !accHex(a.items)) return undefined
      max = Math.min(max, a.max)
    }
    const n = emitCount(g, f)
    const arr = tmp(g)
    g.lines.push(`if (${n} > ${max === Infinity ? 65536 : max}) return; const ${arr} = []; for (let k = 0; k < ${n}; k++) {`)
    const v = emitHandle(g, t)
    g.lines.push(`${arr}.push(${v}); }`)
    return arr
  }
  if (nk === 'ints' && sk === 'ints') {
    if (!t || !list || t.w === 64) return undefined
    let max = Infinity
    const items: unknown[] = []
    for (const s of schemas) {
      const a = arrayOf(s)
      if (!a) return undefined
      max = Math.min(max, a.max)
      items.push(a.items)
    }
    const n = emitCount(g, f)
    const arr = tmp(g)
    g.lines.push(`if (${n} > ${max === Infinity ? 65536 : max}) return; const ${arr} = []; for (let k = 0; k < ${n}; k++) {`)
    const v = emitNumber(g, t, f.inType, 'rc', items)
    if (v === undefined) return undefined
    g.lines.push(`${arr}.push(${v}); }`)
    return arr
  }
  if (!scalar) return undefined
  const numeric =
    (nk === 'rc' && sk === 'rc') ||
    ((nk === 'count' || nk === 'id' || nk === 'error' || nk === 'result') && (sk === 'count' || sk === 'id' || sk === 'error')) ||
    (nk === undefined && sk === undefined && schemas.length === 0 && f.outType !== TL_OUT.Boolean && f.outType !== TL_OUT.Hex && f.outType !== TL_OUT.CodePointer && f.inType !== TL_IN.Bool32 && f.inType !== TL_IN.HexInt32 && f.inType !== TL_IN.HexInt64 && f.inType !== TL_IN.Pointer)
  if (numeric && t) return emitNumber(g, t, f.inType, nk === 'rc' ? 'rc' : 'count', schemas)
  if (nk === 'bool' && sk === 'bool' && t) return schemas.every(accBool) ? emitBool(g, t) : undefined
  if (STRING_TYPES.has(f.inType) && ((nk === 'text' && sk === 'text') || (nk === undefined && sk === undefined && schemas.length === 0))) return emitString(g, f, schemas)
  if (nk === 'blob' && sk === 'blob' && (f.inType === TL_IN.Binary || f.inType === TL_IN.CountedBinary)) {
    if (!schemas.every(accBlob)) return undefined
    const n = tmp(g)
    const x = tmp(g)
    g.lines.push(`if (p + 2 > end) return; const ${n} = b[p] | (b[p + 1] << 8); p += 2; if (p + ${n} > end) return; const ${x} = H.hexb(b, p, ${n}); p += ${n};`)
    return x
  }
  if (nk === 'guid' && sk === 'guid' && f.inType === TL_IN.Guid) {
    if (!schemas.every(accGuid)) return undefined
    const x = tmp(g)
    g.lines.push(`if (p + 16 > end) return; const ${x} = H.bguid(b, dv, p); p += 16;`)
    return x
  }
  return undefined
}

function compile(meta: TlEventMeta, ptr: number): SanFastDecoder | null {
  EVENTS ??= loadSchema()
  const ev = EVENTS.get(meta.name)
  if (!ev || meta.error !== undefined) return null
  const fields = meta.fields
  if (fields.length === 0 || fields.length > 200) return null
  const g: Gen = {lines: [], n: 0, checks: [], strings: [], ptr}
  const props: string[] = []
  const keys = new Set<string>()
  for (let i = 0; i < fields.length; i = fields[i].end) {
    const f = fields[i]
    // Envelope names, ProviderId (checked against sanProviders) and odd keys: slow path.
    if (ENVELOPE.has(f.key) || f.key === '__proto__' || f.key === 'ProviderId' || f.key === '__remainder') return null
    const v = emitField(g, fields, i, ev)
    if (v === undefined) return null
    props.push(`${JSON.stringify(f.key)}: ${v}`)
    keys.add(f.key)
  }
  if (!ev.required.every((r) => keys.has(r))) return null
  const body = `return function fast_${meta.name.replace(/[^A-Za-z0-9_]/g, "_")}(b, dv, p, end) {\n${g.lines.join('\n')}\nif (p !== end) return;\nreturn {${props.join(', ')}};\n}`
  return compileBudgeted(() => new Function('H', 'C', 'Z', body)(H, g.checks, g.strings) as SanFastDecoder)
}

/**
 * The first layouts compile on their first use (a trace has a few dozen), so a clean trace needs
 * no schema validation at all; beyond that a layout decodes the slow way a few times before it is
 * compiled (as the payload decoder does), so files with ever-new metadata cost little code
 * generation (which compileBudgeted caps anyway).
 */
const EAGER_LAYOUTS = 256
const COMPILE_AFTER = 4
let compiledLayouts = 0

interface FastSlot {
  uses: number
  dec: [SanFastDecoder | null | undefined, SanFastDecoder | null | undefined]
}

/** The reader hook: the compiled decoder for a SAN event's layout, or null (slow path). */
export function sanFastDecoder(providerName: string | undefined, providerGuid: string, meta: TlEventMeta, pointerSize: number): SanFastDecoder | null {
  if (providerName !== 'WSD.SanSpi' && providerName !== 'WSD.SwitchShim' && SAN_PROVIDER_GUIDS[providerGuid] === undefined) return null
  let s = meta._fast as FastSlot | undefined
  if (s === undefined) {
    s = {uses: 0, dec: [undefined, undefined]}
    meta._fast = s
  }
  const k = pointerSize === 4 ? 0 : 1
  const d = s.dec[k]
  if (d !== undefined) return d
  if (++s.uses < (compiledLayouts < EAGER_LAYOUTS ? 1 : COMPILE_AFTER)) return null
  compiledLayouts++
  let c: SanFastDecoder | null
  try {
    c = compile(meta, pointerSize)
  } catch {
    c = null
  }
  s.dec[k] = c
  return c
}

/** Test hook: whether the layout of `meta` compiled to a fast decoder (for a pointer size). */
export function sanFastCompiled(meta: TlEventMeta, pointerSize = 8): boolean {
  const s = meta._fast as FastSlot | undefined
  return !!s?.dec[pointerSize === 4 ? 0 : 1]
}
