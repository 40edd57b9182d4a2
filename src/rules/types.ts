/** The rule contract: a module with metadata and an incremental checker (ESLint's meta + create). */
import type {Ev} from '../model/event.js'
import type {Model, Sock, Step} from '../model/state.js'

export type Severity = 'error' | 'warning' | 'info'
export type Fault = 'switch' | 'provider'

export const SEVERITY_RANK: Record<Severity, number> = {info: 1, warning: 2, error: 3}

export interface Threshold {
  /** Command-line flag, without dashes: `connect-call-max`. */
  flag: string
  /** Default as written in the catalogue: `1000ms`. */
  default: string
  description: string
}

export interface RuleDocs {
  /** What the rule checks, in a paragraph. */
  checks: string
  /** What breaks for an application when the contract is broken. */
  why: string
  /** How to fix the switch or the provider. */
  fix: string
  /** A small timeline that violates the rule, one event per line. */
  example: string[]
}

export interface RuleMeta {
  id: string
  title: string
  severity: Severity
  fault: Fault | 'switch/provider'
  /** Catalogue section, e.g. `G. Close and cancel`. */
  section: string
  /** Reference pages (full URLs). */
  refs: string[]
  docs: RuleDocs
  thresholds: Record<string, Threshold>
  /**
   * Event kinds the rule needs: each group is satisfied when any key in it was seen.
   * When a group is unmet the rule is not evaluated, with `why` as the reason.
   */
  needs: Array<{keys: string[]; why: string}>
  /** What an instance of the rule's check is, for "not evaluated: no …" when none occurred. */
  instance: string
}

export interface FindingInput {
  message: string
  severity?: Severity
  fault?: Fault
  /** The socket the finding concerns. */
  sock?: Sock
  pid?: number
  /** Time of the violation; defaults to the last evidence event. */
  ts?: number
  evidence: Array<[role: string, ev: Ev | undefined]>
  measured?: Record<string, number | string>
}

export interface RuleContext {
  readonly model: Model
  /** Thresholds of this rule, in nanoseconds for durations. */
  readonly t: Readonly<Record<string, number>>
  readonly options: Readonly<AnalyzeOptionsForRules>
  report(f: FindingInput): void
  /** Counts one instance of the rule's check (a call judged, a close examined…). */
  checked(n?: number): void
  /** Counts an instance that could not be judged, with the reason (a field absent, the trace ended too early). */
  inconclusive(reason: string): void
  /**
   * Runs `fn` once trace time passes `ts`; if the trace ends first, `unreached` runs instead.
   * The handle cancels it: a timer whose watch is resolved early is forgotten at once, with
   * whatever its callbacks reach.
   */
  at(ts: number, fn: () => void, unreached?: () => void): TimerHandle
  /** Forgets a pending timer (its callbacks never run); true when it was still pending. */
  cancel(t: TimerHandle | undefined): boolean
  /**
   * Gives a pending timer new callbacks, keeping its time and place: when what a timer will do
   * is settled early, the small callbacks that do it replace the ones holding what was watched,
   * which is then forgotten. Whether it fires or is unreached is still decided by its time.
   * True when it was still pending.
   */
  replace(t: TimerHandle | undefined, fn: () => void, unreached?: () => void): boolean
}

/** A pending timer of {@link RuleContext.at}. */
export interface TimerHandle {
  readonly ts: number
}

/** Provider facts a trace cannot show, declared in the configuration file. */
export interface ProviderCapabilities {
  /** The provider advertises XP1_QOS_SUPPORTED. Undefined: unknown. */
  qosSupported?: boolean
  /** SO_MAX_MSG_SIZE of the provider, bytes. */
  maxMsgSize?: number
  /** SO_MAX_RDMA_SIZE of the provider, bytes. */
  maxRdmaSize?: number
}

export interface AnalyzeOptionsForRules {
  cancelImpliesAbort: boolean
  provider: ProviderCapabilities
}

export type Handler = (step: Step) => void

export interface RuleListener {
  /** Handlers by event key (`call:WSPConnect`), by kind (`call:*`), or `*` for every event. */
  [key: string]: Handler | (() => void) | undefined
  /** Called once when the trace ends, after every pending timer was settled. */
  end?: () => void
}

export interface RuleModule {
  meta: RuleMeta
  create(ctx: RuleContext): RuleListener
}

export interface EvidenceItem {
  role: string
  /** The event's ordinal in the analysis (its position in time order across all inputs). */
  index: number
  event: string
  fn: string
  ts: number
  time: string
  tid?: number
  file: string
  line?: number
  offset?: number
  text: string
}

export interface Finding {
  rule: string
  title: string
  severity: Severity
  fault: Fault | 'switch/provider'
  message: string
  pid: number
  socket?: string
  generation?: number
  switchHandle?: string
  /**
   * What the socket is, free of pid, descriptor and handle values (role and addresses):
   * the same connection in another capture has the same identity. Used for fingerprints.
   */
  identity?: string
  ts: number
  time: string
  evidence: EvidenceItem[]
  measured?: Record<string, number | string>
  /** Stable across captures of the same scenario: `<hash16>:<ordinal>`. */
  fingerprint?: string
  /** Set when a baseline was applied: this finding is not in it. */
  baselineState?: 'new'
}

export type RuleStatusKind = 'violated' | 'passed' | 'not-evaluated' | 'disabled'

export interface RuleStatus {
  rule: string
  title: string
  severity: Severity
  status: RuleStatusKind
  findings: number
  checked: number
  inconclusive: number
  /** Why not evaluated, or what was inconclusive. */
  reason?: string
}
