// Release-branch cherry-picks: the logic behind scripts/cherry-pick.mts.
//   - pure helpers: what an event asks for, branch names, titles, and every message;
//   - the steps: check targets, work out what to pick, pick in a temporary worktree,
//     push, open (or reuse) the pull request, comment on the original.
// Branch names, titles and comment bodies are untrusted input: they only ever reach a
// command as one zx-quoted argument, and the GitHub API as JSON.
import picomatch from 'picomatch'
import { quote, type Shell } from 'zx'
import { UsageError, WorkError } from '../core/cli.mts'
import { interrupted } from '../core/interrupts.mts'
import { addTempWorktree, git } from '../core/git.mts'
import { code, describeError, isTrusted, type Octokit } from './github.mts'
import { fetchBranches, remoteBranches, remoteContext, type RemoteContext } from './remote.mts'
import { info, warn } from '../core/log.mts'

/** Added to a draft pull request whose commits hold conflict markers (`--draft-on-conflict`). */
export const CONFLICT_LABEL = 'cherry-pick-conflict'

/** How the source landed: it decides which commits are picked, and how. */
export type MergeKind = 'squash' | 'rebase' | 'merge' | 'commit'

export interface SourcePull {
  number: number
  title: string
  url: string
  author: string
  labels: string[]
  base: string
}

/** What is picked: a merged pull request, or one commit (`--commit`). */
export interface Source {
  pull?: SourcePull
  title: string
  kind: MergeKind
  /** Oldest first. */
  commits: string[]
  /** Pick with `-m 1` (a merge commit: the change relative to its first parent). */
  mainline: boolean
}

export type TargetStatus = 'created' | 'exists' | 'labelled' | 'up-to-date' | 'conflict' | 'failed' | 'refused'

/** Statuses that make the run fail (exit 1, `failed_branches`). */
export const FAILED_STATUSES: TargetStatus[] = ['conflict', 'failed', 'refused']

export interface PickedCommit {
  sha: string
  from: string
}

export interface TargetResult {
  branch: string
  status: TargetStatus
  /** `cherry-pick/<pr>-to-<branch>` */
  headBranch?: string
  pull?: { number: number; url: string; draft: boolean }
  picked?: PickedCommit[]
  conflicts?: string[]
  message?: string
}

/** The remote (lib/bots/remote.mts), the GitHub client, and the pick's settings. */
export interface PickContext extends RemoteContext {
  github: Octokit
  labelPrefix: string
  targetBranches: string[]
  draftOnConflict: boolean
}

// --- triggers --------------------------------------------------------------------------

/** The fields of GitHub's pull_request and issue_comment webhook payloads we read. */
export interface EventPayload {
  action?: string
  pull_request?: { number: number; merged?: boolean | null; labels?: Array<{ name?: string }> }
  label?: { name?: string }
  issue?: { number: number; pull_request?: unknown }
  comment?: { body?: string; user?: { login?: string } | null; author_association?: string }
}

export type Trigger =
  | { kind: 'none'; reason: string }
  /** A merged pull request with cherry-pick labels (at merge, or one added later). */
  | { kind: 'labels'; pr: number; targets: string[] }
  /** A `/cherry-pick` comment on a pull request. */
  | { kind: 'comment'; pr: number; targets: string[]; user: string; trusted: boolean }

/** `/cherry-pick a b` on a line of its own (several lines add up); null when there is none. */
export function parseCommand(body: string): string[] | null {
  let found = false
  const targets: string[] = []
  for (const line of body.split(/\r?\n/)) {
    const match = /^\s*\/cherry-pick(?:\s+(.*))?$/.exec(line)
    if (!match) continue
    found = true
    for (const word of (match[1] ?? '').split(/\s+/)) if (word && !targets.includes(word)) targets.push(word)
  }
  return found ? targets : null
}

/** The branches named by `<prefix><branch>` labels. */
export function branchesFromLabels(labels: Array<{ name?: string }>, prefix: string): string[] {
  const names = labels.map((l) => l.name ?? '').filter((n) => n.startsWith(prefix) && n.length > prefix.length)
  return [...new Set(names.map((n) => n.slice(prefix.length)))]
}

/** What a GitHub Actions event asks for. Only `/cherry-pick` comments are checked for trust later. */
export function triggerFromEvent(event: EventPayload, labelPrefix: string): Trigger {
  if (event.comment && event.issue) {
    if (event.action !== 'created') return { kind: 'none', reason: `the comment was ${event.action}, not created` }
    if (!event.issue.pull_request) return { kind: 'none', reason: `#${event.issue.number} is an issue, not a pull request` }
    const targets = parseCommand(event.comment.body ?? '')
    if (!targets) return { kind: 'none', reason: 'the comment has no /cherry-pick command' }
    const user = event.comment.user?.login ?? 'someone'
    return { kind: 'comment', pr: event.issue.number, targets, user, trusted: isTrusted(event.comment.author_association) }
  }
  const pull = event.pull_request
  if (!pull) return { kind: 'none', reason: 'not a pull_request or issue_comment event' }
  if (!pull.merged) return { kind: 'none', reason: `#${pull.number} is not merged (labels are picked up when it is)` }
  let targets: string[]
  if (event.action === 'closed') targets = branchesFromLabels(pull.labels ?? [], labelPrefix)
  else if (event.action === 'labeled') targets = branchesFromLabels(event.label ? [event.label] : [], labelPrefix)
  else return { kind: 'none', reason: `the pull request was ${event.action}` }
  if (!targets.length) return { kind: 'none', reason: `#${pull.number} has no ${labelPrefix}<branch> label${event.action === 'labeled' ? ' added' : ''}` }
  return { kind: 'labels', pr: pull.number, targets }
}

/** `--pr N --to B...` or `--commit SHA --to B...`, checked; undefined when neither is given. */
export function manualRequest(flags: { pr?: string; commit?: string; to: string[] }): { pr?: number; commit?: string; targets: string[] } | undefined {
  if (!flags.pr && !flags.commit) {
    if (flags.to.length) throw new UsageError('--to needs --pr N or --commit SHA (what to pick)')
    return undefined
  }
  if (flags.pr && flags.commit) throw new UsageError('pass --pr or --commit, not both')
  if (!flags.to.length) throw new UsageError('--to BRANCH is required (the branch to pick onto; repeat it for several)')
  if (flags.pr && !/^[1-9]\d*$/.test(flags.pr)) throw new UsageError(`--pr: expected a pull request number, got ${JSON.stringify(flags.pr)}`)
  return { pr: flags.pr ? Number(flags.pr) : undefined, commit: flags.commit, targets: [...new Set(flags.to)] }
}

// --- names and messages ------------------------------------------------------------------

export function headBranchName(source: Pick<Source, 'pull' | 'commits'>, target: string): string {
  return `cherry-pick/${source.pull ? source.pull.number : source.commits[0].slice(0, 12)}-to-${target}`
}

export function pickTitle(target: string, title: string): string {
  return `[${target}] ${title}`
}

const KIND_NAMES: Record<MergeKind, string> = {
  squash: 'a squash merge',
  rebase: 'a rebase merge',
  merge: 'a merge commit',
  commit: 'a commit',
}

export function pickBody(source: Source, target: string, picked: PickedCommit[], conflicts: string[] = []): string {
  const what = source.pull ? `#${source.pull.number}` : `commit ${source.commits[0]}`
  const lines = [`Cherry-pick of ${what} onto ${code(target)}.`, '']
  if (source.pull) lines.push(`Original pull request: ${source.pull.url} (${KIND_NAMES[source.kind]}).`, '')
  lines.push('Picked with `git cherry-pick -x`:', '', ...picked.map((c) => `- ${c.sha} (cherry picked from commit ${c.from})`))
  if (conflicts.length) {
    lines.push('', `**Conflicts**: these files were committed with conflict markers; resolve them on this branch, then mark the pull request ready for review:`, '')
    lines.push(...conflicts.map((f) => `- ${code(f)}`))
  }
  return lines.join('\n')
}

/** The exact commands to do a conflicting pick by hand. */
export function manualCommands(remote: string, source: Source, target: string, headBranch: string): string {
  const fetch = [target, ...(source.pull ? [source.pull.base] : [])]
  return [
    `git fetch ${quote(remote)} ${fetch.map(quote).join(' ')}`,
    `git switch --create ${quote(headBranch)} ${quote(`${remote}/${target}`)}`,
    `git cherry-pick -x ${source.mainline ? '-m 1 ' : ''}${source.commits.join(' ')}`,
    '# resolve the conflicts, then: git add <files> && git cherry-pick --continue',
    `git push ${quote(remote)} ${quote(headBranch)}`,
  ].join('\n')
}

export function conflictComment(remote: string, source: Source, target: string, headBranch: string, conflicts: string[]): string {
  return [
    `Cherry-pick onto ${code(target)} stopped: conflicts in`,
    '',
    ...conflicts.map((f) => `- ${code(f)}`),
    '',
    'To do it by hand:',
    '',
    '```sh',
    manualCommands(remote, source, target, headBranch),
    '```',
    '',
    `then open a pull request from ${code(headBranch)} into ${code(target)}. Or run the script with ${code('--draft-on-conflict')} to get a draft pull request with the conflict markers committed.`,
  ].join('\n')
}

export function createdComment(result: TargetResult): string {
  const pull = result.pull!
  const picked = result.picked?.length ?? 0
  if (result.conflicts?.length) {
    return `Cherry-pick onto ${code(result.branch)} has conflicts: opened draft #${pull.number} (${pull.url}) with the conflict markers committed in ${result.conflicts.map(code).join(', ')}. Resolve them on ${code(result.headBranch!)}, then mark it ready for review.`
  }
  return `Cherry-picked onto ${code(result.branch)}: #${pull.number} (${pull.url}), ${picked} commit${picked === 1 ? '' : 's'}.`
}

export function failedComment(target: string, message: string, logUrl?: string): string {
  return `Cherry-pick onto ${code(target)} failed: ${message}${logUrl ? `\n\nSee the log: ${logUrl}` : ''}`
}

export function refusedComment(refused: TargetResult[], ctx: Pick<PickContext, 'remote' | 'targetBranches'>): string {
  return [
    'Cannot cherry-pick onto:',
    '',
    ...refused.map((r) => `- ${code(r.branch)}: ${r.message}`),
    '',
    `A target must exist on ${code(ctx.remote)} and match ${ctx.targetBranches.map(code).join(', ')} (${code('cherryPick.targetBranches')}).`,
  ].join('\n')
}

export function labelledComment(targets: string[], prefix: string): string {
  const list = targets.map((t) => `${code(t)} (label ${code(prefix + t)})`).join(', ')
  return `Will cherry-pick onto ${list} when this pull request is merged.`
}

export function untrustedReply(user: string, example: string, prefix: string): string {
  return [
    `Thanks @${user}! Only the repository's owners, members and collaborators can start a cherry-pick, so nothing was done.`,
    `A maintainer can comment ${code(`/cherry-pick ${example}`)} or add the label ${code(prefix + example)}.`,
  ].join(' ')
}

export const USAGE_REPLY = 'Usage: `/cherry-pick <branch> [<branch>...]` on a line of its own, for example `/cherry-pick release-1.0`.'

export function closedReply(pr: number): string {
  return `#${pr} was closed without being merged: there is nothing to cherry-pick.`
}

// --- results ---------------------------------------------------------------------------

/** The `--json` document. */
export function resultJson(source: Source | undefined, results: TargetResult[]) {
  return {
    pr: source?.pull?.number ?? null,
    title: source?.title ?? null,
    mergeKind: source?.kind ?? null,
    commits: source?.commits ?? [],
    targets: results,
    failed: results.some((r) => FAILED_STATUSES.includes(r.status)),
  }
}

/** The GitHub Actions step outputs: JSON arrays, for `fromJSON()` in a workflow. */
export function actionsOutputs(results: TargetResult[]): Record<string, string> {
  // A pull request in a `created` or `conflict` result was opened by this run (an earlier one is `exists`).
  const created = results.filter((r) => r.pull && (r.status === 'created' || r.status === 'conflict'))
  return {
    created_pull_numbers: JSON.stringify(created.map((r) => r.pull!.number)),
    failed_branches: JSON.stringify(results.filter((r) => FAILED_STATUSES.includes(r.status)).map((r) => r.branch)),
  }
}

/** One line per target, for the summary table. */
export function summaryRows(results: TargetResult[]): string[][] {
  const rows = [['target', 'result', 'details']]
  for (const r of results) {
    const details = [
      r.pull ? `#${r.pull.number}${r.pull.draft ? ' (draft)' : ''} ${r.pull.url}` : '',
      r.conflicts?.length ? `conflicts: ${r.conflicts.join(', ')}` : '',
      r.message ?? '',
    ]
    rows.push([r.branch, r.status, details.filter(Boolean).join('; ')])
  }
  return rows
}

// --- git and GitHub ------------------------------------------------------------------------

/** Everything a pick needs, checked up front (see `remoteContext`). */
export async function pickContext(options: {
  root: string
  remote: string
  token: string
  github: Octokit
  githubRepo?: string
  config: { labelPrefix: string; targetBranches: string[] }
  draftOnConflict: boolean
  env?: NodeJS.ProcessEnv
}): Promise<PickContext> {
  return {
    ...(await remoteContext(options)),
    github: options.github,
    labelPrefix: options.config.labelPrefix,
    targetBranches: options.config.targetBranches,
    draftOnConflict: options.draftOnConflict,
  }
}

/** Split targets into those we can pick onto and those refused (with the reason), in the order given. */
export async function checkTargets(ctx: PickContext, branches: string[]): Promise<{ valid: string[]; refused: TargetResult[] }> {
  const matches = picomatch(ctx.targetBranches)
  const reasons = new Map<string, string | undefined>()
  for (const branch of new Set(branches)) {
    // Plain validation: `--branch` would expand `@{-1}` to a local branch.
    const name = await git(ctx.root)`git check-ref-format ${`refs/heads/${branch}`}`.nothrow()
    if (!name.ok || branch.startsWith('-')) reasons.set(branch, 'not a valid branch name')
    else if (!matches(branch)) reasons.set(branch, `does not match ${ctx.targetBranches.join(', ')}`)
    else reasons.set(branch, undefined)
  }
  const existing = await remoteBranches(ctx, [...reasons].filter(([, reason]) => !reason).map(([branch]) => branch))
  for (const [branch, reason] of reasons) if (!reason && !existing.has(branch)) reasons.set(branch, `no branch ${branch} on ${ctx.remote}`)
  const valid = [...reasons].filter(([, reason]) => !reason).map(([branch]) => branch)
  const refused = [...reasons]
    .filter(([, reason]) => reason)
    .map(([branch, message]): TargetResult => ({ branch, status: 'refused', message }))
  return { valid, refused }
}

export interface PullCommit {
  message: string
  email: string
}

interface LandedCommit extends PullCommit {
  sha: string
  parents: number
}

/** True when `landed` (oldest first) are the PR's commits replayed: same messages and authors, in order. */
export function isRebaseOf(landed: LandedCommit[], prCommits: PullCommit[]): boolean {
  return (
    landed.length === prCommits.length &&
    landed.every((c, i) => c.parents === 1 && c.message.trim() === prCommits[i].message.trim() && c.email === prCommits[i].email)
  )
}

/**
 * How a PR was merged, from its merge commit on the base branch:
 *   2 parents -> a merge commit: pick it with `-m 1`;
 *   the base's last N commits are the PR's N > 1 commits replayed -> a rebase merge: pick them all;
 *   otherwise -> a squash merge: pick the one commit.
 * Messages and author emails are compared (a rebase keeps them; the API gives them without
 * fetching the PR's original commits).
 */
export async function detectMergeKind(root: string, mergeSha: string, prCommits: PullCommit[]): Promise<{ kind: MergeKind; commits: string[] }> {
  const parents = (await git(root)`git rev-list --parents -n 1 ${mergeSha}`).stdout.trim().split(' ').length - 1
  if (parents > 1) return { kind: 'merge', commits: [mergeSha] }
  if (prCommits.length > 1) {
    const out = await git(root)`git log --first-parent -n ${prCommits.length} --format=%H%x00%P%x00%ae%x00%B%x1e ${mergeSha}`
    const landed = out.stdout
      .split('\x1e')
      .map((record) => record.replace(/^\n/, ''))
      .filter(Boolean)
      .map((record) => {
        const [sha, parentList, email, message] = record.split('\0')
        return { sha, parents: parentList.split(' ').filter(Boolean).length, email, message }
      })
      .reverse()
    if (isRebaseOf(landed, prCommits)) return { kind: 'rebase', commits: landed.map((c) => c.sha) }
  }
  return { kind: 'squash', commits: [mergeSha] }
}

export type PullData = Awaited<ReturnType<Octokit['rest']['pulls']['get']>>['data']

export async function getPull(ctx: PickContext, number: number): Promise<PullData> {
  try {
    return (await ctx.github.rest.pulls.get({ ...ctx.repo, pull_number: number })).data
  } catch (error) {
    if ((error as { status?: number }).status === 404) {
      throw new UsageError(`no pull request #${number} in ${ctx.repo.owner}/${ctx.repo.repo} (check --pr and --github-repo)`)
    }
    throw error
  }
}

/** A merged PR as a Source: fetch its base and the targets, then how it was merged. */
export async function sourceFromPull(ctx: PickContext, pull: PullData, targets: string[]): Promise<Source> {
  if (!pull.merged || !pull.merge_commit_sha) {
    const state = pull.state === 'open' ? 'still open' : 'closed without being merged'
    throw new UsageError(`#${pull.number} is ${state}: only merged pull requests are picked (label it ${ctx.labelPrefix}<branch> to pick it when it merges)`)
  }
  const mergeSha = pull.merge_commit_sha
  await fetchBranches(ctx, [pull.base.ref, ...targets])
  if (!(await hasCommit(ctx, mergeSha))) await git(ctx.root, ctx.env)`git fetch --quiet --no-tags ${ctx.remote} ${mergeSha}`.nothrow()
  if (!(await hasCommit(ctx, mergeSha))) {
    throw new WorkError(`the merge commit ${mergeSha} of #${pull.number} is not on ${ctx.remote}/${pull.base.ref}; fetch it (git fetch ${ctx.remote} ${pull.base.ref}) and run again`)
  }
  const prCommits = await ctx.github.paginate(ctx.github.rest.pulls.listCommits, { ...ctx.repo, pull_number: pull.number, per_page: 100 })
  const { kind, commits } = await detectMergeKind(
    ctx.root,
    mergeSha,
    prCommits.map((c) => ({ message: c.commit.message, email: c.commit.author?.email ?? '' })),
  )
  return {
    pull: {
      number: pull.number,
      title: pull.title,
      url: pull.html_url,
      author: pull.user.login,
      labels: pull.labels.map((l) => l.name),
      base: pull.base.ref,
    },
    title: pull.title,
    kind,
    commits,
    mainline: kind === 'merge',
  }
}

/** One commit (`--commit`, in the local repository) as a Source; a merge commit is picked with `-m 1`. */
export async function sourceFromCommit(ctx: PickContext, rev: string, targets: string[]): Promise<Source> {
  const out = await git(ctx.root)`git rev-list --parents -n 1 --end-of-options ${`${rev}^{commit}`}`.nothrow()
  if (!out.ok) throw new UsageError(`no commit ${rev} in ${ctx.root} (fetch it first: git fetch ${ctx.remote})`)
  const [sha, ...parents] = out.stdout.trim().split(' ')
  const title = (await git(ctx.root)`git log -1 --format=%s ${sha}`).stdout.trim()
  await fetchBranches(ctx, targets)
  return { title, kind: parents.length > 1 ? 'merge' : 'commit', commits: [sha], mainline: parents.length > 1 }
}

async function hasCommit(ctx: PickContext, sha: string): Promise<boolean> {
  return (await git(ctx.root)`git cat-file -e ${`${sha}^{commit}`}`.nothrow()).ok
}

/** Comment on the original PR; a failure to comment is a warning, never the end of the run. */
export async function commentOn(ctx: PickContext, pr: number | undefined, body: string): Promise<void> {
  if (pr === undefined) return
  try {
    await ctx.github.rest.issues.createComment({ ...ctx.repo, issue_number: pr, body })
  } catch (error) {
    warn(`could not comment on #${pr}: ${describeError(error)}`)
  }
}

/** A comment on an open PR: label it so the pick happens when it merges. */
export async function labelForMerge(ctx: PickContext, pr: number, targets: string[]): Promise<TargetResult[]> {
  await ctx.github.rest.issues.addLabels({ ...ctx.repo, issue_number: pr, labels: targets.map((t) => ctx.labelPrefix + t) })
  return targets.map((branch) => ({ branch, status: 'labelled', message: `labelled ${ctx.labelPrefix}${branch}; picked when #${pr} merges` }))
}

/** The PR for a pick branch, if one was ever opened (open ones first). */
async function findPull(ctx: PickContext, headBranch: string) {
  const pulls = await ctx.github.paginate(ctx.github.rest.pulls.list, { ...ctx.repo, state: 'all', head: `${ctx.repo.owner}:${headBranch}`, per_page: 100 })
  return pulls.find((p) => p.state === 'open') ?? pulls[0]
}

const pullRef = (p: Pick<PullData, 'number' | 'html_url' | 'draft'>) => ({ number: p.number, url: p.html_url, draft: Boolean(p.draft) })

/** The picked commits in `base..head` with the commit each came from (the `-x` line). */
async function pickedCommits(run: Shell, base: string, head: string): Promise<PickedCommit[]> {
  const out = await run`git log --reverse --format=%H%x00%B%x1e ${`${base}..${head}`}`
  return out.stdout
    .split('\x1e')
    .map((record) => record.replace(/^\n/, ''))
    .filter(Boolean)
    .map((record) => {
      const [sha, message] = record.split('\0')
      const from = [...message.matchAll(/\(cherry picked from commit ([0-9a-f]+)\)/g)].pop()?.[1] ?? ''
      return { sha, from }
    })
}

async function unmergedFiles(run: Shell): Promise<string[]> {
  return (await run`git diff --name-only --diff-filter=U -z`).stdout.split('\0').filter(Boolean)
}

/**
 * Pick the source's commits in order. A commit whose change is already on the target is
 * skipped. On a conflict: `cherry-pick --abort` and return the conflicting files, or with
 * `draftOnConflict` commit the conflict markers and go on. Returns all conflicting files.
 */
async function cherryPickAll(run: Shell, source: Source, draftOnConflict: boolean): Promise<string[]> {
  const conflicts: string[] = []
  for (const commit of source.commits) {
    const pick = await run`git cherry-pick -x ${source.mainline ? ['-m', '1'] : []} ${commit}`.nothrow()
    if (pick.ok) continue
    const files = await unmergedFiles(run)
    const inProgress = (await run`git rev-parse -q --verify CHERRY_PICK_HEAD`.nothrow()).ok
    if (!files.length && inProgress && (await run`git diff --cached --quiet`.nothrow()).ok) {
      await run`git cherry-pick --skip`
      continue
    }
    if (!files.length) {
      if (inProgress) await run`git cherry-pick --abort`.nothrow()
      throw pick
    }
    conflicts.push(...files.filter((f) => !conflicts.includes(f)))
    if (!draftOnConflict) {
      await run`git cherry-pick --abort`
      return conflicts
    }
    await run`git add --all`
    await run`git cherry-pick --continue`
  }
  return conflicts
}

/**
 * Pick `source` onto `target` and push `headBranch`, in a temporary worktree (the user's
 * checkout is never touched). A branch left by an earlier run is reused as it is.
 */
async function pickAndPush(ctx: PickContext, source: Source, target: string, headBranch: string) {
  const earlier = (await remoteBranches(ctx, [headBranch])).get(headBranch)
  if (earlier) {
    await fetchBranches(ctx, [headBranch])
    const picked = await pickedCommits(git(ctx.root), `refs/remotes/${ctx.remote}/${target}`, earlier)
    return { picked, conflicts: [] as string[], reused: true }
  }
  const worktree = await addTempWorktree(ctx.root, `refs/remotes/${ctx.remote}/${target}`, ctx.env)
  try {
    const base = (await worktree.git`git rev-parse HEAD`).stdout.trim()
    const conflicts = await cherryPickAll(worktree.git, source, ctx.draftOnConflict)
    if (conflicts.length && !ctx.draftOnConflict) return { picked: [], conflicts, reused: false }
    const picked = await pickedCommits(worktree.git, base, 'HEAD')
    if (picked.length) await worktree.git`git push --quiet ${ctx.remote} ${`HEAD:refs/heads/${headBranch}`}`
    return { picked, conflicts, reused: false }
  } finally {
    await worktree.remove()
  }
}

/** Open the PR into `target` (or find the one a concurrent run just opened), assign, label. */
async function openPull(ctx: PickContext, source: Source, target: string, headBranch: string, picked: PickedCommit[], conflicts: string[]) {
  let pull: Pick<PullData, 'number' | 'html_url' | 'draft'>
  try {
    const draft = conflicts.length > 0
    const body = pickBody(source, target, picked, conflicts)
    pull = (await ctx.github.rest.pulls.create({ ...ctx.repo, head: headBranch, base: target, title: pickTitle(target, source.title), body, draft })).data
  } catch (error) {
    const existing = (error as { status?: number }).status === 422 ? await findPull(ctx, headBranch) : undefined
    if (!existing) throw error
    return { pull: pullRef(existing), created: false }
  }
  const labels = (source.pull?.labels ?? []).filter((l) => !l.startsWith(ctx.labelPrefix) && l !== CONFLICT_LABEL)
  if (conflicts.length) labels.push(CONFLICT_LABEL)
  try {
    if (source.pull) await ctx.github.rest.issues.addAssignees({ ...ctx.repo, issue_number: pull.number, assignees: [source.pull.author] })
    if (labels.length) await ctx.github.rest.issues.addLabels({ ...ctx.repo, issue_number: pull.number, labels })
  } catch (error) {
    warn(`#${pull.number}: could not assign or label it: ${describeError(error)}`)
  }
  return { pull: pullRef(pull), created: true }
}

/**
 * One target, start to finish: reuse an existing pick, or pick, push, open the PR and
 * comment on the original. Never throws for a failed pick (the other targets go on),
 * except when interrupted.
 */
export async function pickOnto(ctx: PickContext, source: Source, target: string): Promise<TargetResult> {
  const headBranch = headBranchName(source, target)
  const pr = source.pull?.number
  try {
    // Re-runs: a pull request already opened for this pick is reported, never opened twice.
    const existing = await findPull(ctx, headBranch)
    if (existing) {
      return { branch: target, status: 'exists', headBranch, pull: pullRef(existing), message: `already ${existing.state}` }
    }
    const { picked, conflicts, reused } = await pickAndPush(ctx, source, target, headBranch)
    if (conflicts.length && !ctx.draftOnConflict) {
      const howTo = conflictComment(ctx.remote, source, target, headBranch, conflicts)
      info(howTo)
      await commentOn(ctx, pr, howTo)
      return { branch: target, status: 'conflict', headBranch, conflicts, message: 'aborted; the manual steps are above (and on the pull request)' }
    }
    if (!picked.length) {
      return { branch: target, status: 'up-to-date', message: `the changes are already on ${target}` }
    }
    const { pull, created } = await openPull(ctx, source, target, headBranch, picked, conflicts)
    const result: TargetResult = {
      branch: target,
      status: !created ? 'exists' : conflicts.length ? 'conflict' : 'created',
      headBranch,
      pull,
      picked,
      conflicts: conflicts.length ? conflicts : undefined,
      message: reused ? `reused the branch ${headBranch} from an earlier run` : undefined,
    }
    if (created) await commentOn(ctx, pr, createdComment(result))
    return result
  } catch (error) {
    if (interrupted()) throw error
    const message = describeError(error)
    await commentOn(ctx, pr, failedComment(target, message, ctx.logUrl))
    return { branch: target, status: 'failed', headBranch, message }
  }
}
