/**
 * Ajv, loaded when first needed: the event validators come precompiled from the build, and
 * configuration files are optional, so most runs never load ajv's hundred modules (~0.1 s).
 */
import {createRequire} from 'node:module'
import type {Options} from 'ajv'
import type {Ajv2020} from 'ajv/dist/2020.js'

export type {Ajv2020}

let ctor: typeof Ajv2020 | undefined

export function newAjv2020(opts: Options): Ajv2020 {
  ctor ??= (createRequire(import.meta.url)('ajv/dist/2020.js') as {Ajv2020: typeof Ajv2020}).Ajv2020
  return new ctor(opts)
}
