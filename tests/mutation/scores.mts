// After `stryker run` (npm run test:mutation): the score of every mutated module from
// reports/mutation/mutation.json, as the markdown table CONTRIBUTING.md shows, and a
// failure when any module kills less than the break threshold of its covered mutants.
// Stryker's own break threshold is one score over all modules, where a weak module can
// hide behind strong ones.
import fs from 'node:fs'
import path from 'node:path'
import { markdownTable } from '../../lib/core/log.mts'

export interface MutantResult {
  status: string
}

export interface ModuleScore {
  module: string
  /** Killed (or timed out) over every valid mutant, in percent. */
  score: number
  /** Killed (or timed out) over the mutants some test reaches, in percent. */
  ofCovered: number
  survived: number
  notCovered: number
}

/** Per file: Killed and Timeout detect a mutant; compile and runtime errors and Ignored count for nothing. */
export function moduleScores(files: Record<string, { mutants: MutantResult[] }>): ModuleScore[] {
  return Object.entries(files)
    .map(([module, { mutants }]) => {
      const count = (...statuses: string[]) => mutants.filter((m) => statuses.includes(m.status)).length
      const detected = count('Killed', 'Timeout')
      const survived = count('Survived')
      const notCovered = count('NoCoverage')
      const percent = (n: number, of: number) => (of === 0 ? 100 : (100 * n) / of)
      return { module, score: percent(detected, detected + survived + notCovered), ofCovered: percent(detected, detected + survived), survived, notCovered }
    })
    .sort((a, b) => (a.module < b.module ? -1 : 1))
}

/** The table's rows, scores to one decimal. */
export function scoreRows(scores: ModuleScore[]): string[][] {
  return [
    ['module', 'mutation score', 'of covered mutants', 'survived', 'not covered by unit tests'],
    ...scores.map((s) => [`\`${s.module}\``, `${s.score.toFixed(1)}%`, `${s.ofCovered.toFixed(1)}%`, String(s.survived), String(s.notCovered)]),
  ]
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  const root = path.resolve(import.meta.dirname, '../..')
  const { default: config } = await import(path.join(root, 'stryker.config.mjs'))
  const report = JSON.parse(fs.readFileSync(path.join(root, 'reports/mutation/mutation.json'), 'utf8'))
  const scores = moduleScores(report.files)
  console.log(markdownTable(scoreRows(scores)))
  const threshold: number = config.thresholds.break
  const weak = scores.filter((s) => s.ofCovered < threshold)
  for (const s of weak) console.error(`✘ ${s.module}: ${s.ofCovered.toFixed(1)}% of covered mutants killed, under the threshold of ${threshold}%`)
  process.exitCode = weak.length ? 1 : 0
}
