/**
 * santrace.config.json: found in the working directory or given with --config, validated
 * against schemas/config.schema.json. Command-line flags override what it sets.
 */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {newAjv2020, type Ajv2020} from './util/ajv.js'
import type {FailOn} from './analyze.js'
import {RULES} from './rules/index.js'
import type {ProviderCapabilities, Severity} from './rules/types.js'
import {thresholdFlags} from './thresholds.js'
import {parseDuration} from './util/duration.js'
import {SantraceError} from './util/errors.js'
import {schemaPath} from './util/paths.js'

export const CONFIG_FILE = 'santrace.config.json'

export interface Config {
  /** Where it was read from; undefined when there is none. */
  path?: string
  thresholds: Record<string, string>
  /** Rules turned off. */
  disabled: Set<string>
  severity: Record<string, Severity>
  sanProviders?: string[]
  provider: ProviderCapabilities
  failOn?: FailOn
  cancelImpliesAbort?: boolean
}

export class ConfigError extends SantraceError {
  constructor(path: string, pointer: string, message: string) {
    super(`${path}: ${pointer ? `${pointer}: ` : ''}${message}`, 2)
    this.name = 'ConfigError'
  }
}

let validator: ReturnType<Ajv2020['compile']> | undefined

export function emptyConfig(): Config {
  return {thresholds: {}, disabled: new Set(), severity: {}, provider: {}}
}

/** Reads the configuration: `explicit` when given, else santrace.config.json in `cwd` if present. */
export function loadConfig(explicit?: string, cwd = process.cwd()): Config {
  const path = explicit ?? (existsSync(join(cwd, CONFIG_FILE)) ? join(cwd, CONFIG_FILE) : undefined)
  if (!path) return emptyConfig()
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new ConfigError(path, '', code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, expected a JSON file' : `cannot read (${code})`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw new ConfigError(path, '', `not valid JSON: ${(e as Error).message}`)
  }
  return parseConfig(raw, path)
}

export function parseConfig(raw: unknown, path: string): Config {
  if (!validator) {
    const ajv = newAjv2020({allErrors: false, strict: false})
    validator = ajv.compile(JSON.parse(readFileSync(schemaPath('config.schema.json'), 'utf8')))
  }
  if (!validator(raw)) {
    const errs = validator.errors!
    const e = errs.find((x) => x.keyword === 'propertyNames') ?? errs[0]
    let msg = e.message ?? 'invalid'
    if (e.keyword === 'additionalProperties') msg = `unknown key "${(e.params as {additionalProperty: string}).additionalProperty}"`
    else if (e.keyword === 'propertyNames') msg = `"${(e.params as {propertyName: string}).propertyName}" is not a rule id (SANnnn)`
    else if (e.keyword === 'pattern' && e.instancePath.startsWith('/thresholds/')) msg = 'expected a positive duration such as "1500ms" or "2s"'
    else if (e.keyword === 'enum') msg = `expected one of ${(e.params as {allowedValues: unknown[]}).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
    throw new ConfigError(path, e.instancePath || '/', msg)
  }
  const c = raw as {
    thresholds?: Record<string, string>
    rules?: Record<string, string | {enabled?: boolean; severity?: Severity}>
    sanProviders?: string[]
    provider?: ProviderCapabilities
    failOn?: FailOn
    cancelImpliesAbort?: boolean
  }
  const flags = thresholdFlags()
  for (const [k, v] of Object.entries(c.thresholds ?? {})) {
    if (!flags.has(k)) throw new ConfigError(path, `/thresholds/${k}`, `unknown threshold (known: ${[...flags.keys()].join(', ')})`)
    if (parseDuration(v) <= 0) throw new ConfigError(path, `/thresholds/${k}`, 'must be greater than zero')
  }
  const cfg: Config = {...emptyConfig(), path, thresholds: c.thresholds ?? {}, sanProviders: c.sanProviders, provider: c.provider ?? {}, failOn: c.failOn, cancelImpliesAbort: c.cancelImpliesAbort}
  const ids = new Set(RULES.map((r) => r.meta.id))
  for (const [id, v] of Object.entries(c.rules ?? {})) {
    if (!ids.has(id)) throw new ConfigError(path, `/rules/${id}`, `unknown rule (run 'santrace rules' for the list)`)
    if (v === 'off' || (typeof v === 'object' && v.enabled === false)) cfg.disabled.add(id)
    const sev = typeof v === 'string' ? (v === 'off' ? undefined : v) : v.severity
    if (sev) cfg.severity[id] = sev as Severity
  }
  return cfg
}
