#!/usr/bin/env zx
// scripts/merge-reports.mts: after a sharded test step (CircleCI job `merge-reports`,
// GitHub Actions workflow `ci.yml` job `merge-reports`), one view of the N shards.
//   1. Read the flags; sort the files given into timing reports (.json) and JUnit (.xml).
//   2. The timing reports: the proposal's table with a row per shard and the critical
//      path (the slowest shard); check that the shards are one set (1..N, the same split).
//   3. Print the table (stdout); append a chart of the shards and the table to
//      $GITHUB_STEP_SUMMARY; write --report FILE.
//   4. The JUnit files: merged into --junit FILE (the next run's --timings).
import fs from 'node:fs'
import path from 'node:path'
import { appendStepSummary } from '../lib/core/ci-runner.mts'
import { flag, main, parseFlags, UsageError, WorkError, type CommandSpec } from '../lib/core/cli.mts'
import { compareBytes } from '../lib/core/git.mts'
import { failure, info, success, table, warn } from '../lib/core/log.mts'
import { mergedMarkdown, mergeJUnit, mergeTimingReports, type TimingReport } from '../lib/runner/shard-reports.mts'

const command = {
  name: 'merge-reports',
  synopsis: ['[options] PATH...'],
  about: `
Merge the reports of N shards of test-and-build (--shard K/N). Each PATH is a file or
a directory searched recursively: *.json files are timing reports (test-and-build
--report), *.xml files are JUnit.

Prints the timing table on stdout: a row per shard (units, image, test, build, total,
result) and the critical path, the slowest shard, which is the job's wall time.
`,
  flags: {
    junit: { type: 'string', value: 'FILE', help: 'write the JUnit files merged into one (feed it to the next run\'s test-and-build --timings)' },
    report: { type: 'string', value: 'FILE', help: 'write the merged timings as JSON' },
  },
  more: `
Environment:
  GITHUB_STEP_SUMMARY  when set, a chart (a bar per shard) and the table are appended
                       to it as markdown.

Exit codes: 0 merged (a shard whose tests failed is shown as failed: its own job is
red); 1 the reports are not one set: a shard missing or twice, or shards that split
the units differently (then some units ran twice or never); 2 bad usage, or a file
that is not a report.
`,
  operands: true,
} as const satisfies CommandSpec

/** The files under the paths given, sorted: a directory is searched recursively. */
function filesUnder(paths: string[]): string[] {
  const out: string[] = []
  for (const p of paths) {
    const stat = fs.statSync(p, { throwIfNoEntry: false })
    if (!stat) throw new UsageError(`${p}: no such file or directory`)
    if (!stat.isDirectory()) out.push(p)
    else for (const f of fs.readdirSync(p, { recursive: true, encoding: 'utf8' })) if (fs.statSync(path.join(p, f)).isFile()) out.push(path.join(p, f))
  }
  return out.sort(compareBytes)
}

function readReport(file: string): TimingReport {
  let report: TimingReport
  try {
    report = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (error) {
    throw new UsageError(`${file}: not JSON: ${(error as Error).message}`)
  }
  if (typeof report?.total?.durationMs !== 'number' || !Array.isArray(report.steps)) {
    throw new UsageError(`${file}: not a timing report of test-and-build --report`)
  }
  return report
}

await main(async () => {
  // 1. Flags and files.
  const flags = parseFlags(process.argv.slice(3), command)
  if (!flags) return 0
  const paths = flags._.map(String)
  if (paths.length === 0) throw new UsageError('give the shards\' reports: files or directories (see --help)')
  const files = filesUnder(paths)
  const jsons = files.filter((f) => f.endsWith('.json'))
  const xmls = files.filter((f) => f.endsWith('.xml'))
  info(`${jsons.length} timing report(s), ${xmls.length} JUnit file(s)`)

  // 2. The timing reports: a row per shard, the critical path, and whether they are one set.
  let problems: string[] = []
  if (jsons.length > 0) {
    const merged = mergeTimingReports(jsons.map(readReport))
    problems = merged.problems

    // 3. The table on stdout, the summary, the report.
    process.stdout.write(table(merged.rows) + '\n')
    info(`critical path: shard ${merged.critical.index}; slowest test step / mean: ${merged.balance.toFixed(2)}`)
    appendStepSummary(mergedMarkdown(merged))
    const report = flag(flags, 'report')
    if (report) fs.writeFileSync(report, JSON.stringify({ rows: merged.rows, critical: merged.critical, balance: merged.balance, failed: merged.failed, problems }, null, 2) + '\n')
    if (merged.failed.length) warn(`shard(s) ${merged.failed.join(', ')} failed (their own jobs say why)`)
  } else if (!flag(flags, 'junit')) {
    throw new UsageError('no timing reports (*.json) among the files given, and no --junit to write')
  }

  // 4. The JUnit files, as one.
  const junit = flag(flags, 'junit')
  if (junit) {
    if (xmls.length === 0) throw new WorkError('--junit: no JUnit files (*.xml) among the files given')
    fs.mkdirSync(path.dirname(path.resolve(junit)), { recursive: true })
    fs.writeFileSync(junit, mergeJUnit(xmls.map((f) => fs.readFileSync(f, 'utf8')), `${xmls.length} shards`))
    success(`JUnit: ${xmls.length} file(s) merged into ${junit}`)
  }

  for (const p of problems) failure(p)
  if (problems.length) throw new WorkError('the shards\' reports are not one complete split (see above)')
  return 0
})
