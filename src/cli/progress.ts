/**
 * A progress line on stderr for long runs: bytes read of the total, events per second and
 * time left. Only when stderr is a terminal and not in CI, and only for large inputs; never
 * in pipes or CI logs.
 */
import {statSync} from 'node:fs'
import {formatDuration} from '../util/duration.js'

export const PROGRESS_MIN_BYTES = 32 * 1024 * 1024

export interface ProgressSource {
  bytes(): number
  events(): number
}

export function shouldShowProgress(files: string[], env: NodeJS.ProcessEnv = process.env, isTTY = Boolean(process.stderr.isTTY)): number | undefined {
  if (!isTTY || env.CI || env.SANTRACE_NO_PROGRESS) return undefined
  let total = 0
  for (const f of files) {
    if (f === '-') return undefined
    try {
      total += statSync(f).size
    } catch {
      return undefined
    }
  }
  return total >= PROGRESS_MIN_BYTES ? total : undefined
}

export function progressLine(done: number, total: number, events: number, elapsedMs: number): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0
  const width = 24
  const filled = Math.round(frac * width)
  const mb = (n: number): string => `${(n / 1048576).toFixed(0)} MB`
  const rate = elapsedMs > 0 ? (events * 1000) / elapsedMs : 0
  const left = frac > 0.01 ? ((elapsedMs / frac) * (1 - frac)) * 1e6 : NaN
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${mb(done)}/${mb(total)}  ${rate >= 1e6 ? `${(rate / 1e6).toFixed(2)}M` : `${(rate / 1e3).toFixed(0)}k`} events/s  ${Number.isFinite(left) ? `${formatDuration(left)} left` : ''}`
}

/** Starts the display; the returned function stops it and clears the line. */
export function startProgress(total: number, src: ProgressSource, out: NodeJS.WriteStream = process.stderr): () => void {
  const start = Date.now()
  const timer = setInterval(() => {
    out.write(`\r${progressLine(src.bytes(), total, src.events(), Date.now() - start)}\u001b[K`)
  }, 250)
  timer.unref()
  return () => {
    clearInterval(timer)
    out.write('\r\u001b[K')
  }
}
