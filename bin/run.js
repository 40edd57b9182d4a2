#!/usr/bin/env node
// Starts the CLI under its heap budget (src/cli/heap.ts): once more in a child Node with heap
// flags, unless Node already has them, then runs the oclif commands.
import {fileURLToPath} from 'node:url'
import {planHeap, relaunch} from '../dist/src/cli/heap.js'

let plan
try {
  plan = planHeap(process.env, process.execArgv)
} catch (e) {
  process.stderr.write(`santrace: ${e.message}\n`)
  process.exit(2)
}
if (plan.relaunch) {
  process.exitCode = await relaunch(fileURLToPath(import.meta.url), plan, process.argv.slice(2))
} else {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
