/** The `--json` / `--format json` document: the whole report, described by schemas/report.schema.json. */
import type {Report} from '../analyze.js'

export const REPORT_SCHEMA_ID = 'https://github.com/santrace/santrace/schemas/report.schema.json'

export function renderJson(r: Report): string {
  return JSON.stringify({$schema: REPORT_SCHEMA_ID, ...r}, null, 2) + '\n'
}
