import { describe, expect, it } from 'vitest'
import { moduleScores, scoreRows } from '../mutation/scores.mts'

const mutants = (counts: Record<string, number>) => Object.entries(counts).flatMap(([status, n]) => Array.from({ length: n }, () => ({ status })))

describe('the per-module mutation scores', () => {
  it('killed and timed-out mutants count as detected; errors and ignored ones count for nothing; modules sorted', () => {
    const scores = moduleScores({
      'lib/b.mts': { mutants: mutants({ Killed: 8, Timeout: 1, Survived: 1, NoCoverage: 2, RuntimeError: 3, CompileError: 1, Ignored: 4 }) },
      'lib/a.mts': { mutants: mutants({ Killed: 1 }) },
      'lib/c.mts': { mutants: [] },
    })
    expect(scores).toEqual([
      { module: 'lib/a.mts', score: 100, ofCovered: 100, survived: 0, notCovered: 0 },
      { module: 'lib/b.mts', score: 75, ofCovered: 90, survived: 1, notCovered: 2 },
      { module: 'lib/c.mts', score: 100, ofCovered: 100, survived: 0, notCovered: 0 },
    ])
  })

  it('the rows of the table in CONTRIBUTING.md', () => {
    expect(scoreRows([{ module: 'lib/x.mts', score: 83.456, ofCovered: 90, survived: 3, notCovered: 4 }])).toEqual([
      ['module', 'mutation score', 'of covered mutants', 'survived', 'not covered by unit tests'],
      ['`lib/x.mts`', '83.5%', '90.0%', '3', '4'],
    ])
  })
})
