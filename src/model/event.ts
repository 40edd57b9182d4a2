/** The normalized event every input container maps to (wsd-rules.md §1.0). */

export type EvKind =
  | 'call'
  | 'ret'
  | 'up'
  | 'upret'
  | 'cb'
  | 'cbret'
  | 'sig'
  | 'reset'
  | 'prov'
  | 'app'
  | 'sw'
  | 'tcp'

/** Trace event name → normalized kind and, for events without an Fn/Up, the fixed name. */
export const EVENT_KINDS: Readonly<Record<string, {kind: EvKind; name?: string}>> = {
  SpiCall: {kind: 'call'},
  SpiReturn: {kind: 'ret'},
  Upcall: {kind: 'up'},
  UpcallReturn: {kind: 'upret'},
  ConditionCall: {kind: 'cb', name: 'Condition'},
  ConditionReturn: {kind: 'cbret', name: 'Condition'},
  NetEventSignal: {kind: 'sig', name: 'NetEvent'},
  NetEventReset: {kind: 'reset', name: 'NetEvent'},
  OpDone: {kind: 'prov', name: 'OpDone'},
  ConnState: {kind: 'prov', name: 'ConnState'},
  AppRequest: {kind: 'app', name: 'Request'},
  AppCancel: {kind: 'app', name: 'Cancel'},
  AppComplete: {kind: 'app', name: 'Complete'},
  SwitchMap: {kind: 'sw', name: 'Map'},
  SwitchAbort: {kind: 'sw', name: 'Abort'},
  TcpFallback: {kind: 'tcp', name: 'Connect'},
}

export const EVENT_NAMES = Object.keys(EVENT_KINDS)

/** Where an event came from: the file and its line (JSON) or byte offset (.etl). */
export interface Src {
  file: string
  line?: number
  offset?: number
}

/** A normalized field value. Handles are canonical lowercase hex strings (`0x2a0`). */
export type Value = string | number | boolean | null | Value[] | {[k: string]: Value}

export interface Ev {
  /** Global ordinal in analysis order. */
  i: number
  /** Nanoseconds from the analysis origin. */
  ts: number
  pid: number
  tid?: number
  cpu?: number
  provider: string
  /** Trace event name, e.g. `SpiCall`. */
  event: string
  kind: EvKind
  /** SPI function, upcall name, or the fixed name of the event kind. */
  fn: string
  /** Dispatch key: `call:WSPConnect`, `up:WPUCloseSocketHandle`, `app:Cancel`, … */
  key: string
  seq?: number
  /** Normalized payload fields, named as in the trace format. */
  f: Record<string, Value>
  src: Src
}

export function num(v: Value | undefined): number | undefined {
  return typeof v === 'number' ? v : undefined
}

export function str(v: Value | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined
}

/** True for a present, non-null handle. */
export function isNonNull(h: Value | undefined): boolean {
  return typeof h === 'string' && h !== '0x0'
}
