/**
 * Colour is decided once per run: --color/--no-color, then NO_COLOR, then FORCE_COLOR, then
 * whether stdout is a terminal. chalk 5 does not read NO_COLOR and cli-table3 colours even
 * pipes, so every renderer takes this decision instead of its own.
 */
import {Chalk, type ChalkInstance} from 'chalk'

export function useColor(flag: boolean | undefined, env: NodeJS.ProcessEnv = process.env, isTTY = Boolean(process.stdout.isTTY)): boolean {
  if (flag !== undefined) return flag
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false'
  return isTTY
}

export function makeChalk(color: boolean): ChalkInstance {
  return new Chalk({level: color ? 2 : 0})
}

/** cli-table3 style options: no colours unless the run is coloured. */
export function tableStyle(color: boolean, compact = false): {head: string[]; border: string[]; compact: boolean} {
  return color ? {head: ['bold'], border: ['grey'], compact} : {head: [], border: [], compact}
}
