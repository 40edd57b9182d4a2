import Analyze from './analyze.js'

export const COMMANDS = {
  analyze: Analyze,
}
