/** Errors that end a run with a clear message and no stack trace. */
export class SantraceError extends Error {
  constructor(
    message: string,
    /** Process exit code: 2 for bad usage or unreadable input. */
    readonly exitCode = 2,
  ) {
    super(message)
    this.name = 'SantraceError'
  }
}

/** Bad input: names the file and, where known, the line or byte offset. */
export class InputError extends SantraceError {
  constructor(
    readonly file: string,
    readonly detail: string,
    readonly where?: {line?: number; offset?: number},
  ) {
    super(`${file}${where?.line ? `:${where.line}` : ''}${where?.offset !== undefined ? ` (byte ${where.offset})` : ''}: ${detail}`)
    this.name = 'InputError'
  }
}

export class UsageError extends SantraceError {
  constructor(message: string) {
    super(message, 2)
    this.name = 'UsageError'
  }
}
