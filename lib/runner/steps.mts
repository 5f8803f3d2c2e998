// test-and-build's pieces that need no Docker: which steps run (`--only`), which env
// vars reach them, and the timing table (text, markdown, JSON).
import { UsageError } from '../core/cli.mts'
import type { Config } from '../core/config.mts'
import { BUILD_REASONS, type BuildReason, type Outcome } from '../image/build-image.mts'
import type { CacheLookup } from '../image/cache-image.mts'
import type { ContainerStepResult } from './container.mts'
import { mermaidGantt, minutesSeconds, type GanttBar, type GanttSection } from './gantt.mts'
import { markdownTable, mmss, table } from '../core/log.mts'
import type { ShardPlan } from './shard.mts'

export type StepName = 'test' | 'build' | 'integration'
export const STEP_NAMES: StepName[] = ['test', 'build', 'integration']

export interface StepPlan {
  name: StepName
  command: string[]
  /** Names of the env vars passed into the container for this step (values stay in our env). */
  env: string[]
}

/**
 * CI's own variables, passed through when set: GitHub Actions' and CircleCI's documented
 * default variables, by name. Not by prefix: a prefix lets through whatever a project
 * names like CI's own (`GITHUB_PAT`, `GITHUB_APP_PEM`, `CIRCLECI_PAT`, `CIRCLE_TOKEN`).
 * Left out on purpose: CircleCI's OIDC tokens (credentials), and Actions' file-command
 * paths (`GITHUB_ENV`, `GITHUB_OUTPUT`, `GITHUB_PATH`, `GITHUB_STEP_SUMMARY`: writing to
 * them sets the job's env and outputs; the scripts write the summary themselves).
 * Anything else a step needs is listed by name in `steps.env`.
 */
export const CI_ENV_NAMES: readonly string[] = [
  'CI',
  // GitHub Actions' default environment variables.
  'GITHUB_ACTION',
  'GITHUB_ACTION_PATH',
  'GITHUB_ACTION_REPOSITORY',
  'GITHUB_ACTIONS',
  'GITHUB_ACTOR',
  'GITHUB_ACTOR_ID',
  'GITHUB_API_URL',
  'GITHUB_BASE_REF',
  'GITHUB_EVENT_NAME',
  'GITHUB_EVENT_PATH',
  'GITHUB_GRAPHQL_URL',
  'GITHUB_HEAD_REF',
  'GITHUB_JOB',
  'GITHUB_REF',
  'GITHUB_REF_NAME',
  'GITHUB_REF_PROTECTED',
  'GITHUB_REF_TYPE',
  'GITHUB_REPOSITORY',
  'GITHUB_REPOSITORY_ID',
  'GITHUB_REPOSITORY_OWNER',
  'GITHUB_REPOSITORY_OWNER_ID',
  'GITHUB_RETENTION_DAYS',
  'GITHUB_RUN_ATTEMPT',
  'GITHUB_RUN_ID',
  'GITHUB_RUN_NUMBER',
  'GITHUB_SERVER_URL',
  'GITHUB_SHA',
  'GITHUB_TRIGGERING_ACTOR',
  'GITHUB_WORKFLOW',
  'GITHUB_WORKFLOW_REF',
  'GITHUB_WORKFLOW_SHA',
  'GITHUB_WORKSPACE',
  // CircleCI's built-in environment variables.
  'CIRCLECI',
  'CIRCLE_BRANCH',
  'CIRCLE_BUILD_NUM',
  'CIRCLE_BUILD_URL',
  'CIRCLE_JOB',
  'CIRCLE_NODE_INDEX',
  'CIRCLE_NODE_TOTAL',
  'CIRCLE_PR_NUMBER',
  'CIRCLE_PR_REPONAME',
  'CIRCLE_PR_USERNAME',
  'CIRCLE_PREVIOUS_BUILD_NUM',
  'CIRCLE_PROJECT_REPONAME',
  'CIRCLE_PROJECT_USERNAME',
  'CIRCLE_PULL_REQUEST',
  'CIRCLE_PULL_REQUESTS',
  'CIRCLE_REPOSITORY_URL',
  'CIRCLE_SHA1',
  'CIRCLE_TAG',
  'CIRCLE_USERNAME',
  'CIRCLE_WORKFLOW_ID',
  'CIRCLE_WORKFLOW_JOB_ID',
  'CIRCLE_WORKFLOW_WORKSPACE_ID',
  'CIRCLE_WORKING_DIRECTORY',
]

/** `NAME` matches exactly, `PREFIX*` matches by prefix. */
function matches(name: string, pattern: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern
}

/**
 * The env var names to pass into a step's container: those set in `env` that are CI's
 * own (CI_ENV_NAMES) or are listed in `listed` (names, or `PREFIX*`: the project's
 * choice, secret-looking or not). Sorted.
 */
export function passThroughEnv(env: NodeJS.ProcessEnv, listed: string[]): string[] {
  const names = Object.keys(env).filter((name) => env[name] !== undefined)
  return names.filter((name) => CI_ENV_NAMES.includes(name) || listed.some((p) => matches(name, p))).sort()
}

/**
 * The one exception to "only steps.integrationEnv reaches the integration container":
 * with `steps.docker` it drives the host's Docker Engine, and through it can read
 * whatever the job holds (another container's env, the runner's processes). Said once,
 * loudly, whenever the integration step runs so; undefined otherwise.
 */
export function integrationDockerWarning(config: Pick<Config, 'steps'>, only: string | undefined): string | undefined {
  if (only !== 'integration' || !config.steps.docker) return undefined
  return 'steps.docker: the integration container drives the host\'s Docker Engine, through which its code can read every secret of this job, not only steps.integrationEnv: give the integration job no secret its tests may not see'
}

/**
 * The steps to run, in order: `test` then `build` (those configured), or the one named
 * by `--only`. The integration step gets only `steps.integrationEnv` plus CI's own vars;
 * test and build get `steps.env` plus CI's own.
 */
export function planSteps(config: Config, only: string | undefined, env: NodeJS.ProcessEnv = process.env, shard?: ShardPlan): StepPlan[] {
  if (only !== undefined && !STEP_NAMES.includes(only as StepName)) {
    throw new UsageError(`--only: expected one of ${STEP_NAMES.join(', ')}, got ${JSON.stringify(only)}`)
  }
  const names: StepName[] = only ? [only as StepName] : ['test', 'build']
  const plans: StepPlan[] = []
  for (const name of names) {
    // Sharded: the test step is this shard's command (none when it got no units), and
    // the build runs on shard 1 only (or in its own job, `--only build`).
    if (shard && name === 'build' && !only && shard.index !== 1) continue
    if (shard && name === 'test') {
      if (shard.units.length > 0) plans.push({ name, command: shard.command, env: passThroughEnv(env, config.steps.env) })
      continue
    }
    const command = config.steps[name]
    if (!command) {
      if (only) throw new UsageError(`--only ${name}: steps.${name} is not set in build.config.json`)
      continue
    }
    const listed = name === 'integration' ? config.steps.integrationEnv : config.steps.env
    plans.push({ name, command, env: passThroughEnv(env, listed) })
  }
  if (plans.length === 0 && !shard) throw new UsageError('build.config.json: set steps.test and/or steps.build (the commands to run in the build image)')
  return plans
}

/** A step's exit code (null: it did not run) and duration, as runSteps returns it. */
export type StepResult = ContainerStepResult<StepName>

export interface TimingInput {
  /** `failed`: the build image could not be made, so no step ran. `reason`: why the image was built, when this run built it. */
  image: { ref: string; outcome: Outcome | 'failed'; reason?: BuildReason; durationMs: number; cache?: CacheLookup }
  steps: StepPlan[]
  results: StepResult[]
  totalMs: number
  /** The script's exit code: 0 ok, 1 a step (or the image) failed; a step's own code is in its row. */
  exitCode: number
  /** Set when this run is one shard of the test step. */
  shard?: ShardPlan
}

function status(plan: StepPlan, results: StepResult[]): { result?: StepResult; text: string } {
  const result = results.find((r) => r.name === plan.name)
  if (!result || result.exitCode === null) return { text: 'skipped' }
  return { result, text: result.exitCode === 0 ? 'ok' : `failed (exit ${result.exitCode})` }
}

/** What failed, for the total row: `failed (test: exit 2)`, `failed (image)`. */
function totalText(input: TimingInput): string {
  if (input.exitCode === 0) return 'ok'
  if (input.image.outcome === 'failed') return 'failed (image)'
  const failed = input.results.find((r) => r.exitCode !== null && r.exitCode !== 0)
  return failed ? `failed (${failed.name}: exit ${failed.exitCode})` : `failed (exit ${input.exitCode})`
}

/** The timing table: image pull/build, each step, total, in mm:ss. */
export function timingRows(input: TimingInput): string[][] {
  const rows = [['phase', 'time', 'result']]
  const imageFailed = input.image.outcome === 'failed'
  const cache = input.image.cache ? cacheText(input.image.cache) : undefined
  const notes = [input.image.reason ? BUILD_REASONS[input.image.reason] : undefined, cache].filter(Boolean)
  const why = notes.length ? ` (${notes.join('; ')})` : ''
  rows.push([imageFailed ? 'image' : `image (${input.image.outcome})`, mmss(input.image.durationMs), imageFailed ? 'failed' : `ok${why}`])
  const { shard } = input
  if (shard && shard.units.length === 0) rows.push([`test (shard ${shard.index}/${shard.total})`, '--:--', 'no units'])
  for (const plan of input.steps) {
    const { result, text } = status(plan, input.results)
    const name = shard && plan.name === 'test' ? `test (shard ${shard.index}/${shard.total}, ${shard.units.length} of ${shard.allUnits} units)` : plan.name
    rows.push([name, result ? mmss(result.durationMs) : '--:--', text])
  }
  rows.push(['total', mmss(input.totalMs), totalText(input)])
  return rows
}

/** `cache: commit 1a2b3c4d, 2 back`, `cache: local image`, `no cache`: the image row's note on what the build reused. */
function cacheText(cache: CacheLookup): string {
  const image = cache.image
  if (!image) return 'no cache'
  if (image.source === 'local') return 'cache: a local earlier build'
  return `cache: commit ${image.commit!.slice(0, 8)}, ${image.distance} back${image.via === 'merge-base' ? ' (merge-base)' : ''}`
}

export function timingTable(input: TimingInput): string {
  return table(timingRows(input))
}

/**
 * The phases as bars of a chart: the build image from the start, then each step that
 * ran, one after another in the container. A skipped step has no bar.
 */
export function timingBars(input: TimingInput): GanttSection[] {
  const image: GanttBar = {
    label: input.image.outcome === 'failed' ? 'image' : `image (${input.image.outcome})`,
    startMs: 0,
    durationMs: input.image.durationMs,
    failed: input.image.outcome === 'failed',
  }
  let at = input.image.durationMs
  const steps: GanttBar[] = []
  for (const plan of input.steps) {
    const { result } = status(plan, input.results)
    if (!result) continue
    const label = input.shard && plan.name === 'test' ? `test (shard ${input.shard.index}/${input.shard.total}, ${input.shard.units.length} of ${input.shard.allUnits} units)` : plan.name
    steps.push({ label, startMs: at, durationMs: result.durationMs, failed: result.exitCode !== 0 })
    at += result.durationMs
  }
  return [
    { name: 'build image', bars: [image] },
    { name: 'steps', bars: steps },
  ]
}

/**
 * For $GITHUB_STEP_SUMMARY: the phases as a chart (GitHub renders Mermaid), then the
 * timing table folded under it, with the result of each phase.
 */
export function timingMarkdown(input: TimingInput): string {
  const title = input.shard ? `test-and-build, shard ${input.shard.index}/${input.shard.total}` : 'test-and-build'
  const chart = mermaidGantt(`${title}: ${totalText(input)} in ${minutesSeconds(input.totalMs)}`, timingBars(input))
  return `### ${title}\n\n${chart}\n\n<details><summary>Timing table</summary>\n\n${markdownTable(timingRows(input))}\n\n</details>\n\nBuild image: \`${input.image.ref}\`\n`
}

/**
 * The `--report FILE` JSON. `exitCode` is the script's (0 or 1); a failed step's own
 * exit code is in its entry and in `failed`.
 */
export function timingReport(input: TimingInput) {
  const failedStep = input.results.find((r) => r.exitCode !== null && r.exitCode !== 0)
  return {
    image: {
      ref: input.image.ref,
      outcome: input.image.outcome,
      reason: input.image.reason ?? null,
      durationMs: Math.round(input.image.durationMs),
      time: mmss(input.image.durationMs),
      // When this run built the image: what it was offered as --cache-from (null: nothing), and why.
      ...(input.image.cache ? { cache: cacheReport(input.image.cache) } : {}),
    },
    steps: input.steps.map((plan) => {
      const { result, text } = status(plan, input.results)
      return {
        name: plan.name,
        status: text === 'ok' ? 'ok' : text === 'skipped' ? 'skipped' : 'failed',
        exitCode: result?.exitCode ?? null,
        durationMs: result ? Math.round(result.durationMs) : null,
        time: result ? mmss(result.durationMs) : null,
      }
    }),
    total: { durationMs: Math.round(input.totalMs), time: mmss(input.totalMs) },
    exitCode: input.exitCode,
    /** What failed: a step with its own exit code, or the image; null when all went well. */
    failed: failedStep
      ? { phase: failedStep.name, exitCode: failedStep.exitCode }
      : input.image.outcome === 'failed'
        ? { phase: 'image', exitCode: null }
        : null,
    ...(input.shard ? { shard: shardReport(input.shard) } : {}),
  }
}

/**
 * The report's `image.cache`: the cache image and where it came from (with its full registry
 * cache ref when one was used), or null with a note; `export`, when the build had one to make,
 * whether the full registry cache was exported, failed, or cannot be on this engine.
 */
export function cacheReport(cache: CacheLookup) {
  return {
    image: cache.image
      ? { ref: cache.image.ref, source: cache.image.source, commit: cache.image.commit ?? null, distance: cache.image.distance ?? null, via: cache.image.via ?? null, ...(cache.image.cacheRef ? { cacheRef: cache.image.cacheRef } : {}) }
      : null,
    note: cache.note ?? null,
    lookupMs: cache.durationMs,
    shallow: cache.shallow,
    ...(cache.export ? { export: cache.export } : {}),
  }
}

/** A shard's part of the report: enough for merge-reports to check that the shards split alike. */
export function shardReport(shard: ShardPlan) {
  return {
    index: shard.index,
    total: shard.total,
    units: shard.units,
    allUnits: shard.allUnits,
    by: shard.split.by,
    timed: shard.split.timed,
    splitId: shard.split.id,
  }
}
