/** Runs the built CLI out of process, as a user or a CI job does. */
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

export const root = fileURLToPath(new URL('../..', import.meta.url))

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

export function cli(args: string[], opts: {env?: Record<string, string | undefined>; input?: string; cwd?: string} = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = {...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, ...opts.env}
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k]
    const child = spawn(process.execPath, [`${root}/bin/run.js`, ...args], {cwd: opts.cwd ?? root, env: env as NodeJS.ProcessEnv})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({code, stdout, stderr}))
    if (opts.input !== undefined) child.stdin.end(opts.input)
    else child.stdin.end()
  })
}

/** 1-based line of the first demo-trace event whose JSON text contains every fragment. */
export function demoLine(...fragments: string[]): number {
  const lines = readFileSync(`${root}/fixtures/demo/demo.jsonl`, 'utf8').split('\n')
  const i = lines.findIndex((l) => fragments.every((f) => l.includes(f)))
  if (i < 0) throw new Error(`no demo event with ${fragments.join(', ')}`)
  return i + 1
}

export const demoEventCount = (): number => readFileSync(`${root}/fixtures/demo/demo.jsonl`, 'utf8').trim().split('\n').length
