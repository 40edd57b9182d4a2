#!/usr/bin/env node
// Writes the simulator fixtures (fixtures/healthy/, fixtures/sections/) from src/synth/fixtures.ts
// (run `npm run build` first). test/synth/fixtures.test.ts checks the committed files match.
import {mkdirSync, writeFileSync} from 'node:fs'
import {dirname} from 'node:path'
import {FIXTURES, fixtureText} from '../dist/src/synth/fixtures.js'

const root = new URL('../', import.meta.url)
for (const def of FIXTURES) {
  const {trace, sidecar, planted} = fixtureText(def)
  const out = new URL(def.path, root)
  mkdirSync(dirname(out.pathname), {recursive: true})
  writeFileSync(out, trace)
  if (def.sidecar && sidecar) writeFileSync(new URL(def.sidecar, root), sidecar)
  const expected = Object.entries(planted.expected).map(([r, n]) => `${r}×${n}`).join(' ')
  console.log(`wrote ${def.path} (${planted.events} events${expected ? `; expected findings ${expected}` : '; no finding expected'})`)
}
