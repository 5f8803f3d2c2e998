#!/usr/bin/env zx
// bench/shard.mts: the split of the test step across CI nodes (test-and-build --shard).
//   1. Balance on this repository's suite, N = 2, 3, 4: the slowest shard over the ideal
//      (total / N), split by timings and, for comparison, by count, each shard weighed
//      by the timings it was split by (on CI the next run's durations differ from the
//      last run's: under a loaded machine by a lot).
//   2. The time the split adds with 1,000 units: `test-and-build --plan --shard 1/4
//      --timings` (lists 1,000 files from git, reads a 1,000-suite JUnit, splits) against
//      the same `--plan` unsharded, as alternating pairs, the ratio and the difference
//      taken pair by pair. Target: under 0.2 s added. Also splitUnits alone, in process.
//
//   npx zx bench/shard.mts [--pairs N] [--timings JUNIT]
// Default timings: bench/fixtures/suite-timings.xml (a full run of the suite).
import { $, fs, minimist, os, path } from 'zx'
import { table } from '../lib/core/log.mts'
import { imbalance, parseJUnitTimings, splitUnits, type Bin } from '../lib/runner/shard.mts'

const project = path.resolve(import.meta.dirname, '..')
const argv = minimist(process.argv.slice(3), { default: { pairs: 5, timings: path.join(project, 'bench/fixtures/suite-timings.xml') } })
const load = async () => (await $({ quiet: true })`uptime`).stdout.trim().replace(/^.*load average/, 'load average')

// 1. Balance.
const timings = parseJUnitTimings(await fs.readFile(argv.timings, 'utf8'))
const units = [...timings.keys()]
const total = units.reduce((s, u) => s + timings.get(u)!, 0)
const slowest = Math.max(...units.map((u) => timings.get(u)!))
const balance = [['N', 'ideal (total / N)', 'slowest shard, by timings', 'ratio', 'slowest shard, by count', 'ratio']]
for (const n of [2, 3, 4]) {
  const byTime = splitUnits(units, n, timings).bins
  const byCount = splitUnits(units, n).bins.map((b) => ({ ...b, load: b.units.reduce((s, u) => s + timings.get(u)!, 0) }))
  const max = (bins: Bin[]) => Math.max(...bins.map((b) => b.load))
  balance.push([String(n), `${(total / n).toFixed(0)} s`, `${max(byTime).toFixed(0)} s`, `${imbalance(byTime).toFixed(2)}x`, `${max(byCount).toFixed(0)} s`, `${imbalance(byCount).toFixed(2)}x`])
}
console.log(`\nBalance: slowest shard / ideal (1.00x is perfect); ${units.length} test files, ${total.toFixed(0)} s in all, the longest file ${slowest.toFixed(0)} s (${path.relative(project, argv.timings)})\n`)
console.log(table(balance))

// 2. The split's own time, with 1,000 units.
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-shard-'))
try {
  const root = path.join(work, 'repo')
  const names = Array.from({ length: 1000 }, (_, i) => `tests/d${i % 20}/unit-${String(i).padStart(4, '0')}.test.mts`)
  for (const n of names) await fs.outputFile(path.join(root, n), '')
  await fs.writeFile(path.join(root, 'Dockerfile.build'), 'FROM busybox:latest\n')
  await fs.writeJson(path.join(root, 'build.config.json'), {
    buildImage: { name: 'bench-shard', inputs: ['Dockerfile.build'] },
    steps: { test: ['true'], shard: { units: ['tests/**/*.test.mts'], test: ['run', '{units}'] } },
  })
  const g = $({ cwd: root, quiet: true })
  await g`git init -q -b main`
  await g`git add -A`
  await g`git -c user.name=bench -c user.email=bench@example.com commit -q -m fixture`
  const junit = path.join(work, 'timings.xml')
  const suites = names.map((n, i) => `<testsuite name="${n}" tests="3" time="${((i * 7919) % 997) / 10}"></testsuite>`).join('\n')
  await fs.writeFile(junit, `<?xml version="1.0"?>\n<testsuites>\n${suites}\n</testsuites>\n`)

  const script = path.join(project, 'scripts/test-and-build.mts')
  const time = async (args: string[]) => {
    const started = performance.now()
    await $({ cwd: project, quiet: true, env: { ...process.env, REGISTRY: '' } })`npx zx ${script} --repo ${root} --plan ${args}`
    return performance.now() - started
  }
  await time([]) // warm-up
  const pairs: Array<[number, number]> = []
  for (let i = 0; i < Number(argv.pairs); i++) pairs.push([await time([]), await time(['--shard', '1/4', '--timings', junit])])
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const ratios = pairs.map(([a, b]) => b / a)
  const deltas = pairs.map(([a, b]) => b - a)

  // splitUnits alone (and the JUnit parse), in process: median of 21.
  const xml = await fs.readFile(junit, 'utf8')
  const inProcess: number[] = []
  for (let i = 0; i < 21; i++) {
    const started = performance.now()
    splitUnits(names, 4, parseJUnitTimings(xml))
    inProcess.push(performance.now() - started)
  }

  const rows = [['case', 'median', 'ratio (pair by pair, median)', 'added (pair by pair, median)', 'target']]
  rows.push(['test-and-build --plan, unsharded (baseline)', `${med(pairs.map((p) => p[0])).toFixed(0)} ms`, '1.00x', '', ''])
  rows.push(['test-and-build --plan --shard 1/4 --timings, 1,000 units', `${med(pairs.map((p) => p[1])).toFixed(0)} ms`, `${med(ratios).toFixed(2)}x`, `${med(deltas).toFixed(0)} ms`, '< 200 ms'])
  rows.push(['parse 1,000-suite JUnit + splitUnits(1,000, 4), in process', `${med(inProcess).toFixed(1)} ms`, '', '', ''])
  console.log(`\nThe split's own time (${pairs.length} alternating pairs; ${os.cpus().length} cores, node ${process.version}; ${await load()})\n`)
  console.log(table(rows))
  console.log(`\npairs (baseline, sharded) ms: ${pairs.map(([a, b]) => `${a.toFixed(0)}/${b.toFixed(0)}`).join('  ')}`)
} finally {
  await fs.remove(work)
}
