/** Data path and completion (SAN025–SAN028), duplication (SAN037, SAN038), options and session (SAN039, SAN040). */
import type {RuleModule} from '../types.js'
import {SAN025} from './san025.js'
import {SAN026} from './san026.js'
import {SAN027} from './san027.js'
import {SAN028} from './san028.js'
import {SAN037} from './san037.js'
import {SAN038} from './san038.js'
import {SAN039} from './san039.js'
import {SAN040} from './san040.js'

export const DATAPATH_RULES: RuleModule[] = [SAN025, SAN026, SAN027, SAN028, SAN037, SAN038, SAN039, SAN040]

export {SAN025, SAN026, SAN027, SAN028, SAN037, SAN038, SAN039, SAN040}
