#!/usr/bin/env zx
// scripts/check-approval.mts: the gate of the GitHub Actions workflow
// `integration-approved.yml` (job `approval`). It runs from the default branch's checkout,
// before any pull request code, and says whether a maintainer approved exactly this commit.
//   1. Read the flags, the token and `trust` of build.config.json.
//   2. Check who started the run (--actor, the run's triggering_actor): they must have
//      write, maintain or admin access (GitHub's permission API, not author_association),
//      or be an active member of the team trust.team names.
//   3. Find the open pull request whose head is --sha, and its reviews.
//   4. Approved when no trusted reviewer has changes requested as their latest
//      verdict, and one's latest verdict is an approval of exactly that commit.
//   5. Report: GitHub Actions outputs (approved, pr, sha, reviewer), JSON with --json.
//      "Not approved" is an answer, not a failure: exit 0 either way.
import { flag, main, parseFlags, UsageError, type CommandSpec } from '../lib/core/cli.mts'
import { loadConfig } from '../lib/core/config.mts'
import { repoInfo } from '../lib/core/git.mts'
import { findApproval } from '../lib/bots/approval.mts'
import { githubClient, parseRepoSlug, readGitHubToken } from '../lib/bots/github.mts'
import { setActionsOutputs } from '../lib/core/ci-runner.mts'
import { info, step, success } from '../lib/core/log.mts'

const command = {
  name: 'check-approval',
  synopsis: ['--sha SHA --actor LOGIN'],
  about: `
Is commit SHA the head of an open pull request that someone with write, maintain or
admin access approved, at exactly that commit, with no such reviewer's changes requested,
and did such a person (LOGIN) start this run? Permissions are asked from GitHub now, so a
reviewer who has lost access no longer counts. With trust.team in build.config.json
("org/team-slug"), that team's active members are trusted too (a pending invitation is
not membership). (An approval of an earlier commit does not count, nor one dismissed or
followed by a request for changes.) Exit 0 with the answer either way.
`,
  flags: {
    sha: { type: 'string', value: 'SHA', help: 'the commit (40 hex digits), e.g. github.event.workflow_run.head_sha' },
    actor: { type: 'string', value: 'LOGIN', help: 'who started the run: github.event.workflow_run.triggering_actor.login' },
    'github-repo': { type: 'string', value: 'O/N', help: 'the GitHub repository (default: GITHUB_REPOSITORY)' },
    repo: { type: 'string', value: 'DIR', help: 'the checkout of the default branch whose build.config.json says whom to trust (default: the repository of the current directory)' },
    config: { type: 'string', value: 'FILE', help: 'the config file (default: <repo>/build.config.json; optional)' },
    json: { help: 'print { approved, pr, sha, reviewer, reason } on stdout' },
  },
  more: `
Environment:
  GITHUB_TOKEN (or GH_TOKEN)  a token that can read pull requests and the repository's
                              metadata (collaborator permissions) (required); with
                              trust.team, also the organisation's team memberships
  GITHUB_API_URL              the API server (default https://api.github.com)
  GITHUB_REPOSITORY           owner/name
  GITHUB_OUTPUT               step outputs: approved (true/false), pr, sha, reviewer

Exit codes: 0 answered, 1 the API failed (a team membership that cannot be read
included: nobody is trusted on a failed check), 2 bad usage or config.
`,
} as const satisfies CommandSpec

await main(async () => {
  // 1. Flags and token.
  const flags = parseFlags(process.argv.slice(3), command)
  if (!flags) return 0
  const env = process.env
  const sha = flag(flags, 'sha')?.toLowerCase()
  if (!sha || !/^[0-9a-f]{40}$/.test(sha)) throw new UsageError(`--sha: expected a full commit id (40 hex digits), got ${JSON.stringify(flags.sha ?? '')}`)
  const actor = flag(flags, 'actor')?.trim()
  if (!actor || !/^[A-Za-z0-9][A-Za-z0-9-]*(\[bot\])?$/.test(actor)) throw new UsageError(`--actor: expected the GitHub login that started the run, got ${JSON.stringify(flags.actor ?? '')}`)
  const slug = flag(flags, 'github-repo') ?? env.GITHUB_REPOSITORY
  if (!slug) throw new UsageError('the GitHub repository is unknown: pass --github-repo owner/name (or set GITHUB_REPOSITORY)')
  const repo = parseRepoSlug(slug, 'the GitHub repository (--github-repo or GITHUB_REPOSITORY)')
  const token = readGitHubToken(env)
  if (!token) throw new UsageError('GITHUB_TOKEN is not set: it needs to read pull requests and their reviews')
  const { root } = await repoInfo(flag(flags, 'repo') ?? process.cwd())
  const trust = (await loadConfig({ root, file: flag(flags, 'config'), optional: true }))?.trust ?? {}

  // 2-4. Who started the run, the pull request, its reviews and its reviewers' permissions.
  const approval = await step(`Look for an approval of ${sha.slice(0, 12)} (run started by ${actor})`, () =>
    findApproval(githubClient(token, env.GITHUB_API_URL), repo, sha, actor, trust),
  )
  if (approval.approved) success(`#${approval.pr}: ${approval.reason}`)
  else info(`Not approved${approval.pr ? ` (#${approval.pr})` : ''}: ${approval.reason}. Nothing runs.`)

  // 5. Report.
  await setActionsOutputs({
    approved: String(approval.approved),
    pr: approval.pr ? String(approval.pr) : '',
    sha: approval.approved ? sha : '',
    reviewer: approval.reviewer ?? '',
  })
  if (flags.json) process.stdout.write(JSON.stringify({ sha, ...approval }, null, 2) + '\n')
  return 0
})
