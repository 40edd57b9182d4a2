#!/usr/bin/env node
// Part of `npm run build`, after tsc: compiles the trace-event schema's validators once, with
// ajv's standalone code generation, into dist/src/ingest/event-validators.cjs. At run time
// santrace loads them instead of compiling the schema (about 0.8 s per process, paid by every
// command and every --jobs worker). The module records the SHA-256 of the schema text it was
// made from; a schema edited after the build is compiled at run time instead.
import {writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {Ajv2020} from 'ajv/dist/2020.js'
import standaloneCode from 'ajv/dist/standalone/index.js'

const dist = new URL('../dist/src/ingest/', import.meta.url)
const {EVENT_AJV_OPTIONS, PRECOMPILED_MODULE, eventSchemaSource} = await import(new URL('validate.js', dist).href)
const {EVENT_NAMES} = await import(new URL('../model/event.js', dist).href)

const {text, hash} = eventSchemaSource()
const schema = JSON.parse(text)
const ajv = new Ajv2020({...EVENT_AJV_OPTIONS, code: {source: true}})
ajv.addSchema(schema)
const refs = Object.fromEntries(EVENT_NAMES.map((n) => [n, `${schema.$id}#/$defs/${n}`]))
const code = (standaloneCode.default ?? standaloneCode)(ajv, refs)
const out = fileURLToPath(new URL(PRECOMPILED_MODULE, dist))
writeFileSync(out, `${code}\nexports.schemaHash = ${JSON.stringify(hash)};\n`)
