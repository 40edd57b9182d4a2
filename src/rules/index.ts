/** The rule registry, in catalogue order. */
import {SAN001} from './san001.js'
import {SAN012} from './san012.js'
import {SAN013} from './san013.js'
import {SAN024} from './san024.js'
import {SAN029} from './san029.js'
import {SAN030} from './san030.js'
import {SAN031} from './san031.js'
import {SAN032} from './san032.js'
import {SAN033} from './san033.js'
import {SAN034} from './san034.js'
import {SAN035} from './san035.js'
import {SAN036} from './san036.js'
import {CONNECTION_RULES} from './connection/index.js'
import {CONTRACT_RULES} from './contract/index.js'
import {DATAPATH_RULES} from './datapath/index.js'
import type {RuleModule} from './types.js'

/** Every rule of the catalogue, SAN001–SAN040, in id order. */
export const RULES: readonly RuleModule[] = [
  SAN001,
  ...CONTRACT_RULES,
  SAN012,
  SAN013,
  ...CONNECTION_RULES,
  SAN024,
  ...DATAPATH_RULES.filter((r) => r.meta.id < 'SAN029'),
  SAN029,
  SAN030,
  SAN031,
  SAN032,
  SAN033,
  SAN034,
  SAN035,
  SAN036,
  ...DATAPATH_RULES.filter((r) => r.meta.id > 'SAN036'),
]

export function findRule(id: string): RuleModule | undefined {
  const want = id.toUpperCase()
  return RULES.find((r) => r.meta.id === want)
}

export type {RuleModule} from './types.js'
