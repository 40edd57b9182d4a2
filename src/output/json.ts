/** The `--json` document: the whole report, one JSON object. */
import type {Report} from '../analyze.js'

export function renderJson(r: Report): string {
  return JSON.stringify(r, null, 2) + '\n'
}
