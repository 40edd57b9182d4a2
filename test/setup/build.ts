// Builds dist/ once before the suite (as `npm run build` does), so the command-line tests run the real binary.
import {execFileSync} from 'node:child_process'
import {existsSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  const marker = join(root, 'dist', 'commands', 'index.js')
  if (process.env.SANTRACE_SKIP_BUILD && existsSync(marker)) return
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  try {
    execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], {stdio: 'pipe'})
  } catch (e) {
    // Type errors still emit JavaScript; `npm test` runs tsc on its own first and fails on them.
    if (!existsSync(marker) || statSync(marker).size === 0) throw e
  }
  // The event validators precompiled from the schema (without them the CLI compiles it at run time).
  execFileSync(process.execPath, [join(root, 'scripts', 'gen-validators.mjs')], {stdio: 'pipe'})
}
