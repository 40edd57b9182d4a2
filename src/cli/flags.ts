/** Flags shared by commands, and the threshold flags generated from the rule metadata. */
import {Flags} from '@oclif/core'
import {thresholdFlags} from '../thresholds.js'

export const colorFlag = Flags.boolean({
  allowNo: true,
  description: 'colour the output (default: when stdout is a terminal; NO_COLOR and FORCE_COLOR are honoured)',
})

import type {OptionFlag} from '@oclif/core/interfaces'

type StringFlag = OptionFlag<string | undefined>

export const configFlag = Flags.string({
  description: 'configuration file (default: ./santrace.config.json when present)',
  helpValue: 'FILE',
})

export function thresholdFlagDefs(): Record<string, StringFlag> {
  const out: Record<string, StringFlag> = {}
  for (const t of thresholdFlags().values()) {
    out[t.flag] = Flags.string({
      description: `${t.description} (${t.rules.join(', ')}; default ${t.default})`,
      helpGroup: 'THRESHOLDS',
      helpValue: 'DURATION',
    })
  }
  return out
}

export function thresholdValues(flags: Record<string, unknown>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {}
  for (const t of thresholdFlags().values()) out[t.flag] = flags[t.flag] as string | undefined
  return out
}

export const EXIT_CODES_HELP = `EXIT CODES
  0  no finding at or above --fail-on
  1  findings at or above --fail-on
  2  bad usage or unreadable input`
