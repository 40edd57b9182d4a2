/**
 * Field kinds of the trace vocabulary (trace-format.md, "TraceLogging field types") and
 * their normalization from the JSON encodings to one canonical value.
 */
import {CONDITION_RESULTS, ERROR_CODES, errorName} from './constants.js'
import type {Ev, Value} from './event.js'

export type FieldKind = 'handle' | 'id' | 'rc' | 'error' | 'count' | 'bool' | 'text' | 'blob' | 'guid' | 'ints' | 'handles' | 'buffers' | 'result'

export const FIELD_KINDS: Readonly<Record<string, FieldKind>> = {
  ...Object.fromEntries(
    [
      'Socket', 'SwitchSocket', 'NewSwitchSocket', 'ListenSocket', 'Overlapped', 'HEvent', 'EventHandle',
      'CompletionRoutine', 'ThreadIdPtr', 'RegAddr', 'MemHandle', 'BufAddr', 'AppSocket', 'SanSocket', 'Context',
      'CacheAddr', 'ProviderReserved', 'ProviderReservedOut',
    ].map((k) => [k, 'handle' as const]),
  ),
  Seq: 'id',
  AppReqId: 'id',
  Rc: 'rc',
  ...Object.fromEntries(['Errno', 'DwError', 'Error', 'Status'].map((k) => [k, 'error' as const])),
  ...Object.fromEntries(
    [
      'Flags', 'FlagsOut', 'NetworkEvents', 'NetworkEventsOut', 'BufferCount', 'TotalLen', 'BytesOut', 'CbTransferred',
      'Bytes', 'RegLen', 'MemFlags', 'Backlog', 'Af', 'Type', 'Protocol', 'FdBit', 'Version', 'IoctlCode', 'InLen',
      'OutLen', 'OptLevel', 'OptName', 'OptLen', 'OptValue', 'TargetPid', 'TargetOffset', 'TargetDescriptorLen',
      'DescriptorLenIn', 'DescriptorLenOut', 'AddrCount', 'CatalogEntryId', 'CacheSize', 'BufLen',
    ].map((k) => [k, 'count' as const]),
  ),
  Result: 'result',
  ...Object.fromEntries(['Blocking', 'Notified', 'FWait'].map((k) => [k, 'bool' as const])),
  ...Object.fromEntries(
    ['Fn', 'Up', 'Kind', 'Reason', 'Addr', 'CallerAddr', 'CalleeAddr', 'Dest', 'Old', 'New'].map((k) => [k, 'text' as const]),
  ),
  TargetDescriptor: 'blob',
  DescriptorOut: 'blob',
  IoctlGuid: 'guid',
  ErrorCodes: 'ints',
  Buffers: 'buffers',
  RdmaRanges: 'buffers',
}

/** `0x` then 1–16 lowercase hex digits without a leading zero (or exactly `0x0`): already canonical. */
function isCanonicalHex(v: string): boolean {
  const n = v.length
  if (n < 3 || n > 18 || v.charCodeAt(0) !== 48 || v.charCodeAt(1) !== 120) return false
  if (v.charCodeAt(2) === 48) return n === 3
  for (let i = 2; i < n; i++) {
    const c = v.charCodeAt(i)
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false
  }
  return true
}

/** Canonical handle: lowercase hex without leading zeros, `0x0` for null. */
export function toHandle(v: unknown): string | undefined {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return undefined
    if (v < 0) return '0x' + (BigInt.asUintN(64, BigInt(v))).toString(16)
    return '0x' + v.toString(16)
  }
  if (typeof v === 'bigint') return '0x' + BigInt.asUintN(64, v).toString(16)
  if (typeof v === 'string') {
    if (isCanonicalHex(v)) return v
    const m = /^0[xX]([0-9a-fA-F]{1,16})$/.exec(v)
    if (m) {
      const t = m[1].replace(/^0+(?=.)/, '').toLowerCase()
      return '0x' + t
    }
    if (/^\d+$/.test(v)) return '0x' + BigInt(v).toString(16)
  }
  return undefined
}

/** Integer from a number, a `0x…` string or a decimal string. */
export function toInt(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined
  if (typeof v === 'boolean') return v ? 1 : 0
  if (typeof v === 'string') {
    if (/^0[xX][0-9a-fA-F]{1,16}$/.test(v)) return Number(BigInt(v))
    if (/^-?\d+$/.test(v)) return Number(v)
  }
  return undefined
}

/** Error code from an integer or a symbolic name. */
export function toError(v: unknown): number | undefined {
  if (typeof v === 'string' && Object.hasOwn(ERROR_CODES, v)) return ERROR_CODES[v]
  const n = toInt(v)
  // HexInt32/UInt32 forms of negative codes are not expected; keep 32-bit values as written.
  return n
}

/** Rc: a signed integer. Handle-valued returns given as hex keep their numeric value; all-ones is -1. */
export function toRc(v: unknown): number | undefined {
  if (typeof v === 'string' && /^0[xX]f{16}$/i.test(v)) return -1
  if (typeof v === 'string' && /^0[xX]f{8}$/i.test(v)) return -1
  return toInt(v)
}

function normalizeOne(kind: FieldKind | undefined, v: unknown): Value {
  switch (kind) {
    case 'handle':
      if (Array.isArray(v)) return v.map((x) => toHandle(x) ?? (x as Value))
      return toHandle(v) ?? (v as Value)
    case 'id':
    case 'count':
      return toInt(v) ?? (v as Value)
    case 'rc':
      return toRc(v) ?? (v as Value)
    case 'error':
      return toError(v) ?? (v as Value)
    case 'result':
      if (typeof v === 'string' && Object.hasOwn(CONDITION_RESULTS, v)) return CONDITION_RESULTS[v]
      return toError(v) ?? (v as Value)
    case 'bool':
      return typeof v === 'number' ? v !== 0 : (v as Value)
    case 'blob':
      return typeof v === 'string' ? v.replace(/^0x/i, '').toLowerCase() : (v as Value)
    case 'guid':
      return typeof v === 'string' ? v.toLowerCase() : (v as Value)
    case 'ints':
      return Array.isArray(v) ? v.map((x) => toError(x) ?? (x as Value)) : (v as Value)
    case 'buffers':
      return Array.isArray(v)
        ? v.map((b) => {
            if (!b || typeof b !== 'object') return b as Value
            const o: Record<string, Value> = {}
            for (const [k, x] of Object.entries(b as Record<string, unknown>)) {
              o[k] = k === 'Addr' || k === 'Handle' ? (toHandle(x) ?? (x as Value)) : k === 'Len' ? (toInt(x) ?? (x as Value)) : (x as Value)
            }
            return o
          })
        : (v as Value)
    default:
      return v as Value
  }
}

const ENVELOPE = new Set(['ts', 'pid', 'tid', 'cpu', 'provider', 'event'])

/** Normalizes the payload fields of a validated raw event object (envelope excluded). */
export function normalizeFields(raw: Record<string, unknown>): Record<string, Value> {
  const out: Record<string, Value> = {}
  for (const k in raw) {
    if (ENVELOPE.has(k)) continue
    const v = raw[k]
    const kind = FIELD_KINDS[k]
    // Fast paths for the common, already-normal values.
    if (kind === 'count' || kind === 'id' || kind === 'rc' || kind === 'error') {
      if (typeof v === 'number') {
        out[k] = v
        continue
      }
    } else if (kind === 'text' || kind === undefined) {
      out[k] = v as Value
      continue
    } else if (kind === 'handle' && typeof v === 'string' && isCanonicalHex(v)) {
      out[k] = v
      continue
    }
    out[k] = normalizeOne(kind, v)
  }
  return out
}

/** Renders a normalized value for humans, naming error codes. */
export function renderField(name: string, v: Value): string {
  const kind = FIELD_KINDS[name]
  if (kind === 'error' && typeof v === 'number') return v === 0 ? '0' : errorName(v)
  if (kind === 'count' && typeof v === 'number' && /Flags|Events|Ioctl|Code/.test(name) && v > 9) return `0x${v.toString(16)}`
  return renderValue(v)
}

function renderValue(v: Value): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return `[${v.map(renderValue).join(',')}]`
  if (typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}:${renderValue(x)}`).join(',')}}`
  return String(v)
}

/** A one-line rendering of an event for evidence listings: `WSPConnect Socket=0x2a0 Addr=10.0.0.2:80`. */
const HANDLE_RETURNS = new Set(['WSPSocket', 'WSPAccept', 'WSPRegisterMemory'])

export function describe(ev: Ev): string {
  const parts: string[] = []
  for (const k in ev.f) {
    if (k === 'Fn' || k === 'Up' || k === 'Seq') continue
    const v = ev.f[k]
    if (k === 'Rc' && ev.kind === 'ret' && HANDLE_RETURNS.has(ev.fn) && typeof v === 'number' && v > 0) parts.push(`Rc=${toHandle(v)}`)
    else parts.push(`${k}=${renderField(k, v)}`)
  }
  const returned = ev.kind === 'ret' || ev.kind === 'upret' || ev.kind === 'cbret'
  const head = returned ? `${ev.fn} returned` : ev.kind === 'call' || ev.kind === 'up' || ev.kind === 'cb' ? ev.fn : ev.event
  return parts.length ? `${head} ${parts.join(' ')}` : head
}
