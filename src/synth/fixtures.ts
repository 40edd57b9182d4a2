/**
 * The committed simulator fixtures (scripts/make-fixtures.mjs writes them; a test checks the
 * committed files equal this code's output):
 *   - fixtures/healthy/healthy.jsonl: healthy traffic of three processes — connects, accepts,
 *     registrations, sends and receives in both notification modes, RDMA writes and reads, a
 *     duplication, switch-side cancels and an abort, orderly closes — with no finding at all;
 *   - fixtures/sections/<letter>-<name>.jsonl, one per catalogue section A–I: healthy traffic
 *     with planted violations of that section's rules, and beside it the sidecar
 *     <letter>-<name>.planted.json listing them and the exact findings expected.
 */
import {SECTIONS} from './planters.js'
import {type PlantedSidecar, type SynthOptions, synthJsonl} from './sim.js'

export interface FixtureDef {
  /** Trace path, relative to the package root. */
  path: string
  /** Sidecar path, relative to the package root (section fixtures). */
  sidecar?: string
  /** Catalogue section letter (section fixtures). */
  section?: string
  options: SynthOptions
}

export const FIXTURES: readonly FixtureDef[] = [
  {path: 'fixtures/healthy/healthy.jsonl', options: {seed: 'healthy', events: 1200, processes: 3, sockets: 3}},
  ...SECTIONS.map((s) => {
    const base = `fixtures/sections/${s.letter}-${s.name}`
    // Sections with few rules plant two of each, so a fixture shows more than one instance.
    const n = s.rules.length <= 2 ? 2 : 1
    return {
      path: `${base}.jsonl`,
      sidecar: `${base}.planted.json`,
      section: s.letter,
      options: {seed: `section-${s.letter}`, events: 500, processes: 3, sockets: 2, inject: Object.fromEntries(s.rules.map((r) => [r, n]))},
    }
  }),
]

/** The text of a fixture's trace and, for section fixtures, of its sidecar. */
export function fixtureText(def: FixtureDef): {trace: string; sidecar?: string; planted: PlantedSidecar} {
  const {text, summary} = synthJsonl(def.options)
  const planted: PlantedSidecar = {...summary.sidecar, trace: def.path.split('/').pop()!}
  return {trace: text, sidecar: def.sidecar ? JSON.stringify(planted, null, 2) + '\n' : undefined, planted}
}
