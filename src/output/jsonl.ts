/** One finding per line, for jq and streaming consumers. */
import type {Report} from '../analyze.js'

export function renderJsonl(r: Report): string {
  return r.findings.map((f) => JSON.stringify(f)).join('\n') + (r.findings.length ? '\n' : '')
}
