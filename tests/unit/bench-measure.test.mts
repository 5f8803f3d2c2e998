// The benchmarks' measurement method (bench/measure.mts): the team's rule is alternating
// pairs with the ratio taken pair by pair, never a median of each side.
import { describe, expect, it } from 'vitest'
import { fixtureFlags, median, ociArchitecture, pairRatios } from '../../bench/measure.mts'

describe('pairRatios', () => {
  it('takes the ratio within each pair, then the median of those ratios', () => {
    // Load came and went during the runs (pairs 2 and 5 slow on both sides, pair 4 fast);
    // A is 1.05x of B in every pair but the third.
    const a = [10.5, 21, 11, 5.25, 31.5]
    const b = [10, 20, 10, 5, 30]
    const { ratios, median: m } = pairRatios(a, b)
    expect(ratios.map((r) => r.toFixed(3))).toEqual(['1.050', '1.050', '1.100', '1.050', '1.050'])
    expect(m).toBeCloseTo(1.05, 6)
    // The medians of each side set the odd pair's A against another pair's B.
    expect(median(a) / median(b)).toBeCloseTo(1.1, 6)
  })

  it('reports the median pair, not the mean: one disturbed pair does not move it', () => {
    expect(pairRatios([1, 1, 1, 1, 9], [1, 1, 1, 1, 1]).median).toBe(1)
  })

  it('refuses sides of different lengths (a pair lost is a measurement to redo)', () => {
    expect(() => pairRatios([1, 2], [1])).toThrow(/as many A runs as B runs/)
    expect(() => pairRatios([], [])).toThrow(/as many A runs as B runs/)
  })
})

describe('median', () => {
  it('is the middle value of the sorted runs, whatever their order', () => {
    expect(median([5, 1, 3])).toBe(3)
    expect(median([4, 1, 3, 2])).toBe(3)
  })
})

describe('ociArchitecture', () => {
  it("maps Node's names to the OCI platform's", () => {
    expect(ociArchitecture('x64')).toBe('amd64')
    expect(ociArchitecture('arm64')).toBe('arm64')
  })
})

describe('fixtureFlags', () => {
  it('reads --runs, --compute-mb and --tools-mb as positive whole numbers, naming the flag it refuses', () => {
    expect(fixtureFlags({ runs: 5, 'compute-mb': '2048', 'tools-mb': 100 })).toEqual({ runs: 5, computeMb: 2048, toolsMb: 100 })
    expect(() => fixtureFlags({ runs: 0, 'compute-mb': 1, 'tools-mb': 1 })).toThrow('--runs must be a positive whole number, not 0')
    expect(() => fixtureFlags({ runs: 1, 'compute-mb': 1.5, 'tools-mb': 1 })).toThrow('--compute-mb must be a positive whole number of MiB, not 1.5')
    expect(() => fixtureFlags({ runs: 1, 'compute-mb': 1, 'tools-mb': 'x' })).toThrow('--tools-mb must be a positive whole number of MiB, not x')
  })
})
