import {existsSync} from 'node:fs'
import {dirname, isAbsolute, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

/** The package root, from either src/ (tests) or dist/src/ (built). */
export const packageRoot: string = (() => {
  let d = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'schemas'))) return d
    d = resolve(d, '..')
  }
  throw new Error('santrace: cannot locate the package root (package.json with schemas/)')
})()

export function schemaPath(name: string): string {
  return join(packageRoot, 'schemas', name)
}

/** The bundled demo trace, relative to the working directory when it lies below it. */
export const demoTracePath = (): string => {
  const abs = join(packageRoot, 'fixtures', 'demo', 'demo.jsonl')
  const rel = relative(process.cwd(), abs)
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs
}
