/** What every santrace command shares: clean errors (no stack traces) and exit code 2 for bad input. */
import {Command, Errors} from '@oclif/core'
import {SantraceError} from '../util/errors.js'

export abstract class BaseCommand extends Command {
  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    if (err instanceof SantraceError) {
      process.stderr.write(`santrace: ${err.message}\n`)
      process.exitCode = err.exitCode
      return undefined
    }
    if (err instanceof Errors.ExitError) throw err
    // oclif's own parse errors (bad flag value, unknown flag) already carry exit code 2.
    if (err.oclif?.exit !== undefined) return super.catch(err)
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EPIPE') return undefined
    process.stderr.write(`santrace: internal error: ${err.message}\n${process.env.DEBUG ? `${err.stack}\n` : 'Set DEBUG=1 for the stack trace, and please report it.\n'}`)
    process.exitCode = 2
    return undefined
  }
}

/** Writes text to stdout and waits until it is flushed (large reports in pipes). */
export function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve()
    else process.stdout.once('drain', () => resolve())
  })
}
