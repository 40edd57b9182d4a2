// Locating the shared reference material (ETL corpus, SARIF schema) for tests.
// Found through $SANTRACE_CORPUS / $SANTRACE_SHARED, or ../shared next to the checkout.
// Absent: tests skip and say so; under CI=true absence is a failure.
import {existsSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

export function sharedDir(): string | undefined {
  const candidates = [process.env.SANTRACE_SHARED, join(repoRoot, '..', 'shared')].filter(Boolean) as string[]
  return candidates.find((d) => existsSync(d))
}

export function corpusDir(): string | undefined {
  if (process.env.SANTRACE_CORPUS) return existsSync(process.env.SANTRACE_CORPUS) ? process.env.SANTRACE_CORPUS : undefined
  const s = sharedDir()
  const d = s && join(s, 'corpus', 'etl')
  return d && existsSync(d) ? d : undefined
}

export function sarifSchemaPath(): string | undefined {
  const s = sharedDir()
  const p = s && join(s, 'schemas', 'sarif-schema-2.1.0.json')
  return p && existsSync(p) ? p : undefined
}

/**
 * Returns the path, or undefined after announcing the skip. Under CI=true a missing
 * resource throws, so the suite fails instead of silently skipping.
 */
export function requireShared(what: string, path: string | undefined): string | undefined {
  if (path) return path
  const msg = `${what} not found (set SANTRACE_SHARED or SANTRACE_CORPUS, or place ../shared next to the checkout)`
  if (process.env.CI === 'true') throw new Error(`${msg}; required under CI=true`)
  console.warn(`skipping: ${msg}`)
  return undefined
}

export {repoRoot}
