// The split of the test step across CI nodes (lib/runner/shard.mts) and the merging of
// the shards' reports (lib/runner/shard-reports.mts): pure functions, on this
// repository's own test files and on JUnit texts of known durations.
import { describe, expect, it } from 'vitest'
import { UsageError } from '../../lib/core/cli.mts'
import { ConfigError, validateConfig } from '../../lib/core/config.mts'
import { listWorktreeFiles } from '../../lib/core/git.mts'
import {
  describeShare,
  escapeXml,
  imbalance,
  parseJUnitTimings,
  parseShardSpec,
  parseUnitList,
  planShard,
  selectUnitFiles,
  shardCommand,
  shardFromFlagOrEnv,
  shardLabel,
  shardToRun,
  splitUnits,
  xmlAttributes,
} from '../../lib/runner/shard.mts'
import { mergedMarkdown, mergeJUnit, mergeTimingReports, nameJUnitShard, shardJUnitPath, type TimingReport } from '../../lib/runner/shard-reports.mts'
import { planSteps, shardReport, timingReport } from '../../lib/runner/steps.mts'
import { PROJECT_ROOT } from '../helpers/run.mts'

/** Every unit in exactly one bin. */
function expectPartition(bins: string[][], all: string[]) {
  const flat = bins.flat()
  expect(new Set(flat).size, 'no unit in two shards').toBe(flat.length)
  expect([...flat].sort(), 'every unit in a shard').toEqual([...all].sort())
}

const junit = (suites: Record<string, number>) =>
  `<?xml version="1.0" encoding="UTF-8" ?>\n<testsuites name="vitest tests" tests="${Object.keys(suites).length}">\n` +
  Object.entries(suites)
    .map(([name, time]) => `  <testsuite name="${name.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}" tests="1" failures="0" errors="0" skipped="0" time="${time}">\n    <testcase classname="${name}" name="t" time="${time}"/>\n  </testsuite>`)
    .join('\n') +
  '\n</testsuites>\n'

describe('the units', () => {
  it('this repository\'s vitest files: every N from 1 to 5 splits them into a partition, by count and by timings', async () => {
    const units = selectUnitFiles(await listWorktreeFiles(PROJECT_ROOT), ['tests/**/*.test.mts'])
    expect(units.length).toBeGreaterThan(20)
    expect(units).toContain('tests/unit/shard.test.mts')
    // Some timings, some missing (they get the median), one for a file that no longer exists.
    const timings = new Map(units.filter((_, i) => i % 3).map((u, i) => [u, (i * 7919) % 97] as [string, number]))
    timings.set('tests/unit/gone.test.mts', 500)
    for (let n = 1; n <= 5; n++) {
      for (const t of [undefined, timings]) {
        const split = splitUnits(units, n, t)
        expect(split.bins).toHaveLength(n)
        expectPartition(split.bins.map((b) => b.units), units)
      }
    }
  })

  it('globs: a pattern matching nothing is a config error naming the key; ! excludes', () => {
    const files = ['a/x.test.mts', 'a/y.test.mts', 'b/z.test.mts', 'README.md']
    expect(selectUnitFiles(files, ['**/*.test.mts', '!b/**'])).toEqual(['a/x.test.mts', 'a/y.test.mts'])
    expect(() => selectUnitFiles(files, ['tests/**/*.test.mts'])).toThrow(ConfigError)
    expect(() => selectUnitFiles(files, ['tests/**/*.test.mts'])).toThrow(/steps\.shard\.units: "tests\/\*\*\/\*\.test\.mts" matches no file/)
  })

  it('a list command\'s output: one unit per line, trimmed, unique, sorted', () => {
    expect(parseUnitList('example.com/b\n\nexample.com/a  \nexample.com/b\n')).toEqual(['example.com/a', 'example.com/b'])
  })

  it('{units} becomes the units, one argument each, whatever they contain', () => {
    const odd = ['a b.test.mts', '$(touch pwned).mts', "it's; rm -rf ~", '*']
    expect(shardCommand(['npx', 'vitest', 'run', '{units}', '--bail=1'], odd)).toEqual(['npx', 'vitest', 'run', ...odd, '--bail=1'])
    // Only the element exactly "{units}": a word that merely contains it stays as it is.
    expect(shardCommand(['echo', 'x{units}'], ['a'])).toEqual(['echo', 'x{units}'])
    expect(shardCommand(['go', 'test', '{units}'], [])).toEqual(['go', 'test'])
  })
})

describe('the split', () => {
  it('is the same whatever order the units come in (every node lists them its own way)', () => {
    const units = Array.from({ length: 50 }, (_, i) => `u${i}`)
    const timings = new Map(units.map((u, i) => [u, (i * 37) % 11] as [string, number]))
    const a = splitUnits(units, 4, timings)
    const b = splitUnits([...units].reverse(), 4, new Map([...timings].reverse()))
    expect(b.bins).toEqual(a.bins)
    expect(b.id).toBe(a.id)
    expect(splitUnits(units, 3, timings).id).not.toBe(a.id)
  })

  it('balance: on a skewed suite the slowest shard is at most 1.2x the ideal, where count-splitting is over 1.5x', () => {
    // A few long integration files among many short unit files, as in this repository;
    // the long ones fall where splitting by count (in name order) puts them all in shard 1.
    const durations: Record<string, number> = {}
    const long = [60, 50, 40, 30]
    for (let i = 0; i < 48; i++) durations[`tests/file-${String(i).padStart(2, '0')}.test.mts`] = i % 12 === 0 ? long[i / 12] : 0.5 + (i % 3) * 0.5
    const timings = parseJUnitTimings(junit(durations))
    const units = Object.keys(durations)
    for (const n of [2, 3, 4]) {
      const byTime = splitUnits(units, n, timings)
      expect(byTime.by).toBe('timings')
      const byCount = splitUnits(units, n)
      expect(byCount.by).toBe('count')
      // The real cost of each: the bins' units weighed by their true durations.
      const real = (bins: string[][]) => imbalance(bins.map((b) => ({ units: b, load: b.reduce((s, u) => s + durations[u], 0) })))
      expect(real(byTime.bins.map((b) => b.units)), `N=${n} by timings`).toBeLessThanOrEqual(1.2)
      expect(real(byCount.bins.map((b) => b.units)), `N=${n} by count`).toBeGreaterThan(1.5)
    }
  })

  it('units without a timing weigh the median of those with one', () => {
    const timings = new Map([['a', 10], ['b', 1], ['c', 3]])
    const split = splitUnits(['a', 'b', 'c', 'new'], 2, timings)
    expect(split.median).toBe(3)
    expect(split.timed).toBe(3)
    // a (10) alone; c (3), new (3), b (1) together: 7.
    expect(split.bins.map((b) => [b.units, b.load])).toEqual([[['a'], 10], [['b', 'c', 'new'], 7]])
  })

  it('more shards than units: the extra shards are empty, the rest one unit each', () => {
    const plan = planShard({ index: 4, total: 4 }, { units: ['x'], test: ['t', '{units}'] }, ['a', 'b'])
    expect(plan.units).toEqual([])
    expect(plan.command).toEqual(['t'])
    expect(plan.allUnits).toBe(2)
  })
})

describe('--shard and CircleCI', () => {
  it.each(['0/2', '3/2', 'a/b', '1/0', '1', '1/2/3', '-1/2', ''])('--shard %j is a usage error (exit 2)', (text) => {
    expect(() => parseShardSpec(text)).toThrow(UsageError)
    expect(() => parseShardSpec(text)).toThrow(/^--shard: expected K\/N with 1 <= K <= N/)
  })

  it('--shard takes up to four digits each side, the last shard included, around spaces', () => {
    expect(parseShardSpec('12/16')).toEqual({ index: 12, total: 16 })
    expect(parseShardSpec('2/2')).toEqual({ index: 2, total: 2 })
    expect(parseShardSpec('1/1')).toEqual({ index: 1, total: 1 })
    expect(parseShardSpec(' 3/4\n')).toEqual({ index: 3, total: 4 })
    expect(parseShardSpec('9999/9999')).toEqual({ index: 9999, total: 9999 })
    expect(() => parseShardSpec('1/10000')).toThrow(UsageError)
    expect(() => parseShardSpec('x1/2')).toThrow(UsageError)
    expect(() => parseShardSpec('1/2x')).toThrow(UsageError)
  })

  it('K/N, and CircleCI\'s 0-based node index when the total is above 1', () => {
    expect(parseShardSpec('2/3')).toEqual({ index: 2, total: 3 })
    expect(shardFromFlagOrEnv(undefined, { CIRCLE_NODE_INDEX: '1', CIRCLE_NODE_TOTAL: '2' })).toEqual({ index: 2, total: 2 })
    expect(shardFromFlagOrEnv(undefined, { CIRCLE_NODE_INDEX: '0', CIRCLE_NODE_TOTAL: '1' })).toBeUndefined()
    expect(shardFromFlagOrEnv(undefined, {})).toBeUndefined()
    // The flag wins over the environment.
    expect(shardFromFlagOrEnv('1/4', { CIRCLE_NODE_INDEX: '1', CIRCLE_NODE_TOTAL: '2' })).toEqual({ index: 1, total: 4 })
    expect(() => shardFromFlagOrEnv(undefined, { CIRCLE_NODE_INDEX: '2', CIRCLE_NODE_TOTAL: '2' })).toThrow(UsageError)
  })

  it('sharded, the build step runs on shard 1 only, unless asked for with --only build', () => {
    const config = validateConfig({
      buildImage: { name: 'x', inputs: ['a'] },
      steps: { test: ['npm', 'test'], build: ['npm', 'run', 'build'], shard: { units: ['t/*'], test: ['vitest', '{units}'] } },
    })
    const plan = (index: number, units: string[]) => planShard({ index, total: 2 }, config.steps.shard!, units)
    expect(planSteps(config, undefined, {}, plan(1, ['a', 'b'])).map((p) => [p.name, p.command])).toEqual([['test', ['vitest', 'a']], ['build', ['npm', 'run', 'build']]])
    expect(planSteps(config, undefined, {}, plan(2, ['a', 'b'])).map((p) => [p.name, p.command])).toEqual([['test', ['vitest', 'b']]])
    // Shard 2 of 2 with one unit: nothing to test, nothing to build.
    expect(planSteps(config, undefined, {}, plan(2, ['a']))).toEqual([])
    expect(planSteps(config, 'build', {}, undefined).map((p) => p.name)).toEqual(['build'])
  })
})

describe('steps.shard in build.config.json', () => {
  const withShard = (shard: unknown) => () => validateConfig({ buildImage: { name: 'x', inputs: ['a'] }, steps: { shard } })
  it.each<[string, unknown, RegExp]>([
    ['both units and list', { units: ['t/*'], list: ['go', 'list'], test: ['t', '{units}'] }, /steps\.shard: set exactly one of units .* or list/],
    ['neither', { test: ['t', '{units}'] }, /steps\.shard: set exactly one of units/],
    ['no {units} in test', { units: ['t/*'], test: ['npx', 'vitest', 'run'] }, /steps\.shard\.test: expected a command with the element "\{units\}"/],
    ['{units} only inside a word', { units: ['t/*'], test: ['sh', '-c', 'go test {units}'] }, /steps\.shard\.test: expected a command with the element "\{units\}"/],
    ['no test', { units: ['t/*'] }, /steps\.shard\.test: required, missing/],
    ['a typo', { unit: ['t/*'], test: ['t', '{units}'] }, /steps\.shard\.unit: unknown key/],
    ['units outside the repository', { units: ['../x/*'], test: ['t', '{units}'] }, /steps\.shard\.units\[0\]: .*reaches outside the repository/],
    ['list as a string', { list: 'go list ./...', test: ['t', '{units}'] }, /steps\.shard\.list: expected an array of strings/],
    ['junit outside the repository', { units: ['t/*'], test: ['t', '{units}'], junit: '/tmp/j.xml' }, /steps\.shard\.junit: "\/tmp\/j\.xml" reaches outside the repository/],
  ])('%s: a config error (exit 2) naming the key', (_, shard, message) => {
    expect(withShard(shard)).toThrow(ConfigError)
    expect(withShard(shard)).toThrow(message)
  })

  it('this repository and examples/go-app are configured for sharding', async () => {
    const { loadConfig } = await import('../../lib/core/config.mts')
    const ours = await loadConfig({ root: PROJECT_ROOT, env: {} })
    expect(ours.steps.shard).toMatchObject({ units: ['tests/**/*.test.mts'], junit: 'reports/junit/vitest.xml' })
    const goApp = await loadConfig({ root: `${PROJECT_ROOT}/examples/go-app`, env: {} })
    expect(goApp.steps.shard).toEqual({ list: ['go', 'list', './...'], test: ['go', 'test', '-count=1', '{units}'] })
  })
})

describe('JUnit', () => {
  it('timings per testsuite name (a file for vitest, a package for go), XML escapes undone, summed per name', () => {
    const xml = junit({ 'tests/a&b.test.mts': 1.5, 'example.com/go-app/pkg/kv': 0.25 }) + '<!-- <testsuite name="commented" time="9"> -->'
    const t = parseJUnitTimings(xml + xml.replace(/<\?xml[^>]*>/, ''))
    expect([...t]).toEqual([['tests/a&b.test.mts', 3], ['example.com/go-app/pkg/kv', 0.5]])
    expect(parseJUnitTimings('not xml at all')).toEqual(new Map())
  })

  it('a shard\'s JUnit names its shard, in its root and in its file name', () => {
    const named = nameJUnitShard(junit({ a: 1 }), { index: 2, total: 3 })
    expect(named).toMatch(/<testsuites name="vitest tests \(shard 2\/3\)" tests="1">/)
    expect(parseJUnitTimings(named)).toEqual(new Map([['a', 1]]))
    const lone = nameJUnitShard('<?xml version="1.0"?>\n<testsuite name="p" time="2"></testsuite>', { index: 1, total: 2 })
    expect(lone).toMatch(/<testsuites name="shard 1\/2">\n<testsuite name="p"/)
    expect(shardJUnitPath('/r/reports/junit/vitest.xml', { index: 2, total: 3 })).toBe('/r/reports/junit/vitest.shard-2-of-3.xml')
  })

  it('merging: every suite once, counts summed; the merged file is the next run\'s timings', () => {
    const one = nameJUnitShard(junit({ a: 1, b: 2 }), { index: 1, total: 2 })
    const two = nameJUnitShard(junit({ c: 4 }).replace('failures="0"', 'failures="1"'), { index: 2, total: 2 })
    const merged = mergeJUnit([one, two], '2 shards')
    expect(merged).toMatch(/<testsuites name="2 shards" tests="3" failures="1" errors="0" skipped="0" time="7">/)
    expect(merged.match(/<testsuites/g)).toHaveLength(1)
    expect(parseJUnitTimings(merged)).toEqual(new Map([['a', 1], ['b', 2], ['c', 4]]))
  })
})

describe('merging the shards\' timing reports', () => {
  const config = validateConfig({ buildImage: { name: 'x', inputs: ['a'] }, steps: { shard: { units: ['t/*'], test: ['t', '{units}'] } } })
  const units = ['a', 'b', 'c', 'd', 'e']
  function report(index: number, total: number, testMs: number, exitCode = 0, all = units): TimingReport {
    const shard = planShard({ index, total }, config.steps.shard!, all)
    return timingReport({
      image: { ref: 'x:1', outcome: 'present', durationMs: 1000 },
      steps: [{ name: 'test', command: shard.command, env: [] }],
      results: [{ name: 'test', exitCode, durationMs: testMs }],
      totalMs: testMs + 2000,
      exitCode,
      shard,
    })
  }

  it('a row per shard and the critical path (the slowest shard)', () => {
    const merged = mergeTimingReports([report(2, 3, 70_000), report(1, 3, 30_000), report(3, 3, 20_000, 1)])
    expect(merged.problems).toEqual([])
    expect(merged.rows[0]).toEqual(['shard', 'units', 'image', 'test', 'build', 'total', 'result'])
    expect(merged.rows.slice(1, 4).map((r) => [r[0], r[1], r[3], r[5], r[6]])).toEqual([
      ['1/3', '2', '00:30', '00:32', 'ok'],
      ['2/3', '2', '01:10', '01:12', 'ok'],
      ['3/3', '1', '00:20', '00:22', 'failed (exit 1)'],
    ])
    expect(merged.rows.at(-1)).toEqual(['critical path: shard 2', '', '', '', '', '01:12', ''])
    expect(merged.critical).toEqual({ index: 2, totalMs: 72_000 })
    expect(merged.balance).toBeCloseTo(70 / 40)
    expect(merged.failed).toEqual([3])
  })

  it('the job summary: a bar per shard from the start to its total, failed shards marked, then the table folded', () => {
    const merged = mergeTimingReports([report(2, 3, 70_000), report(1, 3, 30_000), report(3, 3, 20_000, 1)])
    expect(merged.bars).toEqual([
      { label: 'shard 1/3, 2 units', startMs: 0, durationMs: 32_000, failed: false },
      { label: 'shard 2/3, 2 units', startMs: 0, durationMs: 72_000, failed: false },
      { label: 'shard 3/3, 1 units', startMs: 0, durationMs: 22_000, failed: true },
    ])
    const md = mergedMarkdown(merged)
    expect(md).toMatch(/^### test-and-build, 3 shards\n\n```mermaid\ngantt\n  title test-and-build, 3 shards: shard 3 failed, critical path shard 2 \(1m 12s\)\n/)
    expect(md).toContain('  section shards\n  shard 1/3, 2 units (32s) :done, p1, 0, 32000\n  shard 2/3, 2 units (1m 12s) :done, p2, 0, 72000\n  shard 3/3, 1 units (22s) :crit, p3, 0, 22000\n```')
    expect(md).toContain('<details><summary>Timing table</summary>\n\n| shard | units | image | test | build | total | result |')
    expect(md).toContain('| critical path: shard 2 |  |  |  |  | 01:12 |  |\n\n</details>')
    expect(mergedMarkdown(mergeTimingReports([report(1, 2, 1000), report(2, 2, 1000)]))).toContain('title test-and-build, 2 shards: ok, critical path')
  })

  it('not one set: a missing shard, a shard twice, shards that split differently', () => {
    expect(mergeTimingReports([report(1, 3, 1), report(3, 3, 1)]).problems).toEqual(['shard 2/3: no report'])
    expect(mergeTimingReports([report(1, 2, 1), report(1, 2, 1), report(2, 2, 1)]).problems.join('\n')).toMatch(/shard 1\/2: 2 reports[\s\S]*more than one shard/)
    // Node 2 saw another unit list (different timings or files): units ran twice or never.
    const other = report(2, 2, 1, 0, [...units, 'f'])
    expect(mergeTimingReports([report(1, 2, 1), other]).problems.join('\n')).toMatch(/different splits/)
  })

  it('the report names the shard', () => {
    const r = report(2, 3, 1)
    expect(r.shard).toEqual(shardReport(planShard({ index: 2, total: 3 }, config.steps.shard!, units)))
    expect(r.shard).toMatchObject({ index: 2, total: 3, allUnits: 5, by: 'count' })
  })
})

describe('shard planning at its edges', () => {
  it('CircleCI: a blank or 1 total is not sharded; an index of letters, a missing one, or one past the end is a usage error', () => {
    expect(shardFromFlagOrEnv(undefined, { CIRCLE_NODE_TOTAL: '' })).toBeUndefined()
    expect(shardFromFlagOrEnv(undefined, { CIRCLE_NODE_TOTAL: '1', CIRCLE_NODE_INDEX: 'x' })).toBeUndefined()
    expect(shardFromFlagOrEnv(undefined, { CIRCLE_NODE_INDEX: '11', CIRCLE_NODE_TOTAL: '12' })).toEqual({ index: 12, total: 12 })
    for (const env of [{ CIRCLE_NODE_TOTAL: '2' }, { CIRCLE_NODE_INDEX: 'a', CIRCLE_NODE_TOTAL: '2' }, { CIRCLE_NODE_INDEX: '0', CIRCLE_NODE_TOTAL: 'x2' }, { CIRCLE_NODE_INDEX: '0', CIRCLE_NODE_TOTAL: '2x' }, { CIRCLE_NODE_INDEX: 'x0', CIRCLE_NODE_TOTAL: '2' }, { CIRCLE_NODE_INDEX: '0x', CIRCLE_NODE_TOTAL: '2' }, { CIRCLE_NODE_INDEX: '3', CIRCLE_NODE_TOTAL: '2' }]) {
      expect(() => shardFromFlagOrEnv(undefined, env), JSON.stringify(env)).toThrow(
        `CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL: expected 0 <= index < total, got ${JSON.stringify(env.CIRCLE_NODE_INDEX ?? '')}/${JSON.stringify(env.CIRCLE_NODE_TOTAL)}`,
      )
    }
    expect(() => parseShardSpec('3/2')).toThrow('--shard: expected K/N with 1 <= K <= N (like 1/2), got "3/2"')
  })

  it('units: bytewise order, each once even when two globs match it; a list of blank lines is empty', () => {
    expect(selectUnitFiles(['b', 'a', 'B', 'ä'], ['*', 'a'])).toEqual(['B', 'a', 'b', 'ä'])
    expect(parseUnitList(' \n\n  \n')).toEqual([])
    expect(parseUnitList('b\nB\na\n')).toEqual(['B', 'a', 'b'])
  })

  it('JUnit attributes: either quote, spaces around =, names with : . -, every XML escape', () => {
    expect(xmlAttributes(`<testsuite name='a "b"' time = "1.5" x:y.z-w="&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#x6a;">`)).toEqual({ name: 'a "b"', time: '1.5', 'x:y.z-w': `<>&"'ABj` })
    expect(escapeXml(`<a b="c">&`)).toBe('&lt;a b=&quot;c&quot;&gt;&amp;')
  })

  it('JUnit timings: only <testsuite> tags, self-closed too, outside comments; no name, no time, or a bad time skips it', () => {
    const xml = [
      '<testsuites name="all" time="99">',
      '<testsuite name="a" time="1"/>',
      '<testsuite name="a" time="0.5">',
      '<testsuite\nname="b" time="2">',
      '<testsuitex name="c" time="3">',
      '<!-- <testsuite name="d" time="4"> -->',
      '<!--x--><testsuite name="e" time="0"><!--y-->',
      '<testsuite time="5">',
      '<testsuite name="f">',
      '<testsuite name="g" time="-1">',
      '<testsuite name="h" time="soon">',
      '<testsuite name="i" time="Infinity">',
    ].join('\n')
    expect(Object.fromEntries(parseJUnitTimings(xml))).toEqual({ a: 1.5, b: 2, e: 0 })
  })

  it('the split: ties go to the lowest bin; the median of an even count is the mean of the middle two; the id is 16 hex digits', () => {
    const even = splitUnits(['a', 'b', 'c', 'd', 'new'], 2, new Map([['a', 1], ['b', 2], ['c', 4], ['d', 10]]))
    expect(even.median).toBe(3)
    expect(even.bins.map((b) => [b.units, b.load])).toEqual([[['d'], 10], [['a', 'b', 'c', 'new'], 10]])
    expect(even.id).toMatch(/^[0-9a-f]{16}$/)
    const byCount = splitUnits(['c', 'a', 'b', 'a'], 2)
    expect(byCount).toMatchObject({ by: 'count', timed: 0, median: undefined })
    expect(byCount.bins).toEqual([{ units: ['a', 'c'], load: 2 }, { units: ['b'], load: 1 }])
    expect(() => splitUnits(['a'], 0)).toThrow('splitUnits: total must be a positive integer, got 0')
    expect(() => splitUnits(['a'], 1.5)).toThrow(RangeError)
    // Equal weights: by name, bytewise.
    expect(splitUnits(['b', 'B', 'a'], 3, new Map([['a', 1], ['b', 1], ['B', 1]])).bins.map((b) => b.units)).toEqual([['B'], ['a'], ['b']])
  })

  it('imbalance: the slowest bin over the mean; 1 for nothing at all', () => {
    expect(imbalance([{ units: [], load: 3 }, { units: [], load: 1 }])).toBe(1.5)
    expect(imbalance([{ units: [], load: 0 }, { units: [], load: 0 }])).toBe(1)
  })

  it('a plan: this shard\'s units in the command, the count of all units, the split without its bins', () => {
    const plan = planShard({ index: 2, total: 2 }, { units: ['x'], test: ['t', '{units}', '-v'] }, ['a', 'b', 'c'])
    expect(plan).toEqual({ index: 2, total: 2, units: ['b'], allUnits: 3, command: ['t', 'b', '-v'], split: { by: 'count', timed: 0, median: undefined, id: expect.stringMatching(/^[0-9a-f]{16}$/) } })
    expect(shardLabel({ index: 2, total: 3 })).toBe('2-of-3')
  })
})

describe('the shard a run tests', () => {
  const sharding = { units: ['t/*'], test: ['vitest', '{units}'] }
  const given = { flag: undefined, env: {}, sharding, testStep: true, only: undefined }

  it('the one asked for, by --shard or by CircleCI\'s nodes', () => {
    expect(shardToRun({ index: 2, total: 3 }, { ...given, flag: '2/3' })).toEqual({ index: 2, total: 3 })
    expect(shardToRun({ index: 2, total: 3 }, { ...given, only: 'test' })).toEqual({ index: 2, total: 3 })
    expect(shardToRun(undefined, given)).toBeUndefined()
  })

  it('one shard of one when steps.shard is the only test command, none without steps.shard', () => {
    expect(shardToRun(undefined, { ...given, testStep: false })).toEqual({ index: 1, total: 1 })
    expect(shardToRun({ index: 2, total: 3 }, { ...given, testStep: false })).toEqual({ index: 2, total: 3 })
    expect(shardToRun(undefined, { ...given, sharding: undefined, testStep: false })).toBeUndefined()
  })

  it('none when the run is not the test step\'s', () => {
    for (const only of ['build', 'integration']) {
      expect(shardToRun({ index: 2, total: 3 }, { ...given, only })).toBeUndefined()
      expect(shardToRun(undefined, { ...given, testStep: false, only })).toBeUndefined()
    }
  })

  it('a shard asked for without steps.shard is a usage error naming where it was asked for', () => {
    const ask = () => shardToRun({ index: 1, total: 2 }, { ...given, sharding: undefined, flag: '1/2' })
    expect(ask).toThrow(UsageError)
    expect(ask).toThrow('--shard 1/2: build.config.json has no steps.shard (which units exist, and the test command that takes them)')
    expect(() => shardToRun({ index: 1, total: 2 }, { ...given, sharding: undefined, env: { CIRCLE_NODE_TOTAL: '2' } })).toThrow(/^CIRCLE_NODE_TOTAL=2: build\.config\.json has no steps\.shard/)
    // Also when the run is not the test step's: the config cannot do what CI asks.
    expect(() => shardToRun({ index: 1, total: 2 }, { ...given, sharding: undefined, only: 'build', flag: '1/2' })).toThrow(UsageError)
  })

  it('the log line of its share: how many of all the units, split how', () => {
    const units = ['a', 'b', 'c']
    expect(describeShare(planShard({ index: 1, total: 2 }, sharding, units))).toBe('shard 1/2: 2 of 3 units, split by count')
    expect(describeShare(planShard({ index: 4, total: 4 }, sharding, units))).toBe('shard 4/4: no units (3 in all, split by count): nothing to test')
    const timed = planShard({ index: 2, total: 2 }, sharding, units, new Map([['a', 5], ['b', 1]]))
    expect(describeShare(timed, 'reports/junit')).toBe('shard 2/2: 2 of 3 units, split by the timings in reports/junit (2 of 3 units timed)')
    // The slowest unit alone: one unit of its own, two of three timed.
    const slowest = planShard({ index: 1, total: 2 }, sharding, units, new Map([['a', 5], ['b', 1]]))
    expect(describeShare(slowest, 'reports/junit')).toBe('shard 1/2: 1 of 3 units, split by the timings in reports/junit (2 of 3 units timed)')
  })
})
