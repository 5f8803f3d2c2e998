#!/usr/bin/env zx
// scripts/test-and-build.mts: the on-commit job (CircleCI job `test-and-build`,
// GitHub Actions workflow `ci.yml`).
//   1. Read the flags and build.config.json.
//   2. Make the build image available (the pull-or-build logic from lib/image/build-image.mts;
//      it first checks that the Docker daemon answers).
//   3. Start one container; run the test step, then the build step (or the one --only names).
//   4. Print the timing table (also when the image could not be made); append it to
//      $GITHUB_STEP_SUMMARY; write --report FILE (relative to the repository).
import fs from 'node:fs'
import path from 'node:path'
import { flag, main, parseFlags, UsageError, WorkError } from '../lib/core/cli.mts'
import { interrupted } from '../lib/core/interrupts.mts'
import { openProject } from '../lib/core/project.mts'
import { gitDirsOutside, runSteps } from '../lib/image/container.mts'
import { ensureBuildImage } from '../lib/image/build-image.mts'
import { info } from '../lib/core/log.mts'
import { planSteps, timingMarkdown, timingReport, timingTable, type StepResult, type TimingInput } from '../lib/image/steps.mts'

const usage = `
Usage: npx zx scripts/test-and-build.mts [options]

Make the build image available (as pull-or-build does), then run steps.test and
steps.build from build.config.json in ONE container: the repository mounted at its own
path, as your uid:gid, git usable inside. Prints a timing table (image, test, build,
total) on stderr. A failing step is named with its own exit code (in its line, the
table and the report), later steps do not run, and the script exits 1.

Options:
  --only STEP       run only this step: test, build or integration
                    (integration gets only steps.integrationEnv plus CI's own vars)
  --push            push the build image when this run built it
  --require-push    implies --push; a push that cannot happen fails the run
  --report FILE     write the timings as JSON to FILE; a relative FILE is relative
                    to the repository root (as CI means it), its directory is created
  --repo DIR        the repository (default: the one containing the current directory)
  --config FILE     the config file (default: <repo>/build.config.json)
  --registry HOST   override the registry (env: REGISTRY; empty = local-only)
  -h, --help        show this help

Environment:
  Passed into the container: CI, GITHUB_*, CIRCLE* (except names that look like
  secrets: *TOKEN*, *SECRET*, *PASSWORD*, *_KEY) and the names in steps.env.
  GITHUB_STEP_SUMMARY  when set, the timing table is appended to it as markdown.
  REGISTRY, REGISTRY_USERNAME/_PASSWORD, REGISTRY_RETRIES, REGISTRY_RETRY_DELAY_MS:
  as for pull-or-build.

Exit codes: 0 ok; 1 a step failed (its own exit code is in the table and the report),
the image could not be made, or the report could not be written; 2 bad usage or
config; 130/143 interrupted (SIGINT/SIGTERM; the container is removed).
`

await main(async () => {
  const started = performance.now()

  // 1. Flags, config, and which steps run (a bad --only fails before any work).
  const flags = parseFlags(process.argv.slice(3), {
    usage,
    boolean: ['push', 'require-push'],
    string: ['only', 'report', 'repo', 'config', 'registry'],
  })
  if (!flags) return 0
  const { repo, config } = await openProject(flags)
  const plans = planSteps(config, flags.only)
  // CI names the report by a path in the repository, whatever directory the step runs in.
  const report = flag(flags, 'report') ? path.resolve(repo.root, flag(flags, 'report')!) : undefined

  // The table, summary and report of step 4, for every exit but bad usage: the timing table, the summary, the report.
  const finish = (timing: TimingInput): number => {
    info('\n' + timingTable(timing))
    if (process.env.GITHUB_STEP_SUMMARY) fs.appendFileSync(process.env.GITHUB_STEP_SUMMARY, timingMarkdown(timing) + '\n')
    if (report) writeReport(report, timingReport(timing), timing.exitCode === 0)
    return timing.exitCode
  }

  // 2. The build image (and, meanwhile, where a worktree's git data lives: it is mounted too).
  //    A build that fails still gets its timing table: how long it took before it broke.
  const imageStarted = performance.now()
  const [image, gitDirs] = await Promise.all([
    ensureBuildImage({
      repo,
      config,
      push: Boolean(flags.push || flags['require-push']),
      requirePush: Boolean(flags['require-push']),
    }),
    gitDirsOutside(repo.root),
  ]).catch((error) => {
    if (!(error instanceof UsageError) && !interrupted()) {
      const durationMs = performance.now() - imageStarted
      finish({ image: { ref: '', outcome: 'failed', durationMs }, steps: plans, results: [], totalMs: performance.now() - started, exitCode: 1 })
    }
    throw error
  })

  // 3. The steps, in one container. A failing step's ✘ line (under its output) and the
  //    table name it and its own exit code; the run exits 1, as every script's failed work.
  const results: StepResult[] = await runSteps({ image: image.ref, root: repo.root, mounts: gitDirs, docker: config.steps.docker }, plans)
  if (interrupted()) return 130 // the interrupt handler is exiting with 130/143 already
  const failed = results.some((r) => r.exitCode !== 0 && r.exitCode !== null)

  return finish({
    image: { ref: image.ref, outcome: image.outcome, reason: image.reason, durationMs: image.durations.total },
    steps: plans,
    results,
    totalMs: performance.now() - started,
    exitCode: failed ? 1 : 0,
  })
})

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
