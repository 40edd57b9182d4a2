#!/usr/bin/env node
// Writes fixtures/demo/demo.jsonl from src/synth/demo.ts (run `npm run build` first).
import {writeFileSync} from 'node:fs'
import {demoJsonl} from '../dist/src/synth/demo.js'

writeFileSync(new URL('../fixtures/demo/demo.jsonl', import.meta.url), demoJsonl())
console.log('wrote fixtures/demo/demo.jsonl')
