/** Runs an analysis and gathers the statistics along the way. */
import {analyze, type AnalyzeOptions, type Report} from '../analyze.js'
import {StatsCollector, type Stats} from './stats.js'

export async function analyzeWithStats(opts: AnalyzeOptions): Promise<{report: Report; stats: Stats}> {
  const collector = new StatsCollector()
  let stats: Stats | undefined
  const report = await analyze({
    ...opts,
    observe(step) {
      collector.observe(step)
      opts.observe?.(step)
    },
    onEnd(model) {
      stats = collector.result(model)
      opts.onEnd?.(model)
    },
  })
  return {report, stats: stats!}
}
