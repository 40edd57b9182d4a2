import {Args, Flags} from '@oclif/core'
import {BaseCommand, writeOut} from '../src/cli/base.js'
import {colorFlag, configFlag, thresholdFlagDefs, thresholdValues} from '../src/cli/flags.js'
import {loadConfig} from '../src/config.js'
import {useColor} from '../src/output/color.js'
import {renderRuleDoc, renderRuleList} from '../src/output/rules.js'
import {RULES, findRule} from '../src/rules/index.js'
import {resolveThresholds} from '../src/thresholds.js'
import {UsageError} from '../src/util/errors.js'

export default class Rules extends BaseCommand {
  static override summary = 'List the rules, or show one rule\'s full documentation'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> SAN030', '<%= config.bin %> <%= command.id %> SAN013 --connect-call-max 500ms']
  static override args = {id: Args.string({description: 'rule id, e.g. SAN030'})}
  static override flags = {
    json: Flags.boolean({description: 'print the rule metadata as JSON'}),
    config: configFlag,
    color: colorFlag,
    ...thresholdFlagDefs(),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Rules)
    const config = loadConfig(flags.config)
    const {effective} = resolveThresholds(thresholdValues(flags), RULES, config.thresholds)
    const color = useColor(flags.color)
    if (!args.id) {
      await writeOut(flags.json ? JSON.stringify({rules: RULES.map((r) => r.meta), thresholds: effective, config: config.path}, null, 2) + '\n' : renderRuleList(RULES, color, effective, config))
      return
    }
    const rule = findRule(args.id)
    if (!rule) throw new UsageError(`unknown rule '${args.id}' (run 'santrace rules' for the list)`)
    await writeOut(flags.json ? JSON.stringify({...rule.meta, effectiveThresholds: effective.filter((e) => Object.values(rule.meta.thresholds).some((t) => t.flag === e.flag))}, null, 2) + '\n' : renderRuleDoc(rule, effective, color))
  }
}
