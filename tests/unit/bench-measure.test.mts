// The benchmarks' measurement method (bench/measure.mts): the team's rule is alternating
// pairs with the ratio taken pair by pair, never a median of each side.
import { describe, expect, it } from 'vitest'
import { adopterEnv, fixtureFlags, median, ociArchitecture, pairRatios, scriptRunner } from '../../bench/measure.mts'

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

describe('adopterEnv', () => {
  it("drops this repository's tsx loader and npm's run-script variables, and keeps the rest", () => {
    const env = { NODE_OPTIONS: '--import=tsx', INIT_CWD: '/repo', npm_lifecycle_event: 'bench:pipeline', NPM_CONFIG_CACHE: '/c', REGISTRY: 'localhost:5000', PATH: '/bin' }
    expect(adopterEnv(env)).toEqual({ REGISTRY: 'localhost:5000', PATH: '/bin' })
  })
})

describe('scriptRunner', () => {
  const env = { NODE_OPTIONS: '--import=tsx', npm_lifecycle_event: 'bench:pipeline', REGISTRY: 'localhost:5000' }

  it('by default runs the scripts from the checkout\'s sources through npx zx, with the env as it is (tsx registered)', () => {
    const r = scriptRunner('/checkout', env)
    expect(r.command('test-and-build', ['--repo', '/r', '--push'])).toEqual(['npx', 'zx', 'scripts/test-and-build.mts', '--repo', '/r', '--push'])
    expect(r.startup('test-and-build')).toEqual(['npx', 'zx', '-e', '0'])
    expect(r.cwd).toBe('/checkout')
    expect(r.env).toBe(env)
  })

  it('installed, runs every script through the bin in an adopter\'s env, and its start-up is that bin importing the script for --help', () => {
    const bin = '/p/node_modules/.bin/ci-build-scripts'
    const r = scriptRunner('/checkout', env, { bin, project: '/p' })
    expect(r.command('test-and-build', ['--repo', '/r', '--push'])).toEqual([bin, 'test-and-build', '--repo', '/r', '--push'])
    expect(r.command('image-tag', [])).toEqual([bin, 'image-tag'])
    expect(r.startup('test-and-build')).toEqual([bin, 'test-and-build', '--help'])
    expect(r.cwd).toBe('/p')
    expect(r.env).toEqual({ REGISTRY: 'localhost:5000' })
    expect(r.startupLabel).toContain('--help')
  })
})
