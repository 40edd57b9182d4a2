#!/usr/bin/env node
// Writes docs/rules.md from the rule metadata (run `npm run build` first).
import {mkdirSync, writeFileSync} from 'node:fs'
import {RULES} from '../dist/src/rules/index.js'
import {rulesMarkdown} from '../dist/src/output/rules-md.js'

mkdirSync(new URL('../docs', import.meta.url), {recursive: true})
writeFileSync(new URL('../docs/rules.md', import.meta.url), rulesMarkdown(RULES))
console.log('wrote docs/rules.md')
