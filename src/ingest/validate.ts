/** Validation of JSON trace events against schemas/trace-event.schema.json (ajv, JSON Schema 2020-12). */
import {createHash} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {fileURLToPath} from 'node:url'
import {newAjv2020} from '../util/ajv.js'
import type {ErrorObject, ValidateFunction} from 'ajv'
import {schemaPath} from '../util/paths.js'
import {EVENT_KINDS} from '../model/event.js'
import {FIELD_KINDS, type FieldKind} from '../model/fields.js'

const EXPECTED: Record<FieldKind | 'ts', string> = {
  handle: 'a handle: "0x…" hex string or non-negative integer',
  id: 'a non-negative integer',
  rc: 'an integer or "0x…" hex string',
  error: 'an error code: integer or symbolic name such as "WSAEWOULDBLOCK"',
  count: 'a non-negative integer or "0x…" hex string',
  bool: 'a boolean',
  text: 'a string',
  blob: 'a hex string of bytes',
  guid: 'a GUID "{8-4-4-4-12}"',
  ints: 'an array of error codes',
  handles: 'an array of handles',
  buffers: 'an array of {Addr, Len[, Handle]} objects',
  result: 'an integer result',
  ts: 'nanoseconds since trace start (integer) or an RFC 3339 time',
}

export interface ValidationFailure {
  pointer: string
  message: string
}

/** Ajv settings for the event schema, shared by the runtime compiler and the build-time one. */
export const EVENT_AJV_OPTIONS = {
  allErrors: false,
  strict: false,
  // The schema's patterns are ASCII: without the `u` flag V8 runs them about twice as fast.
  unicodeRegExp: false,
} as const

/** The event schema's text and its SHA-256, which ties precompiled validators to it. */
export function eventSchemaSource(): {text: string; hash: string} {
  const text = readFileSync(schemaPath('trace-event.schema.json'), 'utf8')
  return {text, hash: createHash('sha256').update(text).digest('hex')}
}

/** The module `npm run build` writes next to this one (scripts/gen-validators.mjs). */
export const PRECOMPILED_MODULE = 'event-validators.cjs'

type Validators = Map<string, ValidateFunction>

/**
 * The validators compiled at build time, when present beside this module and made from the
 * same schema text; undefined otherwise (running from the TypeScript sources, or a stale build).
 */
export function loadPrecompiled(hash: string, dir: URL = new URL('.', import.meta.url)): Validators | undefined {
  const file = new URL(PRECOMPILED_MODULE, dir)
  if (!existsSync(file)) return undefined
  const mod = createRequire(file)(fileURLToPath(file)) as Record<string, unknown>
  if (mod.schemaHash !== hash) return undefined
  const out: Validators = new Map()
  for (const name of Object.keys(EVENT_KINDS)) {
    const v = mod[name]
    if (typeof v !== 'function') return undefined
    out.set(name, v as ValidateFunction)
  }
  return out
}

/** Compiles one validator per event kind (about 0.8 s, most of it ajv warming up). */
export function compileValidators(schemaText: string): Validators {
  const schema = JSON.parse(schemaText)
  const ajv = newAjv2020(EVENT_AJV_OPTIONS)
  ajv.addSchema(schema)
  const out: Validators = new Map()
  for (const name of Object.keys(EVENT_KINDS)) {
    const v = ajv.getSchema(`${schema.$id}#/$defs/${name}`)
    if (!v) throw new Error(`schema has no definition for ${name}`)
    out.set(name, v)
  }
  return out
}

export class EventValidator {
  private readonly byEvent: Validators
  /** True when the build's precompiled validators are in use. */
  readonly precompiled: boolean

  constructor(opts: {compile?: boolean} = {}) {
    const {text, hash} = eventSchemaSource()
    const pre = opts.compile ? undefined : loadPrecompiled(hash)
    this.precompiled = pre !== undefined
    this.byEvent = pre ?? compileValidators(text)
  }

  /** Undefined when valid; otherwise where and what. */
  validate(raw: unknown): ValidationFailure | undefined {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      return {pointer: '', message: `expected an event object, got ${kindOf(raw)}`}
    }
    const ev = (raw as Record<string, unknown>).event
    if (ev === undefined) return {pointer: '/event', message: 'missing required field "event"'}
    if (typeof ev !== 'string') return {pointer: '/event', message: `expected a string event name, got ${kindOf(ev)}`}
    const v = this.byEvent.get(ev)
    if (!v) return {pointer: '/event', message: `unknown event "${ev}" (expected one of ${Object.keys(EVENT_KINDS).join(', ')})`}
    if (v(raw)) return undefined
    return explain(v.errors ?? [], raw as Record<string, unknown>)
  }
}

function explain(errors: ErrorObject[], raw: Record<string, unknown>): ValidationFailure {
  // Prefer a "required" error, then the deepest path; anyOf wrappers say little on their own.
  const req = errors.find((e) => e.keyword === 'required')
  if (req) {
    const missing = (req.params as {missingProperty: string}).missingProperty
    return {pointer: `${req.instancePath}/${missing}`, message: `missing required field "${missing}"`}
  }
  const e = [...errors].sort((a, b) => b.instancePath.length - a.instancePath.length)[0]
  if (!e) return {pointer: '', message: 'invalid event'}
  const pointer = e.instancePath
  const top = pointer.split('/')[1] ?? ''
  const value = pointer.split('/').slice(1).reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[decodeURIComponent(k.replace(/~1/g, '/').replace(/~0/g, '~'))] : undefined), raw)
  const kind = top === 'ts' ? 'ts' : FIELD_KINDS[top]
  let expected: string
  if (e.keyword === 'enum' || e.keyword === 'const') {
    const allowed = (e.params as {allowedValues?: unknown[]; allowedValue?: unknown}).allowedValues ?? [(e.params as {allowedValue?: unknown}).allowedValue]
    expected = `one of ${allowed.map((x) => JSON.stringify(x)).join(', ')}`
  } else if (kind && pointer.split('/').length === 2) {
    expected = EXPECTED[kind]
  } else {
    expected = e.message ?? 'a valid value'
  }
  return {pointer, message: `expected ${expected.replace(/^must (be )?/, '')}, got ${JSON.stringify(value) ?? 'nothing'}`}
}

function kindOf(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`
}
