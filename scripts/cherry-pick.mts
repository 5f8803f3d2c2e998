#!/usr/bin/env zx
// scripts/cherry-pick.mts: release-branch cherry-picks. Called by the GitHub Actions
// workflow `cherry-pick.yml` (pull_request_target closed/labeled, issue_comment created),
// and by hand or from CircleCI with `--pr N [--pr M...] --to BRANCH`.
//   1. Read the flags, the config and the token.
//   2. Work out what is asked: the flags, or the GitHub Actions event (a merged PR's
//      cherry-pick labels, or a `/cherry-pick` comment from someone with write, maintain
//      or admin access, asked from GitHub; anyone else gets one reply per pull request).
//   3. Check the targets: each must match cherryPick.targetBranches and exist on the remote.
//   4. Read the PR(s): a comment on an open PR only labels it (picked when it merges).
//   5. Work out the commits: squash, rebase or merge commit, as each PR was merged; several
//      PRs (or commits) are picked in the order given, onto one branch.
//   6. Per target: pick in a temporary worktree; on a conflict, find the commits the
//      target lacks that touch the conflicting files (and with --with-prerequisites, try
//      again with them first); push cherry-pick/<pr>-to-<branch>, open the PR (reviewers,
//      milestone, auto-merge as configured) or report the existing one, comment on the original(s).
//   7. Report: a summary on stderr, JSON with --json, GitHub Actions outputs; exit 1 if a target failed.
import { fs } from 'zx'
import { flag, main, parseFlags, PROJECT_FLAGS, UsageError, type CommandSpec } from '../lib/core/cli.mts'
import { checkTargets, pickContext } from '../lib/bots/cherry-pick/context.mts'
import { closedReply, labelledComment, refusedComment, untrustedReply, USAGE_REPLY } from '../lib/bots/cherry-pick/messages.mts'
import { pickOnto } from '../lib/bots/cherry-pick/pick.mts'
import { commentOn, labelForMerge, replyOnceToUntrusted } from '../lib/bots/cherry-pick/pull-request.mts'
import { actionsOutputs, resultJson, summaryRows } from '../lib/bots/cherry-pick/report.mts'
import { manualRequest, triggerFromEvent, type EventPayload } from '../lib/bots/cherry-pick/request.mts'
import { combineSources, getPull, sourceFromCommit, sourceFromPull, sourceLabel, type PullData } from '../lib/bots/cherry-pick/source.mts'
import { FAILED_STATUSES, type Source, type TargetResult } from '../lib/bots/cherry-pick/types.mts'
import { defaultCherryPick, loadConfig } from '../lib/core/config.mts'
import { repoInfo } from '../lib/core/git.mts'
import { githubClient, permissionOf, readGitHubToken, trustedRoles } from '../lib/bots/github.mts'
import { setActionsOutputs } from '../lib/core/ci-runner.mts'
import { info, step, table } from '../lib/core/log.mts'

const command = {
  name: 'cherry-pick',
  synopsis: ['--pr N [--pr M...] --to BRANCH [--to BRANCH...]', '--commit SHA [--commit SHA...] --to BRANCH', '(on GitHub Actions: reads the event)'],
  about: `
Pick a merged pull request (as it was merged: squash, rebase or merge commit) onto
release branches with \`git cherry-pick -x\`, push cherry-pick/<pr>-to-<branch> and open
a pull request "[<branch>] <title>" for each. Several --pr (or --commit) are picked in
the order given onto one branch, cherry-pick/<first>-<last>-to-<branch>, with one pull
request. The checkout is never changed: picks happen in a temporary worktree.
Re-running reuses what an earlier run opened.

On a conflict the output and the comment name the prerequisites: the commits of the
source branch, since it forked from the target, that change the conflicting files and
are not on the target (no "cherry picked from commit" trailer naming them there, no
commit with the same patch id), oldest first, with their pull requests, and the one
command that picks them and this in order.
`,
  flags: {
    pr: { type: 'repeatable', value: 'N', help: 'a merged pull request to pick (repeatable: picked in this order)' },
    commit: { type: 'repeatable', value: 'SHA', help: 'a commit to pick, without a pull request (repeatable)' },
    to: { type: 'repeatable', value: 'BRANCH', help: 'a target branch (repeatable); must exist on the remote and match cherryPick.targetBranches' },
    'with-prerequisites': { help: 'on a conflict, try again with the prerequisites picked first; if that applies cleanly, open one pull request that says which it brought and why; if not, abort and report both attempts' },
    'draft-on-conflict': { help: 'on a conflict, commit the conflict markers and open a draft pull request labelled cherry-pick-conflict (instead of a comment; with --with-prerequisites, only when both attempts conflict)' },
    json: { help: 'print the result per target as JSON on stdout' },
    repo: PROJECT_FLAGS.repo,
    remote: { type: 'string', value: 'NAME', help: 'the git remote to fetch from and push to (default: origin)' },
    'github-repo': { type: 'string', value: 'O/N', help: 'the GitHub repository (default: GITHUB_REPOSITORY, else the remote URL)' },
    config: { type: 'string', value: 'FILE', help: 'the config file (default: <repo>/build.config.json; optional)' },
  },
  more: `
Environment:
  GITHUB_TOKEN (or GH_TOKEN)   token that can push branches, open PRs and comment (required)
  GITHUB_API_URL               the API server (default https://api.github.com)
  GITHUB_REPOSITORY            owner/name
  GITHUB_EVENT_PATH            on GitHub Actions: the pull_request or issue_comment event
  GITHUB_OUTPUT                on GitHub Actions: created_pull_numbers, failed_branches (JSON arrays)

Configuration (build.config.json "cherryPick"): labelPrefix, targetBranches; and for
the pick's pull request: "reviewers": true (request the original's requested
reviewers), "milestone": true (the original's milestone), "autoMerge": true or
"merge" | "squash" | "rebase" (enable auto-merge; a refusal is a warning, not a failure).

Exit codes: 0 done (or nothing to do), 1 a target failed (conflict, push, API),
2 bad usage (flags, a target that does not exist or match, a PR that is not merged).
`,
} as const satisfies CommandSpec

await main(async () => {
  // 1. Flags, config, token.
  const flags = parseFlags(process.argv.slice(3), command)
  if (!flags) return 0
  const env = process.env
  const manual = manualRequest({ pr: flags.pr, commit: flags.commit, to: flags.to })
  const { root } = await repoInfo(flag(flags, 'repo') ?? process.cwd())
  const loaded = await loadConfig({ root, file: flag(flags, 'config'), optional: true })
  const config = loaded?.cherryPick ?? defaultCherryPick()
  const trust = loaded?.trust ?? {}
  const token = readGitHubToken(env)
  if (!token) throw new UsageError('GITHUB_TOKEN is not set: it needs to push branches, open pull requests and comment (GH_TOKEN works too)')
  const ctx = await pickContext({
    root,
    remote: flag(flags, 'remote') ?? 'origin',
    token,
    github: githubClient(token, env.GITHUB_API_URL),
    githubRepo: flag(flags, 'github-repo') ?? (env.GITHUB_REPOSITORY || undefined),
    config,
    draftOnConflict: Boolean(flags['draft-on-conflict']),
    withPrerequisites: Boolean(flags['with-prerequisites']),
    env,
  })

  // 2. What is asked.
  let request: { prs: number[]; commits: string[]; targets: string[]; fromComment?: boolean } | undefined = manual
  if (!request) {
    if (!env.GITHUB_EVENT_PATH) {
      throw new UsageError('nothing to pick: pass --pr N --to BRANCH or --commit SHA --to BRANCH (on GitHub Actions the event says what to pick)')
    }
    const trigger = triggerFromEvent(await readEvent(env.GITHUB_EVENT_PATH), config.labelPrefix)
    if (trigger.kind === 'none') {
      info(`Nothing to cherry-pick: ${trigger.reason}.`)
      return report(flags, undefined, [])
    }
    if (trigger.kind === 'comment') {
      const who = await step(`Check @${trigger.user}'s access`, () => permissionOf(ctx.github, ctx.repo, trigger.user, trust))
      if (!who.trusted) {
        info(`Ignoring /cherry-pick from @${trigger.user} (${who.role}): only people with ${trustedRoles(trust)} can start a cherry-pick.`)
        const reply = untrustedReply(trigger.user, trigger.targets[0] ?? 'release-1.0', config.labelPrefix)
        if (!(await replyOnceToUntrusted(ctx, trigger.pr, trigger.user, reply))) info(`@${trigger.user} was answered on #${trigger.pr} already: no new reply.`)
        return report(flags, undefined, [])
      }
    }
    if (trigger.kind === 'comment' && !trigger.targets.length) {
      await commentOn(ctx, trigger.pr, USAGE_REPLY)
      return report(flags, undefined, [])
    }
    request = { prs: [trigger.pr], commits: [], targets: trigger.targets, fromComment: trigger.kind === 'comment' }
  }

  // 3. The targets. Asked on the command line, a bad one stops everything before any
  //    work; asked by a label or comment, it is reported on the PR and the others go on.
  const { valid, refused } = await step(`Check the target branches (${request.targets.join(', ')})`, () => checkTargets(ctx, request.targets))
  if (refused.length && manual) {
    const reasons = refused.map((r) => `${r.branch}: ${r.message}`).join('; ')
    throw new UsageError(`cannot cherry-pick onto ${reasons} (targets must exist on ${ctx.remote} and match ${config.targetBranches.join(', ')})`)
  }
  if (refused.length) await commentOn(ctx, request.prs[0], refusedComment(refused, ctx))
  const results: TargetResult[] = [...refused]
  if (!valid.length) return report(flags, undefined, results)

  // 4. The pull request(s). A comment on an open one labels it: the pick happens at merge.
  const pulls: PullData[] = []
  for (const pr of request.prs) pulls.push(await getPull(ctx, pr))
  const pull = pulls[0]
  if (pull && request.fromComment && !pull.merged) {
    if (pull.state === 'open') {
      results.push(...(await labelForMerge(ctx, pull.number, valid)))
      await commentOn(ctx, pull.number, labelledComment(valid, config.labelPrefix))
    } else await commentOn(ctx, pull.number, closedReply(pull.number))
    return report(flags, undefined, results)
  }

  // 5. The commits, as each PR was merged (fetching its base and the targets), in the order given.
  const source: Source = await step('Work out the commits to pick', async () => {
    const sources: Source[] = []
    for (const p of pulls) sources.push(await sourceFromPull(ctx, p, valid))
    for (const commit of request.commits) sources.push(await sourceFromCommit(ctx, commit, valid))
    return combineSources(sources)
  })
  for (const part of source.parts ?? [source]) {
    info(`Picking ${part.commits.length} commit(s) of ${sourceLabel(part)} (${part.kind}): ${part.title}`)
  }

  // 6. Each target on its own: one failing does not stop the others.
  for (const target of valid) {
    const result = await pickOnto(ctx, source, target)
    results.push(result)
    info(`  ${target}: ${result.status}${result.pull ? ` #${result.pull.number} ${result.pull.url}` : ''}${result.message ? ` (${result.message})` : ''}`)
  }

  // 7. Report.
  return report(flags, source, results)
})

async function readEvent(file: string): Promise<EventPayload> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as EventPayload
  } catch (error) {
    throw new UsageError(`GITHUB_EVENT_PATH: cannot read the event ${file}: ${(error as Error).message}`)
  }
}

/** Summary on stderr, JSON on stdout (--json), step outputs on GitHub Actions; the exit code. */
async function report(flags: { json: boolean }, source: Source | undefined, results: TargetResult[]): Promise<number> {
  if (results.length) info('\n' + table(summaryRows(results)))
  if (flags.json) process.stdout.write(JSON.stringify(resultJson(source, results), null, 2) + '\n')
  await setActionsOutputs(actionsOutputs(results))
  return results.some((r) => FAILED_STATUSES.includes(r.status)) ? 1 : 0
}
