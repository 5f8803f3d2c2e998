#!/usr/bin/env zx
// scripts/update-generated.mts: the bot that keeps generated files current. Called by the
// GitHub Actions workflow `nightly.yml` (job `update-generated`) and the CircleCI
// workflow `nightly` (a scheduled pipeline); by hand with --dry-run to try a generator.
//   1. Read the flags, build.config.json (`generated`) and the token; the env the commands
//      get (steps.env by exact name, no variable holding a secret of this run).
//   2. A scratch repository (your checkout is read, never written), and the remote's
//      default branch fetched into it: every command runs on it, every pull request is
//      based on it.
//   3. Make the build image available (the pull-or-build logic from lib/image/build-image.mts).
//   4. Per entry, on an export of the default branch with no git data: run the command in
//      the build image; changes outside its `paths`, anything there but regular files, or
//      a failing command fail it and push nothing; the regular files inside are committed
//      on update-generated/<name>, pushed when they differ from the branch, and get one
//      pull request (opened, or updated); no change closes the stale pull request.
//   5. Report: a summary on stderr, JSON with --json; exit 1 if an entry failed.
import { flag, main, parseFlags, PROJECT_FLAGS, UsageError, type CommandSpec } from '../lib/core/cli.mts'
import { openProject } from '../lib/core/project.mts'
import { ensureBuildImage } from '../lib/image/build-image.mts'
import { githubClient, readGitHubToken } from '../lib/bots/github.mts'
import { githubRepoOf, NO_GITHUB_REPO } from '../lib/bots/remote.mts'
import { ciLogUrl } from '../lib/core/ci-runner.mts'
import { failure, info, step, table } from '../lib/core/log.mts'
import {
  defaultBranch,
  fetchBase,
  generatorEnv,
  openBotRepo,
  selectGenerated,
  summaryRows,
  updateGenerated,
  type GeneratedContext,
  type GeneratedResult,
} from '../lib/bots/update-generated.mts'

const command = {
  name: 'update-generated',
  about: `
For each entry of "generated" in build.config.json ({ "name", "command", "paths" }):
run the command in the build image on the remote's default branch (on an export of its
files with no git data: the command never sees .git or the token, and your checkout is
never changed). Files it changes under its paths are
committed on update-generated/<name> and get one pull request (opened, or updated when
the output changed); when it changes nothing, an open pull request for it is closed.
A command that fails, or changes files outside its paths, fails the run and pushes
nothing.
`,
  flags: {
    only: { type: 'string', value: 'NAME', help: 'run only this entry' },
    'dry-run': { help: 'run the commands and report what changed; commit, push and write nothing to GitHub (no token needed)' },
    json: { help: 'print the result per entry as JSON on stdout' },
    repo: PROJECT_FLAGS.repo,
    remote: { type: 'string', value: 'NAME', help: 'the git remote to fetch from and push to (default: origin)' },
    'github-repo': { type: 'string', value: 'O/N', help: 'the GitHub repository (default: GITHUB_REPOSITORY, else the remote URL)' },
    config: PROJECT_FLAGS.config,
    registry: PROJECT_FLAGS.registry,
  },
  more: `
Environment:
  GITHUB_TOKEN (or GH_TOKEN)  token that can push branches and open and close pull
                              requests (required unless --dry-run); handed only to git's
                              ls-remote, fetch and push (for the remote's host) and to
                              the API; never to the commands
  GITHUB_API_URL              the API server (default https://api.github.com)
  GITHUB_REPOSITORY           owner/name
  REGISTRY, REGISTRY_USERNAME/_PASSWORD: as for pull-or-build.
  The commands get CI's own env vars and those named in steps.env, as test and build do,
  by exact name (a PREFIX* there is exit 2), and never a variable whose value holds a
  secret of this run (GITHUB_TOKEN, GH_TOKEN, REGISTRY_PASSWORD), whatever its name.

Exit codes: 0 done (or nothing configured), 1 an entry failed, 2 bad usage or config.
`,
} as const satisfies CommandSpec

await main(async () => {
  // 1. Flags, config, token.
  const flags = parseFlags(process.argv.slice(3), command)
  if (!flags) return 0
  const env = process.env
  const dryRun = Boolean(flags['dry-run'])
  const { repo, config } = await openProject(flags)
  const entries = selectGenerated(config.generated, flag(flags, 'only'))
  if (!entries.length) {
    info('Nothing to update: build.config.json has no "generated" entries.')
    return report(Boolean(flags.json), [])
  }
  const token = readGitHubToken(env)
  // What the commands' container gets: steps.env by exact name, never a secret of this run.
  const containerEnv = generatorEnv(env, config)
  if (!token && !dryRun) throw new UsageError('GITHUB_TOKEN is not set: it needs to push update-generated/* branches and open and close pull requests (GH_TOKEN works too; --dry-run needs none)')
  const remote = flag(flags, 'remote') ?? 'origin'

  // 2. The scratch repository, and the default branch fetched into it.
  const bot = await openBotRepo({ root: repo.root, remote, token, env })
  try {
    const githubRepo = flag(flags, 'github-repo') ?? (env.GITHUB_REPOSITORY || undefined)
    const slug = githubRepoOf(githubRepo, bot.url)
    if (!slug && !dryRun) throw new UsageError(NO_GITHUB_REPO)
    const { base, baseCommit } = await step(`Fetch the default branch from ${remote}`, async () => {
      const branch = await defaultBranch(bot, config.defaultBranch)
      return { base: branch, baseCommit: await fetchBase(bot, branch) }
    })

    // 3. The build image.
    const image = await ensureBuildImage({ repo, config })

    // 4. Each entry on its own: one failing does not stop the others.
    const ctx: GeneratedContext = {
      bot,
      repo: slug,
      github: token ? githubClient(token, env.GITHUB_API_URL) : undefined,
      logUrl: ciLogUrl(env),
      base,
      baseCommit,
      image: image.ref,
      containerEnv,
      dryRun,
    }
    const results: GeneratedResult[] = []
    for (const entry of entries) {
      const result = await updateGenerated(ctx, entry)
      results.push(result)
      info(`  ${entry.name}: ${result.status}${result.pull ? ` #${result.pull.number} ${result.pull.url}` : ''}${result.message ? ` (${result.message})` : ''}`)
    }

    // 5. Report.
    return report(Boolean(flags.json), results)
  } finally {
    await bot.remove()
  }
})

/** Summary on stderr, JSON on stdout (--json); the exit code. */
function report(json: boolean, results: GeneratedResult[]): number {
  if (results.length) info('\n' + table(summaryRows(results)))
  const failed = results.filter((r) => r.status === 'failed')
  if (json) process.stdout.write(JSON.stringify({ results, failed: failed.length > 0 }, null, 2) + '\n')
  for (const r of failed) failure(`Error: ${r.message}`)
  return failed.length ? 1 : 0
}
