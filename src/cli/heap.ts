/**
 * The CLI's memory budget. V8 sizes its heap from its limit: with the default limit (a
 * quarter of the machine's memory, capped at 4 GB) it lets the old generation grow to about
 * four times what is live before collecting, so a long analysis whose live state is flat
 * still reaches several hundred MB of RSS. A limit under 2 GB makes V8 collect at about 1.3
 * to 1.8 times what is live instead. Heap limits can only be given when Node starts, so
 * `bin/run.js` starts the CLI again in a child process with them, unless the user already
 * chose (NODE_OPTIONS or node flags) or turned the budget off (SANTRACE_MAX_HEAP=0).
 */
import {spawn} from 'node:child_process'
import {constants} from 'node:os'

/** Old-generation limit in MB when SANTRACE_MAX_HEAP does not say otherwise. */
export const DEFAULT_HEAP_MB = 1024
/** Young-generation semi-space in MB: half of Node's default, for a smaller resident set. */
export const SEMI_SPACE_MB = 8
const RELAUNCHED = 'SANTRACE_HEAP_CHILD'

export type HeapPlan = {relaunch: true; flags: string[]; budgetMb: number} | {relaunch: false; why: string}

/** What `bin/run.js` should do, given the environment and the flags Node was started with. */
export function planHeap(env: NodeJS.ProcessEnv, execArgv: readonly string[]): HeapPlan {
  // The budget is checked first, so a bad value is reported however Node was started.
  const raw = env.SANTRACE_MAX_HEAP?.trim()
  let budgetMb = DEFAULT_HEAP_MB
  if (raw !== undefined && raw !== '') {
    if (!/^\d+$/.test(raw)) throw new Error(`SANTRACE_MAX_HEAP: expected a number of MB (e.g. 2048), or 0 for Node's own limit; got "${raw}"`)
    budgetMb = Number(raw)
    if (budgetMb !== 0 && budgetMb < 64) throw new Error(`SANTRACE_MAX_HEAP: at least 64 (MB), or 0 for Node's own limit; got ${budgetMb}`)
  }
  if (env[RELAUNCHED]) return {relaunch: false, why: 'already the relaunched child'}
  // Node takes its flags with dashes or underscores.
  const chosen = /--max[-_]old[-_]space[-_]size|--max[-_]semi[-_]space[-_]size|--max[-_]heap[-_]size/
  if (execArgv.some((a) => chosen.test(a)) || chosen.test(env.NODE_OPTIONS ?? '')) return {relaunch: false, why: 'heap flags given to Node'}
  // A debugger or profiler must see the process doing the work (and a child would fight the
  // parent for the inspector's port).
  const watched = /--inspect|--cpu-prof|--heap-prof|--prof\b/
  if (execArgv.some((a) => watched.test(a)) || watched.test(env.NODE_OPTIONS ?? '')) return {relaunch: false, why: 'debugger or profiler attached'}
  if (budgetMb === 0) return {relaunch: false, why: 'SANTRACE_MAX_HEAP=0'}
  return {relaunch: true, budgetMb, flags: [`--max-old-space-size=${budgetMb}`, `--max-semi-space-size=${SEMI_SPACE_MB}`]}
}

/** The explanation printed when the child ran out of its heap budget. */
export function outOfMemoryMessage(budgetMb: number): string {
  return (
    `santrace: stopped by an abort, most likely out of memory: the analysis probably needed more than its ${budgetMb} MB heap budget ` +
    '(it holds live sockets, pending operations and findings). ' +
    `Give it more with SANTRACE_MAX_HEAP=${budgetMb * 4} (MB), or SANTRACE_MAX_HEAP=0 for Node's own limit.\n`
  )
}

/**
 * Runs `script` again in a child Node with the plan's flags, forwarding signals, and resolves
 * with the exit code to end with. A child killed by SIGABRT (how V8 ends a process whose heap
 * is exhausted) is explained on stderr.
 */
export function relaunch(script: string, plan: Extract<HeapPlan, {relaunch: true}>, argv: readonly string[], stdio: 'inherit' | 'ignore' = 'inherit'): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...plan.flags, ...process.execArgv, script, ...argv], {
      stdio,
      env: {...process.env, [RELAUNCHED]: '1'},
    })
    // Signals sent to this process (a CI timeout killing it, `kill -INT`) are passed on; a
    // terminal's Ctrl-C reaches both, and the child ends on the first.
    const forward = (sig: NodeJS.Signals): void => {
      child.kill(sig)
    }
    const signals: NodeJS.Signals[] = process.platform === 'win32' ? ['SIGINT', 'SIGBREAK'] : ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']
    for (const s of signals) process.on(s, forward)
    child.on('error', (e) => {
      process.stderr.write(`santrace: cannot start ${process.execPath}: ${e.message}\n`)
      resolve(2)
    })
    child.on('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward)
      // V8 aborts when the heap is exhausted: SIGABRT on POSIX, exit code 134 on Windows.
      if (signal === 'SIGABRT' || (process.platform === 'win32' && code === 134)) {
        process.stderr.write(outOfMemoryMessage(plan.budgetMb))
        resolve(2)
      } else if (signal) {
        // End the same way, so a shell sees the signal (130 for Ctrl-C, and so on).
        process.kill(process.pid, signal)
        resolve(128 + (constants.signals[signal] ?? 1))
      } else resolve(code ?? 0)
    })
  })
}
