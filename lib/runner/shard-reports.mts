// The reports of a sharded test step: each shard's JUnit named for its shard, the
// timings an earlier run left (for the next split), and merge-reports' merging of N
// shards' timing reports (one table, the critical path) and JUnit files (one file).
import fs from 'node:fs'
import path from 'node:path'
import { WorkError } from '../core/cli.mts'
import { compareBytes } from '../core/git.mts'
import { markdownTable, mmss } from '../core/log.mts'
import { mermaidGantt, minutesSeconds, type GanttBar } from './gantt.mts'
import { escapeXml, parseJUnitTimings, shardLabel, xmlAttributes, type ShardSpec } from './shard.mts'
import type { timingReport } from './steps.mts'

export type TimingReport = ReturnType<typeof timingReport>

/**
 * The timings of an earlier run for `--timings PATH`: a JUnit file, or a directory whose
 * `*.xml` files (not recursive) are read in name order, a later file's unit replacing an
 * earlier one's. Missing: undefined (the first run has none; the split goes by count).
 */
export function readTimings(where: string): { timings: Map<string, number>; files: string[] } | undefined {
  const stat = fs.statSync(where, { throwIfNoEntry: false })
  if (!stat) return undefined
  const files = stat.isDirectory()
    ? fs.readdirSync(where).filter((f) => f.endsWith('.xml')).sort(compareBytes).map((f) => path.join(where, f))
    : [where]
  const timings = new Map<string, number>()
  for (const file of files) for (const [unit, s] of parseJUnitTimings(fs.readFileSync(file, 'utf8'))) timings.set(unit, s)
  return { timings, files }
}

/** The name a shard's JUnit gets: `reports/junit/vitest.xml` -> `reports/junit/vitest.shard-2-of-3.xml`. */
export function shardJUnitPath(file: string, shard: ShardSpec): string {
  const ext = path.extname(file)
  return `${file.slice(0, file.length - ext.length)}.shard-${shardLabel(shard)}${ext || '.xml'}`
}

/** The JUnit text with the shard in its root's name (`<testsuites name="... (shard 2/3)">`). */
export function nameJUnitShard(xml: string, shard: ShardSpec): string {
  const suffix = `shard ${shard.index}/${shard.total}`
  const root = /<testsuites(?=[\s>])[^>]*>/.exec(xml)
  if (!root) {
    // A lone <testsuite> root: wrap it, so the shard has a place.
    const body = xml.replace(/^\s*<\?xml[^>]*\?>\s*/, '')
    return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${escapeXml(suffix)}">\n${body.trim()}\n</testsuites>\n`
  }
  const name = xmlAttributes(root[0]).name
  const renamed = name === undefined
    ? root[0].replace(/^<testsuites/, `<testsuites name="${escapeXml(suffix)}"`)
    : root[0].replace(/\sname\s*=\s*("[^"]*"|'[^']*')/, ` name="${escapeXml(`${name} (${suffix})`)}"`)
  return xml.slice(0, root.index) + renamed + xml.slice(root.index + root[0].length)
}

/**
 * After a shard's test step: its JUnit (steps.shard.junit) renamed to name the shard,
 * so N nodes' files can sit side by side (a CI workspace, one artifact folder). Returns
 * the new path, or undefined when the test step wrote no file.
 */
export function renameShardJUnit(root: string, file: string, shard: ShardSpec): string | undefined {
  const from = path.join(root, file)
  if (!fs.existsSync(from)) return undefined
  const to = shardJUnitPath(from, shard)
  fs.writeFileSync(to, nameJUnitShard(fs.readFileSync(from, 'utf8'), shard))
  fs.rmSync(from)
  return to
}

// --- merging -----------------------------------------------------------------------

/** The `<testsuite>` elements of a JUnit file (the root's children, or the root itself). */
function suitesOf(xml: string): string {
  const body = xml.replace(/^\s*<\?xml[^>]*\?>/, '').trim()
  const open = /^<testsuites(?=[\s>/])[^>]*>/.exec(body)
  if (!open) return body
  if (open[0].endsWith('/>')) return ''
  const end = body.lastIndexOf('</testsuites>')
  return body.slice(open[0].length, end < 0 ? undefined : end).trim()
}

/** N JUnit files as one: every `<testsuite>` under one `<testsuites>` whose counts are the sums. */
export function mergeJUnit(xmls: string[], name = 'merged'): string {
  const parts = xmls.map(suitesOf).filter(Boolean)
  const sums = { tests: 0, failures: 0, errors: 0, skipped: 0, time: 0 }
  for (const part of parts) {
    for (const m of part.matchAll(/<testsuite(?=[\s>/])[^>]*>/g)) {
      const a = xmlAttributes(m[0])
      for (const key of Object.keys(sums) as Array<keyof typeof sums>) sums[key] += Number(a[key] ?? 0) || 0
    }
  }
  const attrs = `name="${escapeXml(name)}" tests="${sums.tests}" failures="${sums.failures}" errors="${sums.errors}" skipped="${sums.skipped}" time="${Number(sums.time.toFixed(3))}"`
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ${attrs}>\n${parts.join('\n')}\n</testsuites>\n`
}

export interface MergedTimings {
  /** The table: a header, a row per shard, then the critical path. */
  rows: string[][]
  /** The slowest shard (by total time). */
  critical: { index: number; totalMs: number }
  /** The slowest shard's test step over the mean of the shards' test steps (1 = perfect balance). */
  balance: number
  /** What is wrong with the set (missing shards, shards that split differently); empty when nothing. */
  problems: string[]
  /** The shards whose run failed. */
  failed: number[]
  /** A bar per shard for the chart: from the start to its total time. */
  bars: GanttBar[]
}

const stepMs = (r: TimingReport, name: string) => r.steps.find((s) => s.name === name)?.durationMs ?? null
const time = (ms: number | null) => (ms === null ? '--:--' : mmss(ms))

/**
 * N shards' timing reports (test-and-build --report) as the proposal's table, a row per
 * shard and the critical path (the slowest shard: the job's wall time). Also checks that
 * they are one set: shards 1..N each once, the same split everywhere, every unit run
 * exactly once. A report without a shard counts as shard 1/1.
 */
export function mergeTimingReports(reports: TimingReport[]): MergedTimings {
  if (reports.length === 0) throw new WorkError('merge-reports: no timing reports given')
  const shardOf = (r: TimingReport) => r.shard ?? { index: 1, total: 1, units: [], allUnits: 0, by: 'count' as const, timed: 0, splitId: '' }
  const sorted = [...reports].sort((a, b) => shardOf(a).index - shardOf(b).index)
  const problems: string[] = []
  const total = shardOf(sorted[0]).total
  const seen = new Map<number, number>()
  for (const r of sorted) {
    const s = shardOf(r)
    if (s.total !== total) problems.push(`shard ${s.index}/${s.total} belongs to a split into ${s.total}, not ${total}`)
    seen.set(s.index, (seen.get(s.index) ?? 0) + 1)
  }
  for (let i = 1; i <= total; i++) {
    if (!seen.has(i)) problems.push(`shard ${i}/${total}: no report`)
    else if (seen.get(i)! > 1) problems.push(`shard ${i}/${total}: ${seen.get(i)} reports`)
  }
  const sharded = sorted.filter((r) => r.shard)
  if (sharded.length > 0) {
    const ids = new Set(sharded.map((r) => r.shard!.splitId))
    if (ids.size > 1) problems.push(`the shards computed different splits (${[...ids].join(', ')}): did they get different timings or unit lists?`)
    const units = sharded.flatMap((r) => r.shard!.units)
    const dup = units.filter((u, i) => units.indexOf(u) !== i)
    if (dup.length) problems.push(`units run by more than one shard: ${[...new Set(dup)].slice(0, 5).join(', ')}`)
    const all = sharded[0].shard!.allUnits
    if (problems.length === 0 && units.length !== all) problems.push(`the shards ran ${units.length} units of ${all}`)
  }

  const rows = [['shard', 'units', 'image', 'test', 'build', 'total', 'result']]
  let critical = { index: 0, totalMs: -1 }
  for (const r of sorted) {
    const s = shardOf(r)
    if (r.total.durationMs > critical.totalMs) critical = { index: s.index, totalMs: r.total.durationMs }
    rows.push([
      `${s.index}/${s.total}`,
      r.shard ? String(r.shard.units.length) : '-',
      `${time(r.image.durationMs)} (${r.image.outcome})`,
      time(stepMs(r, 'test')),
      time(stepMs(r, 'build')),
      time(r.total.durationMs),
      r.exitCode === 0 ? 'ok' : `failed (exit ${r.exitCode})`,
    ])
  }
  rows.push([`critical path: shard ${critical.index}`, '', '', '', '', time(critical.totalMs), ''])
  const tests = sorted.map((r) => stepMs(r, 'test') ?? 0)
  const mean = tests.reduce((a, b) => a + b, 0) / total
  const balance = mean > 0 ? Math.max(...tests) / mean : 1
  const failed = sorted.filter((r) => r.exitCode !== 0).map((r) => shardOf(r).index)
  const bars = sorted.map((r) => {
    const s = shardOf(r)
    const units = r.shard ? `, ${r.shard.units.length} units` : ''
    return { label: `shard ${s.index}/${s.total}${units}`, startMs: 0, durationMs: r.total.durationMs, failed: r.exitCode !== 0 }
  })
  return { rows, critical, balance, problems, failed, bars }
}

/**
 * merge-reports' part of $GITHUB_STEP_SUMMARY: a bar per shard (the longest is the job's
 * wall time), then the table folded under it.
 */
export function mergedMarkdown(merged: MergedTimings): string {
  const title = `test-and-build, ${merged.bars.length} shards`
  const outcome = merged.failed.length ? `shard ${merged.failed.join(', ')} failed` : 'ok'
  const chart = mermaidGantt(`${title}: ${outcome}, critical path shard ${merged.critical.index} (${minutesSeconds(merged.critical.totalMs)})`, [{ name: 'shards', bars: merged.bars }])
  return `### ${title}\n\n${chart}\n\n<details><summary>Timing table</summary>\n\n${markdownTable(merged.rows)}\n\n</details>\n`
}
