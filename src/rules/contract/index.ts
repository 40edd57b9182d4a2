/** Contract-wide rules (SAN002–SAN006) and socket creation and handles (SAN007–SAN011). */
import type {RuleModule} from '../types.js'
import {SAN002} from './san002.js'
import {SAN003} from './san003.js'
import {SAN004} from './san004.js'
import {SAN005} from './san005.js'
import {SAN006} from './san006.js'
import {SAN007} from './san007.js'
import {SAN008} from './san008.js'
import {SAN009} from './san009.js'
import {SAN010} from './san010.js'
import {SAN011} from './san011.js'

export const CONTRACT_RULES: RuleModule[] = [SAN002, SAN003, SAN004, SAN005, SAN006, SAN007, SAN008, SAN009, SAN010, SAN011]

export {SAN002, SAN003, SAN004, SAN005, SAN006, SAN007, SAN008, SAN009, SAN010, SAN011}
