// Splitting the test step across CI nodes (CircleCI `parallelism`, a GitHub Actions
// matrix): which shard this node is, which units exist, and which of them are its share.
//
// Every function here is pure: every node computes the same split from the same inputs
// (the unit list and the timings), so the shards cover every unit exactly once without
// talking to each other. The split is greedy largest-first into N bins, by the durations
// of an earlier run's JUnit when there is one (units it does not know get the median),
// else by count.
import { createHash } from 'node:crypto'
import { UsageError } from '../core/cli.mts'
import { ConfigError, type ShardConfig } from '../core/config.mts'
import { compareBytes } from '../core/git.mts'
import { compileGlobs } from '../core/globs.mts'

/** This node's place: shard `index` (1-based) of `total`. */
export interface ShardSpec {
  index: number
  total: number
}

/** The element of `steps.shard.test` that becomes the shard's units, one argument each. */
export const UNITS_PLACEHOLDER = '{units}'

/** `--shard K/N`, 1 <= K <= N. */
export function parseShardSpec(text: string): ShardSpec {
  const m = /^(\d{1,4})\/(\d{1,4})$/.exec(text.trim())
  const index = m ? Number(m[1]) : NaN
  const total = m ? Number(m[2]) : NaN
  if (!m || index < 1 || total < 1 || index > total) {
    throw new UsageError(`--shard: expected K/N with 1 <= K <= N (like 1/2), got ${JSON.stringify(text)}`)
  }
  return { index, total }
}

/**
 * Which shard this run is: `--shard K/N` when given, else CircleCI's
 * CIRCLE_NODE_INDEX (0-based) / CIRCLE_NODE_TOTAL when the total is above 1. Undefined:
 * not sharded.
 */
export function shardFromFlagOrEnv(flag: string | undefined, env: NodeJS.ProcessEnv): ShardSpec | undefined {
  if (flag !== undefined) return parseShardSpec(flag)
  const total = env.CIRCLE_NODE_TOTAL
  if (total === undefined || total === '' || total === '1') return undefined
  const index = env.CIRCLE_NODE_INDEX ?? ''
  if (!/^\d+$/.test(total) || !/^\d+$/.test(index) || Number(index) >= Number(total)) {
    throw new UsageError(`CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL: expected 0 <= index < total, got ${JSON.stringify(index)}/${JSON.stringify(total)}`)
  }
  return { index: Number(index) + 1, total: Number(total) }
}

/**
 * The shard this run tests, from the one asked for (shardFromFlagOrEnv): none when the
 * run is not the test step's (`--only build`, `--only integration`), and one shard of one
 * when steps.shard is the only test command (it is the whole suite). A shard asked for
 * without steps.shard is a usage error, naming where it was asked for.
 */
export function shardToRun(
  asked: ShardSpec | undefined,
  { flag, env, sharding, testStep, only }: { flag: string | undefined; env: NodeJS.ProcessEnv; sharding: ShardConfig | undefined; testStep: boolean; only: string | undefined },
): ShardSpec | undefined {
  if (asked && !sharding) {
    const from = flag !== undefined ? `--shard ${flag}` : `CIRCLE_NODE_TOTAL=${env.CIRCLE_NODE_TOTAL}`
    throw new UsageError(`${from}: build.config.json has no steps.shard (which units exist, and the test command that takes them)`)
  }
  if (only !== undefined && only !== 'test') return undefined
  if (!asked && sharding && !testStep) return { index: 1, total: 1 }
  return asked
}

/** `K-of-N`, for file names. */
export const shardLabel = (s: ShardSpec): string => `${s.index}-of-${s.total}`

/**
 * The files `steps.shard.units` names, sorted bytewise: the repository globs of
 * lib/core/globs.mts over the repo-relative paths git sees. A
 * pattern that matches nothing is a config error (a typo must not shrink the suite).
 */
export function selectUnitFiles(files: string[], patterns: string[]): string[] {
  const { includes, excluded } = compileGlobs(patterns)
  const selected = new Set<string>()
  for (const glob of includes) {
    const matched = files.filter((f) => glob.matches(f))
    if (matched.length === 0) throw new ConfigError(`steps.shard.units: ${JSON.stringify(glob.pattern)} matches no file git sees`)
    for (const f of matched) selected.add(f)
  }
  return [...selected].filter((f) => !excluded(f)).sort(compareBytes)
}

/** The units a `steps.shard.list` command printed: one per non-empty line, trimmed, sorted, unique. */
export function parseUnitList(stdout: string): string[] {
  return [...new Set(stdout.split('\n').map((l) => l.trim()).filter(Boolean))].sort(compareBytes)
}

/** `steps.shard.test` with its `{units}` element replaced by the units, one argument each. */
export function shardCommand(template: string[], units: string[]): string[] {
  return template.flatMap((word) => (word === UNITS_PLACEHOLDER ? units : [word]))
}

// --- JUnit -------------------------------------------------------------------------

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) =>
    e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : ENTITIES[e],
  )
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** The attributes of one start tag's text (`<testsuite a="1" b='2'>`). */
export function xmlAttributes(tag: string): Record<string, string> {
  const attrs: Record<string, string> = {}
  for (const m of tag.matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attrs[m[1]] = unescapeXml(m[2] ?? m[3])
  return attrs
}

/** Every `<testsuite ...>` start tag (not `<testsuites>`), outside comments. */
function suiteTags(xml: string): string[] {
  return [...xml.replace(/<!--[\s\S]*?-->/g, '').matchAll(/<testsuite(?=[\s>/])[^>]*>/g)].map((m) => m[0])
}

/**
 * Seconds per unit from a JUnit XML: each `<testsuite>`'s `time` under its `name` (a
 * file for vitest and jest, a package for go-junit-report and gotestsum). A name seen
 * twice in one file is summed.
 */
export function parseJUnitTimings(xml: string): Map<string, number> {
  const timings = new Map<string, number>()
  for (const tag of suiteTags(xml)) {
    const { name, time } = xmlAttributes(tag)
    const seconds = Number(time)
    if (!name || time === undefined || !Number.isFinite(seconds) || seconds < 0) continue
    timings.set(name, (timings.get(name) ?? 0) + seconds)
  }
  return timings
}

// --- the split ---------------------------------------------------------------------

export interface Bin {
  units: string[]
  /** The estimated duration (seconds from timings) or the unit count. */
  load: number
}

export interface Split {
  bins: Bin[]
  /** 'timings' when durations decided, else 'count'. */
  by: 'timings' | 'count'
  /** How many units had a timing of their own. */
  timed: number
  /** The weight given to units without a timing (the median), when split by timings. */
  median?: number
  /** A fingerprint of the inputs and the result: equal on every node that split alike. */
  id: string
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * Split `units` into `total` bins: largest first, each into the bin with the least load
 * so far (ties: the lowest bin). Weights are the timings' seconds (units without one get
 * the median of those that have one) or 1 each when no unit has a timing. The order of
 * `units` does not matter; each bin's units come out sorted.
 */
export function splitUnits(units: string[], total: number, timings: Map<string, number> = new Map()): Split {
  if (!Number.isInteger(total) || total < 1) throw new RangeError(`splitUnits: total must be a positive integer, got ${total}`)
  const all = [...new Set(units)].sort(compareBytes)
  const known = all.filter((u) => timings.has(u))
  const by = known.length > 0 ? 'timings' : 'count'
  const fill = by === 'timings' ? median(known.map((u) => timings.get(u)!)) : 1
  const weight = (u: string) => (by === 'timings' ? (timings.get(u) ?? fill) : 1)
  const order = all.map((u) => ({ u, w: weight(u) })).sort((a, b) => b.w - a.w || compareBytes(a.u, b.u))
  const bins: Bin[] = Array.from({ length: total }, () => ({ units: [], load: 0 }))
  for (const { u, w } of order) {
    let best = 0
    for (let i = 1; i < total; i++) if (bins[i].load < bins[best].load) best = i
    bins[best].units.push(u)
    bins[best].load += w
  }
  for (const bin of bins) bin.units.sort(compareBytes)
  const id = createHash('sha256').update(JSON.stringify(bins.map((b) => b.units))).digest('hex').slice(0, 16)
  return { bins, by, timed: known.length, median: by === 'timings' ? fill : undefined, id }
}

/** The slowest bin's load over the ideal (total load / N): 1 is perfect. */
export function imbalance(bins: Bin[]): number {
  const sum = bins.reduce((s, b) => s + b.load, 0)
  if (sum === 0) return 1
  return Math.max(...bins.map((b) => b.load)) / (sum / bins.length)
}

/** What this node runs: its units, and the test command they go into. */
export interface ShardPlan extends ShardSpec {
  units: string[]
  /** How many units all shards have together. */
  allUnits: number
  command: string[]
  split: Omit<Split, 'bins'>
}

export function planShard(shard: ShardSpec, config: ShardConfig, units: string[], timings?: Map<string, number>): ShardPlan {
  const split = splitUnits(units, shard.total, timings)
  const mine = split.bins[shard.index - 1].units
  const { bins, ...rest } = split
  return { ...shard, units: mine, allUnits: bins.reduce((n, b) => n + b.units.length, 0), command: shardCommand(config.test, mine), split: rest }
}

/** The log line of a shard's share: how many of all the units, split how. */
export function describeShare(plan: ShardPlan, timingsPath?: string): string {
  const how = plan.split.by === 'timings' ? `by the timings in ${timingsPath} (${plan.split.timed} of ${plan.allUnits} units timed)` : 'by count'
  const where = `shard ${plan.index}/${plan.total}`
  return plan.units.length === 0 ? `${where}: no units (${plan.allUnits} in all, split ${how}): nothing to test` : `${where}: ${plan.units.length} of ${plan.allUnits} units, split ${how}`
}
