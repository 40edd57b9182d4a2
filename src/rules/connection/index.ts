/** Connection and memory-registration rules (catalogue sections C, D and E: SAN014–SAN023). */
import type {RuleModule} from '../types.js'
import {SAN014} from './san014.js'
import {SAN015} from './san015.js'
import {SAN016} from './san016.js'
import {SAN017} from './san017.js'
import {SAN018} from './san018.js'
import {SAN019} from './san019.js'
import {SAN020} from './san020.js'
import {SAN021} from './san021.js'
import {SAN022} from './san022.js'
import {SAN023} from './san023.js'

export const CONNECTION_RULES: RuleModule[] = [SAN014, SAN015, SAN016, SAN017, SAN018, SAN019, SAN020, SAN021, SAN022, SAN023]

export {SAN014, SAN015, SAN016, SAN017, SAN018, SAN019, SAN020, SAN021, SAN022, SAN023}
