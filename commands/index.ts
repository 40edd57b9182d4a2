import Analyze from './analyze.js'
import Rules from './rules.js'
import Timeline from './timeline.js'

export const COMMANDS = {
  analyze: Analyze,
  rules: Rules,
  timeline: Timeline,
}
