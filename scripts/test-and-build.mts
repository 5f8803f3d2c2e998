#!/usr/bin/env zx
// scripts/test-and-build.mts: the on-commit job (CircleCI job `test-and-build`,
// GitHub Actions workflow `ci.yml`).
//   1. Read the flags and build.config.json.
//   2. Make the build image available (the pull-or-build logic from lib/image/build-image.mts;
//      it first checks that the Docker daemon answers).
//   3. Start one container; run the test step, then the build step (or the one --only names).
//   4. Print the timing table; append it to $GITHUB_STEP_SUMMARY; write --report FILE.
import fs from 'node:fs'
import { flag, main, parseFlags } from '../lib/core/cli.mts'
import { interrupted } from '../lib/core/interrupts.mts'
import { loadConfig } from '../lib/core/config.mts'
import { gitDirsOutside, runSteps } from '../lib/image/container.mts'
import { ensureBuildImage } from '../lib/image/build-image.mts'
import { repoInfo } from '../lib/core/git.mts'
import { failure, info } from '../lib/core/log.mts'
import { planSteps, timingMarkdown, timingReport, timingTable, type StepResult } from '../lib/image/steps.mts'

const usage = `
Usage: npx zx scripts/test-and-build.mts [options]

Make the build image available (as pull-or-build does), then run steps.test and
steps.build from build.config.json in ONE container: the repository mounted at its own
path, as your uid:gid, git usable inside. Prints a timing table (image, test, build,
total) on stderr. A failing step is named, later steps do not run, and its exit code
is this script's.

Options:
  --only STEP       run only this step: test, build or integration
                    (integration gets only steps.integrationEnv plus CI's own vars)
  --push            push the build image when this run built it
  --require-push    implies --push; a push that cannot happen fails the run
  --report FILE     write the timings as JSON to FILE
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

Exit codes: 0 ok; a failing step's own exit code; 1 the image could not be made;
2 bad usage or config; 130/143 interrupted (SIGINT/SIGTERM; the container is removed).
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
  const repo = await repoInfo(flag(flags, 'repo') ?? process.cwd())
  const config = await loadConfig({ root: repo.root, file: flag(flags, 'config'), registry: flags.registry as string | undefined })
  const plans = planSteps(config, flags.only as string | undefined)

  // 2. The build image (and, meanwhile, where a worktree's git data lives: it is mounted too).
  const [image, gitDirs] = await Promise.all([
    ensureBuildImage({
      repo,
      config,
      push: Boolean(flags.push || flags['require-push']),
      requirePush: Boolean(flags['require-push']),
    }),
    gitDirsOutside(repo.root),
  ])

  // 3. The steps, in one container.
  const results: StepResult[] = await runSteps({ image: image.ref, root: repo.root, mounts: gitDirs, docker: config.steps.docker }, plans)
  if (interrupted()) return 130 // the interrupt handler is exiting with 130/143 already
  const failed = results.find((r) => r.exitCode !== 0)
  const exitCode = failed ? (failed.exitCode ?? 1) : 0

  // 4. The timing table, the summary, the report.
  const timing = {
    image: { ref: image.ref, outcome: image.outcome, durationMs: image.durations.total },
    steps: plans,
    results,
    totalMs: performance.now() - started,
    exitCode,
  }
  info('\n' + timingTable(timing))
  if (process.env.GITHUB_STEP_SUMMARY) fs.appendFileSync(process.env.GITHUB_STEP_SUMMARY, timingMarkdown(timing) + '\n')
  const report = flag(flags, 'report')
  if (report) fs.writeFileSync(report, JSON.stringify(timingReport(timing), null, 2) + '\n')
  if (failed) failure(`Error: the ${failed.name} step failed (exit code ${exitCode}); later steps did not run`)
  return exitCode
})
