export const COMMANDS = {}
