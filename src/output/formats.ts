/** The report formats of `santrace analyze --format`, one module each. */
import type {Report} from '../analyze.js'
import {renderGitlab} from './gitlab.js'
import {renderGithub} from './github.js'
import {renderJson} from './json.js'
import {renderJsonl} from './jsonl.js'
import {renderJunit} from './junit.js'
import {renderSarif} from './sarif.js'
import {renderText} from './text.js'

export const FORMATS = ['text', 'json', 'jsonl', 'sarif', 'junit', 'github', 'gitlab'] as const
export type Format = (typeof FORMATS)[number]

export function render(format: Format, r: Report, opts: {color: boolean; evidence?: boolean}): string {
  switch (format) {
    case 'text':
      return renderText(r, opts)
    case 'json':
      return renderJson(r)
    case 'jsonl':
      return renderJsonl(r)
    case 'sarif':
      return renderSarif(r)
    case 'junit':
      return renderJunit(r)
    case 'github':
      return renderGithub(r)
    case 'gitlab':
      return renderGitlab(r)
  }
}
