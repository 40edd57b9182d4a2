import Analyze from './analyze.js'
import BaselineCreate from './baseline/create.js'
import BaselinePrune from './baseline/prune.js'
import Convert from './convert.js'
import Diff from './diff.js'
import Dump from './dump.js'
import Export from './export.js'
import Report from './report.js'
import Rules from './rules.js'
import Stats from './stats.js'
import Synth from './synth.js'
import Timeline from './timeline.js'

export const COMMANDS = {
  analyze: Analyze,
  'baseline:create': BaselineCreate,
  'baseline:prune': BaselinePrune,
  convert: Convert,
  diff: Diff,
  dump: Dump,
  export: Export,
  report: Report,
  rules: Rules,
  stats: Stats,
  synth: Synth,
  timeline: Timeline,
}
