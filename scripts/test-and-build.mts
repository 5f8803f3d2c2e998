#!/usr/bin/env zx
// scripts/test-and-build.mts: the on-commit job (CircleCI job `test-and-build`,
// GitHub Actions workflow `ci.yml`).
//   1. Read the flags and build.config.json.
//   2. Sharded (--shard K/N, or CircleCI's parallelism) with units that are files: list
//      them from git and keep this shard's share (the same split on every node: by the
//      --timings of an earlier run, else by count).
//   3. Make the build image available (the pull-or-build logic from lib/image/build-image.mts;
//      it first checks that the Docker daemon answers). Units a command lists: listed
//      in it, then split as in 2.
//   4. Start one container; run the test step, then the build step (or the one --only
//      names; sharded, the build runs on shard 1 only).
//   5. Print the timing table (also when the image could not be made); append a chart of
//      the phases and the table to $GITHUB_STEP_SUMMARY; write --report FILE (relative
//      to the repository).
import fs from 'node:fs'
import path from 'node:path'
import { appendStepSummary } from '../lib/core/ci-runner.mts'
import { commandFor, flag, main, parseFlags, PROJECT_FLAGS, UsageError, WorkError, type CommandSpec } from '../lib/core/cli.mts'
import { interrupted } from '../lib/core/interrupts.mts'
import { openProject } from '../lib/core/project.mts'
import { gitDirsOutside, outputInContainer, runSteps } from '../lib/runner/container.mts'
import { ensureBuildImage } from '../lib/image/build-image.mts'
import { pnpFoldersOutside } from '../lib/runner/pnp.mts'
import { listWorktreeFiles } from '../lib/core/git.mts'
import { info, success, warn } from '../lib/core/log.mts'
import { describeShare, parseUnitList, planShard, selectUnitFiles, shardFromFlagOrEnv, shardToRun, type ShardPlan, type ShardSpec } from '../lib/runner/shard.mts'
import type { Config, ShardConfig } from '../lib/core/config.mts'
import { readTimings, renameShardJUnit } from '../lib/runner/shard-reports.mts'
import { integrationDockerWarning, passThroughEnv, planSteps, shardReport, timingMarkdown, timingReport, timingTable, type StepResult, type TimingInput } from '../lib/runner/steps.mts'

const command = {
  name: 'test-and-build',
  about: `
Make the build image available (as pull-or-build does), then run steps.test and
steps.build from build.config.json in ONE container: the repository mounted at its own
path, as your uid:gid, git usable inside. Prints a timing table (image, test, build,
total) on stderr. A failing step is named with its own exit code (in its line, the
table and the report), later steps do not run, and the script exits 1.
`,
  flags: {
    only: { type: 'string', value: 'STEP', help: 'run only this step: test, build or integration (integration gets only steps.integrationEnv plus CI\'s own vars)' },
    push: { help: 'push the build image when this run built it' },
    'require-push': { help: 'implies --push; a push that cannot happen fails the run' },
    'cache-from': { default: true, help: 'build the image without reusing an earlier build image (as pull-or-build: by default the nearest earlier one, local or in the registry, is the build\'s --cache-from)' },
    report: { type: 'string', value: 'FILE', help: 'write the timings as JSON to FILE; a relative FILE is relative to the repository root (as CI means it), its directory is created' },
    shard: { type: 'string', value: 'K/N', help: 'run shard K (1-based) of N of the test step (steps.shard); the build step runs on shard 1 only. On CircleCI, CIRCLE_NODE_INDEX/TOTAL decide when the job has parallelism > 1 and no --shard is given.' },
    timings: { type: 'string', value: 'PATH', help: 'a JUnit XML of an earlier run (or a directory of them): the split balances the shards by its durations (units it lacks count as its median). Missing or absent: the split goes by count.' },
    plan: { help: 'print this shard\'s units and steps as JSON and run nothing' },
    repo: PROJECT_FLAGS.repo,
    config: PROJECT_FLAGS.config,
    registry: PROJECT_FLAGS.registry,
  },
  more: `
Environment:
  Passed into the container, when set: CI and the default variables GitHub Actions
  and CircleCI document, each by name (not by prefix: a GITHUB_PAT or CIRCLE_TOKEN of
  the project's stays out, and so do CircleCI's OIDC tokens and Actions' file-command
  paths GITHUB_ENV, GITHUB_OUTPUT, GITHUB_PATH, GITHUB_STEP_SUMMARY), and the names in
  steps.env (NAME, or PREFIX* for every name with that prefix). The integration step
  gets steps.integrationEnv instead of steps.env.
  GITHUB_STEP_SUMMARY  when set, a chart of the phases and the timing table are
                       appended to it as markdown.
  REGISTRY, REGISTRY_USERNAME/_PASSWORD, REGISTRY_RETRIES, REGISTRY_RETRY_DELAY_MS,
  CBS_CACHE_DEPTH: as for pull-or-build.

Sharding (build.config.json steps.shard): the units are the files git sees matching
"units" (globs) or the lines "list" prints in the build image; steps.shard.test runs
with its "{units}" element replaced by this shard's units, one argument each. Every
node computes the same split from the same inputs. A shard with no units succeeds.
When steps.shard.junit names the file the test step writes, each shard's copy is
renamed <name>.shard-K-of-N.xml and names its shard. Merge the shards' --report files
and JUnit files with ${commandFor('merge-reports')}.

Exit codes: 0 ok; 1 a step failed (its own exit code is in the table and the report),
the image could not be made, or the report could not be written; 2 bad usage or
config; 130/143 interrupted (SIGINT/SIGTERM; the container is removed).
`,
} as const satisfies CommandSpec

await main(async () => {
  const started = performance.now()

  // 1. Flags, config, which steps run (a bad --only fails before any work) and which
  //    shard of the test step.
  const flags = parseFlags(process.argv.slice(3), command)
  if (!flags) return 0
  const only = flags.only
  const asked = shardFromFlagOrEnv(flags.shard, process.env)
  const { repo, config } = await openProject(flags)
  // CI names the report by a path in the repository, whatever directory the step runs in.
  const report = flag(flags, 'report') ? path.resolve(repo.root, flag(flags, 'report')!) : undefined
  const sharding = config.steps.shard
  const shard = shardToRun(asked, { flag: flags.shard, env: process.env, sharding, testStep: Boolean(config.steps.test), only })
  planSteps(config, only) // a bad --only fails here, before any work
  const dockerWarning = integrationDockerWarning(config, only)
  if (dockerWarning) warn(dockerWarning)
  const timingsPath = flag(flags, 'timings')
  const timings = timingsPath ? readTimings(timingsPath) : undefined
  if (timingsPath && !timings && shard) warn(`--timings ${timingsPath}: not found (a first run?); splitting by count`)
  const split = { timings: timings?.timings, timingsPath }

  // 2. Units that are files: listed from git now, before any image work. Every node
  //    lists the same units and computes the same split.
  const filesShare = shard && sharding?.units ? share(shard, sharding, selectUnitFiles(await listWorktreeFiles(repo.root), sharding.units), split) : undefined
  const listCommand = shard && sharding?.list
  if (flags.plan && !listCommand) return printPlan(config, only, filesShare)

  // 3. The build image (and, meanwhile, where a worktree's git data lives: it is mounted
  //    too); units that a command lists are listed in it. A build that fails still gets
  //    its timing table: how long it took before it broke.
  const imageStarted = performance.now()
  const [image, gitDirs] = await Promise.all([
    ensureBuildImage({
      repo,
      config,
      push: Boolean(flags.push || flags['require-push']),
      requirePush: Boolean(flags['require-push']),
      cacheFrom: flags['cache-from'],
      configFile: flags.config || undefined,
    }),
    gitDirsOutside(repo.root),
  ]).catch((error) => {
    if (!(error instanceof UsageError) && !interrupted()) {
      const durationMs = performance.now() - imageStarted
      const steps = planSteps(config, only, process.env, filesShare)
      finish({ image: { ref: '', outcome: 'failed', durationMs }, steps, results: [], totalMs: performance.now() - started, exitCode: 1, shard: filesShare }, report)
    }
    throw error
  })
  // A Yarn Plug'n'Play checkout's packages outside it (Yarn's global cache) are mounted
  // too, read-only: the steps run under the checkout's own install.
  const spec = { image: image.ref, root: repo.root, mounts: gitDirs, readOnlyMounts: pnpFoldersOutside(repo.root), docker: config.steps.docker }
  const shardPlan =
    shard && sharding && listCommand
      ? share(shard, sharding, parseUnitList(await outputInContainer(spec, listCommand, passThroughEnv(process.env, config.steps.env), 'steps.shard.list')), split)
      : filesShare
  if (flags.plan) return printPlan(config, only, shardPlan)
  const plans = planSteps(config, only, process.env, shardPlan)

  // 4. The steps, in one container. A failing step's ✘ line (under its output) and the
  //    table name it and its own exit code; the run exits 1, as every script's failed work.
  const results: StepResult[] = plans.length ? await runSteps(spec, plans) : []
  if (interrupted()) return 130 // the interrupt handler is exiting with 130/143 already
  if (shardPlan && sharding?.junit && plans.some((p) => p.name === 'test')) {
    const renamed = renameShardJUnit(repo.root, sharding.junit, shardPlan)
    if (renamed) info(`JUnit of shard ${shardPlan.index}/${shardPlan.total}: ${renamed}`)
  }
  const failed = results.some((r) => r.exitCode !== 0 && r.exitCode !== null)

  // 5. The timing table, the summary, the report.
  return finish(
    {
      image: { ref: image.ref, outcome: image.outcome, reason: image.reason, durationMs: image.durations.total, cache: image.cache },
      steps: plans,
      results,
      totalMs: performance.now() - started,
      exitCode: failed ? 1 : 0,
      shard: shardPlan,
    },
    report,
  )
})

/** This shard's share of the units, logged (steps 2 and 3). */
function share(shard: ShardSpec, sharding: ShardConfig, units: string[], split: { timings?: Map<string, number>; timingsPath?: string }): ShardPlan {
  const plan = planShard(shard, sharding, units, split.timings)
  if (plan.units.length === 0) success(describeShare(plan, split.timingsPath))
  else info(describeShare(plan, split.timingsPath))
  return plan
}

/** --plan: this shard's units and the steps, as JSON; nothing runs (steps 2 and 3). */
function printPlan(config: Config, only: string | undefined, shardPlan: ShardPlan | undefined): number {
  const steps = planSteps(config, only, process.env, shardPlan).map((p) => ({ name: p.name, command: p.command }))
  process.stdout.write(JSON.stringify({ shard: shardPlan ? shardReport(shardPlan) : null, steps }, null, 2) + '\n')
  return 0
}

/** The timing table, the job summary and the --report, for every exit but bad usage (steps 3 and 5). */
function finish(timing: TimingInput, report: string | undefined): number {
  info('\n' + timingTable(timing))
  appendStepSummary(timingMarkdown(timing))
  if (report) writeReport(report, timingReport(timing), timing.exitCode === 0)
  return timing.exitCode
}

/**
 * Write the --report JSON, creating its directory. A report that cannot be written is
 * one line, and says whether the steps themselves passed: it turns the run red (CI
 * expects the file), but never silently.
 */
function writeReport(file: string, json: unknown, green: boolean): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, JSON.stringify(json, null, 2) + '\n')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const reason = code === 'EEXIST' || code === 'ENOTDIR' ? `${path.dirname(file)} is not a directory` : code === 'EACCES' ? 'permission denied' : (error as Error).message
    throw new WorkError(`could not write the report ${file} (${reason})${green ? '; the steps themselves passed' : ''}`)
  }
}
