// Release-branch cherry-picks: the logic behind scripts/cherry-pick.mts.
//   - pure helpers: what an event asks for, branch names, titles, and every message;
//   - the steps: check targets, work out what to pick, pick in a temporary worktree,
//     push, open (or reuse) the pull request, comment on the original;
//   - on a conflict, the prerequisites: the commits of the source branch that touch the
//     conflicting files and are not on the target yet (no `-x` trailer naming them, no
//     commit with the same patch id), picked first with `--with-prerequisites`.
// Branch names, titles and comment bodies are untrusted input: they only ever reach a
// command as one zx-quoted argument, and the GitHub API as JSON.
import picomatch from 'picomatch'
import { quote, type Shell } from 'zx'
import { commandFor, UsageError, WorkError } from '../core/cli.mts'
import { interrupted } from '../core/interrupts.mts'
import { addTempWorktree, git } from '../core/git.mts'
import { code, describeError, type Octokit } from './github.mts'
import { fetchBranches, remoteBranches, remoteContext, type RemoteContext } from './remote.mts'
import type { AutoMergeMethod } from '../core/config.mts'
import { info, redact, warn } from '../core/log.mts'

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
  /** Requested reviewers (logins) and teams (slugs), copied with `cherryPick.reviewers`. */
  reviewers?: string[]
  teamReviewers?: string[]
  /** Copied with `cherryPick.milestone`. */
  milestone?: { number: number; title: string }
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
  /** Several pull requests or commits picked in this order onto one branch (`combineSources`). */
  parts?: Source[]
}

/** One `git cherry-pick`: a commit, with `-m 1` or not. */
export interface PickStep {
  sha: string
  mainline: boolean
}

/** A commit the target lacks that touches the conflicting files (see `findPrerequisites`). */
export interface Prerequisite {
  sha: string
  subject: string
  /** A merge commit on the source branch: picked with `-m 1`. */
  mainline: boolean
  /** The conflicting files it changes. */
  files: string[]
  /** The merged pull request that brought it, when GitHub knows one. */
  pull?: { number: number; title: string; url: string }
}

/** One try at picking onto a target, for the report. */
export interface Attempt {
  /** The prerequisites picked first (none on the first try). */
  prerequisites: string[]
  conflicts: string[]
  /** The commit whose pick conflicted. */
  at: string
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
  /** On a conflict: what the target lacks; with `--with-prerequisites`, what was picked first. */
  prerequisites?: Prerequisite[]
  /** The command that picks the prerequisites and the source in order. */
  prerequisitesCommand?: string
  /** Every try, when there was more than one (`--with-prerequisites`). */
  attempts?: Attempt[]
  /** What could not be done to the new pull request (reviewers, milestone, auto-merge). */
  warnings?: string[]
  message?: string
}

/** Optional settings of the pick's pull request (`cherryPick` in build.config.json). */
export interface PullSettings {
  reviewers: boolean
  milestone: boolean
  autoMerge: AutoMergeMethod | false
}

/** The remote (lib/bots/remote.mts), the GitHub client, and the pick's settings. */
export interface PickContext extends RemoteContext {
  github: Octokit
  labelPrefix: string
  targetBranches: string[]
  draftOnConflict: boolean
  /** On a conflict, try again with the prerequisites picked first. */
  withPrerequisites: boolean
  settings: PullSettings
}

// --- triggers --------------------------------------------------------------------------

/** The fields of GitHub's pull_request and issue_comment webhook payloads we read. */
export interface EventPayload {
  action?: string
  pull_request?: { number: number; merged?: boolean | null; labels?: Array<{ name?: string }> }
  label?: { name?: string }
  issue?: { number: number; pull_request?: unknown }
  comment?: { id?: number; body?: string; user?: { login?: string } | null }
}

export type Trigger =
  | { kind: 'none'; reason: string }
  /** A merged pull request with cherry-pick labels (at merge, or one added later). */
  | { kind: 'labels'; pr: number; targets: string[] }
  /** A `/cherry-pick` comment on a pull request; who may start one is checked later (permissionOf). */
  | { kind: 'comment'; pr: number; targets: string[]; user: string }

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

/**
 * What a GitHub Actions event asks for. A `/cherry-pick` comment's author is checked
 * later, against GitHub's permission API (author_association is not permission).
 */
export function triggerFromEvent(event: EventPayload, labelPrefix: string): Trigger {
  if (event.comment && event.issue) {
    if (event.action !== 'created') return { kind: 'none', reason: `the comment was ${event.action}, not created` }
    if (!event.issue.pull_request) return { kind: 'none', reason: `#${event.issue.number} is an issue, not a pull request` }
    const targets = parseCommand(event.comment.body ?? '')
    if (!targets) return { kind: 'none', reason: 'the comment has no /cherry-pick command' }
    const user = event.comment.user?.login
    if (!user) return { kind: 'none', reason: 'the comment has no author (a deleted user)' }
    return { kind: 'comment', pr: event.issue.number, targets, user }
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

/** What `--pr` / `--commit` ask for: pull request numbers or commits, in the order given. */
export interface ManualRequest {
  prs: number[]
  commits: string[]
  targets: string[]
}

/**
 * `--pr N [--pr M...] --to B...` or `--commit SHA [--commit SHA...] --to B...`, checked;
 * undefined when neither is given. Repeats are picked once, at their first place.
 */
export function manualRequest(flags: { pr?: string | string[]; commit?: string | string[]; to: string[] }): ManualRequest | undefined {
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v])
  const prs = list(flags.pr)
  const commits = list(flags.commit)
  if (!prs.length && !commits.length) {
    if (flags.to.length) throw new UsageError('--to needs --pr N or --commit SHA (what to pick)')
    return undefined
  }
  if (prs.length && commits.length) throw new UsageError('pass --pr or --commit, not both (a commit of a pull request: pass the pull request)')
  if (!flags.to.length) throw new UsageError('--to BRANCH is required (the branch to pick onto; repeat it for several)')
  const bad = prs.find((pr) => !/^[1-9]\d*$/.test(pr))
  if (bad !== undefined) throw new UsageError(`--pr: expected a pull request number, got ${JSON.stringify(bad)}`)
  return { prs: [...new Set(prs.map(Number))], commits: [...new Set(commits)], targets: [...new Set(flags.to)] }
}

/** Several sources picked in the given order onto one branch, as one Source. */
export function combineSources(sources: Source[]): Source {
  if (sources.length === 1) return sources[0]
  const first = sources[0]
  const rest = sources.slice(1).map(sourceLabel)
  return {
    pull: first.pull,
    title: `${first.title} (+ ${rest.join(', ')})`,
    kind: first.kind,
    commits: sources.flatMap((s) => s.commits),
    mainline: false,
    parts: sources,
  }
}

/** `#12`, or the commit's short sha. */
export function sourceLabel(source: Pick<Source, 'pull' | 'commits'>): string {
  return source.pull ? `#${source.pull.number}` : source.commits[0].slice(0, 12)
}

/** The picks, in order: each commit with `-m 1` or not. */
export function picksOf(source: Source): PickStep[] {
  return source.parts ? source.parts.flatMap(picksOf) : source.commits.map((sha) => ({ sha, mainline: source.mainline }))
}

/** The pull requests picked (none for commits), in order. */
export function pullsOf(source: Source): SourcePull[] {
  return source.parts ? source.parts.flatMap(pullsOf) : source.pull ? [source.pull] : []
}

// --- names and messages ------------------------------------------------------------------

/** `cherry-pick/<pr>-to-<target>`; several: `cherry-pick/<first>-<last>-to-<target>`. */
export function headBranchName(source: Pick<Source, 'pull' | 'commits' | 'parts'>, target: string): string {
  const id = (s: Pick<Source, 'pull' | 'commits'>) => sourceLabel(s).replace(/^#/, '')
  const parts = source.parts ?? [source]
  return `cherry-pick/${parts.length > 1 ? `${id(parts[0])}-${id(parts[parts.length - 1])}` : id(parts[0])}-to-${target}`
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

export function pickBody(
  source: Source,
  target: string,
  picked: PickedCommit[],
  conflicts: string[] = [],
  brought: { prerequisites: Prerequisite[]; first: Attempt } | undefined = undefined,
): string {
  const parts = source.parts ?? [source]
  const what = parts.map((p) => (p.pull ? `#${p.pull.number}` : `commit ${p.commits[0]}`)).join(', ')
  const lines = [`Cherry-pick of ${what} onto ${code(target)}${parts.length > 1 ? ', in this order' : ''}.`, '']
  const originals = parts.filter((p) => p.pull).map((p) => `Original pull request: ${p.pull!.url} (${KIND_NAMES[p.kind]}).`)
  if (originals.length) lines.push(...originals, '')
  if (brought) {
    lines.push(
      `**Prerequisites**: picking ${what} alone conflicted in ${brought.first.conflicts.map(code).join(', ')}. These earlier commits change those files and were not on ${code(target)} (no cherry-pick of them there, no commit with the same patch), so they were picked first, oldest first:`,
      '',
      ...brought.prerequisites.map((p) => `- ${prerequisiteLine(p)}`),
      '',
    )
  }
  lines.push('Picked with `git cherry-pick -x`:', '', ...picked.map((c) => `- ${c.sha} (cherry picked from commit ${c.from})`))
  if (conflicts.length) {
    lines.push('', `**Conflicts**: these files were committed with conflict markers; resolve them on this branch, then mark the pull request ready for review:`, '')
    lines.push(...conflicts.map((f) => `- ${code(f)}`))
  }
  return lines.join('\n')
}

/** A prerequisite for a list: short sha, its pull request (or subject), the files it changes. Titles stay code. */
export function prerequisiteLine(p: Prerequisite): string {
  const what = p.pull ? `#${p.pull.number} ${code(p.pull.title)}` : code(p.subject)
  return `${p.sha.slice(0, 12)} ${what}${p.mainline ? ' (a merge commit)' : ''}: changes ${p.files.map(code).join(', ')}`
}

/**
 * The one command that picks the prerequisites and then the source, in order: `--pr` for
 * each pull request when every commit has one, else `--commit` for each commit.
 */
export function prerequisitesCommand(prerequisites: Prerequisite[], source: Source, target: string): string {
  const parts = source.parts ?? [source]
  const byPull = prerequisites.every((p) => p.pull) && parts.every((p) => p.pull)
  const items = byPull
    ? [...prerequisites.map((p) => String(p.pull!.number)), ...parts.map((p) => String(p.pull!.number))]
    : [...prerequisites.map((p) => p.sha), ...picksOf(source).map((p) => p.sha)]
  const flag = byPull ? '--pr' : '--commit'
  return [commandFor('cherry-pick'), ...[...new Set(items)].map((item) => `${flag} ${quote(item)}`), `--to ${quote(target)}`].join(' ')
}

/** `git cherry-pick -x` lines for the picks: one per run of commits that share `-m 1` or not. */
function cherryPickLines(picks: PickStep[]): string[] {
  const lines: string[] = []
  let run: PickStep[] = []
  const flush = () => run.length && lines.push(`git cherry-pick -x ${run[0].mainline ? '-m 1 ' : ''}${run.map((p) => p.sha).join(' ')}`)
  for (const p of picks) {
    if (run.length && run[0].mainline !== p.mainline) {
      flush()
      run = []
    }
    run.push(p)
  }
  flush()
  return lines
}

/** The exact commands to do a conflicting pick by hand. */
export function manualCommands(remote: string, source: Source, target: string, headBranch: string): string {
  const fetch = [...new Set([target, ...pullsOf(source).map((p) => p.base)])]
  return [
    `git fetch ${quote(remote)} ${fetch.map(quote).join(' ')}`,
    `git switch --create ${quote(headBranch)} ${quote(`${remote}/${target}`)}`,
    ...cherryPickLines(picksOf(source)),
    '# resolve the conflicts, then: git add <files> && git cherry-pick --continue',
    `git push ${quote(remote)} ${quote(headBranch)}`,
  ].join('\n')
}

/** What the target lacks, and the attempts made, for a conflict comment (empty when there is nothing to say). */
export function prerequisitesText(target: string, result: Pick<TargetResult, 'prerequisites' | 'prerequisitesCommand' | 'attempts'>): string[] {
  const lines: string[] = []
  const prerequisites = result.prerequisites ?? []
  if (result.attempts && result.attempts.length > 1) {
    const [first, second] = result.attempts
    lines.push(
      'Two attempts, both aborted:',
      '',
      `1. alone: conflicts in ${first.conflicts.map(code).join(', ')} (picking ${first.at.slice(0, 12)});`,
      `2. with the ${second.prerequisites.length} prerequisite${second.prerequisites.length === 1 ? '' : 's'} below first: conflicts in ${second.conflicts.map(code).join(', ')} (picking ${second.at.slice(0, 12)}${second.prerequisites.includes(second.at) ? ', a prerequisite' : ''}).`,
      '',
    )
  }
  if (prerequisites.length) {
    lines.push(
      `${code(target)} lacks earlier changes to these files (not picked there with \`-x\`, no commit with the same patch), oldest first:`,
      '',
      ...prerequisites.map((p) => `- ${prerequisiteLine(p)}`),
      '',
    )
    if (result.prerequisitesCommand && !(result.attempts && result.attempts.length > 1)) {
      lines.push('To pick them and this in order (or run again with `--with-prerequisites`):', '', '```sh', result.prerequisitesCommand, '```', '')
    }
  } else if (result.attempts?.length === 1) {
    lines.push(`No earlier commit that changes these files is missing from ${code(target)}: the conflict is with ${code(target)}'s own changes.`, '')
  }
  return lines
}

export function conflictComment(
  remote: string,
  source: Source,
  target: string,
  headBranch: string,
  conflicts: string[],
  found: Pick<TargetResult, 'prerequisites' | 'prerequisitesCommand' | 'attempts'> = {},
): string {
  return [
    `Cherry-pick onto ${code(target)} stopped: conflicts in`,
    '',
    ...conflicts.map((f) => `- ${code(f)}`),
    '',
    ...prerequisitesText(target, found),
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
  const lines = [`Cherry-picked onto ${code(result.branch)}: #${pull.number} (${pull.url}), ${picked} commit${picked === 1 ? '' : 's'}.`]
  if (result.prerequisites?.length) {
    lines.push('', `It brings ${result.prerequisites.length} prerequisite${result.prerequisites.length === 1 ? '' : 's'} first (picking alone conflicted; see the pull request):`, '')
    lines.push(...result.prerequisites.map((p) => `- ${prerequisiteLine(p)}`))
  }
  if (result.warnings?.length) lines.push('', '**Warnings** (the pick itself is done):', '', ...result.warnings.map((w) => `- ${w}`))
  return lines.join('\n')
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

/** Hidden in the reply to an untrusted commenter, so that they get one reply per pull request. */
export function untrustedMarker(user: string): string {
  return `<!-- cherry-pick: untrusted reply to @${user} -->`
}

export function untrustedReply(user: string, example: string, prefix: string): string {
  return [
    `Thanks @${user}! Only people with write, maintain or admin access to the repository can start a cherry-pick, so nothing was done.`,
    `A maintainer can comment ${code(`/cherry-pick ${example}`)} or add the label ${code(prefix + example)}.`,
    `(Further \`/cherry-pick\` comments from you on this pull request get no reply.)`,
    untrustedMarker(user),
  ].join(' ')
}

/**
 * Reply to an untrusted `/cherry-pick` once per pull request and commenter: repeating the
 * command gets no further reply, so no one can make the bot flood a pull request. The
 * earlier reply is found by its hidden marker; anyone can forge one, which only silences
 * the reply to the named commenter (nothing runs for them either way).
 */
export async function replyOnceToUntrusted(ctx: PickContext, pr: number, user: string, body: string): Promise<boolean> {
  const marker = untrustedMarker(user)
  const comments = await ctx.github.paginate(ctx.github.rest.issues.listComments, { ...ctx.repo, issue_number: pr, per_page: 100 })
  if (comments.some((c) => c.body?.includes(marker))) return false
  await commentOn(ctx, pr, body)
  return true
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
    prs: source ? pullsOf(source).map((p) => p.number) : [],
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
      r.prerequisites?.length
        ? `${r.status === 'conflict' ? 'missing on the target' : 'prerequisites picked'}: ${r.prerequisites.map((p) => (p.pull ? `#${p.pull.number}` : p.sha.slice(0, 12))).join(', ')}`
        : '',
      r.warnings?.length ? `${r.warnings.length} warning(s), see the log` : '',
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
  config: { labelPrefix: string; targetBranches: string[] } & Partial<PullSettings>
  draftOnConflict: boolean
  withPrerequisites?: boolean
  env?: NodeJS.ProcessEnv
}): Promise<PickContext> {
  return {
    ...(await remoteContext(options)),
    github: options.github,
    labelPrefix: options.config.labelPrefix,
    targetBranches: options.config.targetBranches,
    draftOnConflict: options.draftOnConflict,
    withPrerequisites: options.withPrerequisites ?? false,
    settings: { reviewers: options.config.reviewers ?? false, milestone: options.config.milestone ?? false, autoMerge: options.config.autoMerge ?? false },
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
      reviewers: (pull.requested_reviewers ?? []).map((u) => u.login),
      teamReviewers: (pull.requested_teams ?? []).map((t) => t.slug),
      milestone: pull.milestone ? { number: pull.milestone.number, title: pull.milestone.title } : undefined,
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
 * Pick the commits in order. A commit whose change is already on the target is skipped.
 * On a conflict: `cherry-pick --abort` and return the conflicting files and the commit, or
 * with `draftOnConflict` commit the conflict markers and go on. Returns all conflicting
 * files, and the first commit that conflicted.
 */
async function cherryPickAll(run: Shell, picks: PickStep[], draftOnConflict: boolean): Promise<{ conflicts: string[]; at?: string }> {
  const conflicts: string[] = []
  let at: string | undefined
  for (const { sha: commit, mainline } of picks) {
    const pick = await run`git cherry-pick -x ${mainline ? ['-m', '1'] : []} ${commit}`.nothrow()
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
    at ??= commit
    if (!draftOnConflict) {
      await run`git cherry-pick --abort`
      return { conflicts, at }
    }
    await run`git add --all`
    await run`git cherry-pick --continue`
  }
  return { conflicts, at }
}

// --- prerequisites ---------------------------------------------------------------------------

/** `(cherry picked from commit X)` lines of commit trailers: the commits X named. */
export function pickedFromTrailers(trailers: string): string[] {
  return [...trailers.matchAll(/^\(cherry picked from commit ([0-9a-f]{7,64})\)\s*$/gm)].map((m) => m[1])
}

/** `git patch-id --stable` output: commit -> patch id. */
export function parsePatchIds(stdout: string): Map<string, string> {
  const ids = new Map<string, string>()
  for (const line of stdout.split('\n').filter(Boolean)) {
    const [id, commit] = line.split(' ')
    ids.set(commit, id)
  }
  return ids
}

/**
 * The commits the target lacks that touch the conflicting files: on the source branch's
 * first-parent line between the merge base of `target` and `sourceBranch` (or the
 * conflicting commit, without one) and the conflicting commit's parent, changing one of
 * `files`, oldest first, minus
 *   - `exclude` (what is being picked anyway),
 *   - commits a `(cherry picked from commit X)` trailer on the target names,
 *   - commits whose patch id (`git patch-id --stable`) a commit on the target has (picked
 *     without -x, or landed twice).
 * A merge commit on that line counts as one change (its diff against its first parent).
 * File names are literal pathspecs (`:(glob)*` is a file name here, not magic).
 */
export async function findPrerequisites(
  root: string,
  options: { target: string; sourceBranch?: string; commit: string; files: string[]; exclude: string[] },
): Promise<Omit<Prerequisite, 'pull'>[]> {
  const run = git(root)
  const mergeBase = await run`git merge-base ${options.target} ${options.sourceBranch ?? options.commit}`.nothrow()
  if (!mergeBase.ok || !options.files.length) return []
  const base = mergeBase.stdout.trim()
  const listed = await run`git --literal-pathspecs rev-list --first-parent --reverse --parents ${`${base}..${options.commit}^1`} -- ${options.files}`.nothrow()
  if (!listed.ok) return []
  const candidates = listed.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [sha, ...parents] = line.split(' ')
      return { sha, mainline: parents.length > 1 }
    })
    .filter((c) => !options.exclude.includes(c.sha))
  if (!candidates.length) return []

  // What the target has: -x trailers (every commit), and patch ids of the commits that touch the files.
  const range = `${base}..${options.target}`
  const trailers = await run`git log ${'--format=%(trailers)'} ${range}`
  const named = pickedFromTrailers(trailers.stdout)
  const targetDiffs = await run`git --literal-pathspecs log -p --no-merges --full-diff --format=medium ${range} -- ${options.files}`
  const targetIds = new Set((await patchIds(root, targetDiffs.stdout)).values())
  const candidateDiffs = await run`git show --diff-merges=first-parent --format=medium ${candidates.map((c) => c.sha)}`
  const candidateIds = await patchIds(root, candidateDiffs.stdout)
  const missing = candidates.filter((c) => !named.some((n) => c.sha.startsWith(n)) && !targetIds.has(candidateIds.get(c.sha) ?? ''))

  const out: Omit<Prerequisite, 'pull'>[] = []
  for (const c of missing) {
    const subject = (await run`git log -1 --format=%s ${c.sha}`).stdout.trim()
    const files = (await run`git --literal-pathspecs diff --name-only -z ${`${c.sha}^1`} ${c.sha} -- ${options.files}`).stdout.split('\0').filter(Boolean)
    out.push({ ...c, subject, files })
  }
  return out
}

/** commit -> `git patch-id --stable` of a `git log -p` / `git show` output. Nothing to read: no process (an empty stdin would never be closed). */
async function patchIds(root: string, diffs: string): Promise<Map<string, string>> {
  if (!diffs.trim()) return new Map()
  return parsePatchIds((await git(root)({ input: diffs })`git patch-id --stable`).stdout)
}

/** The merged pull request that brought `sha` (GET /repos/{o}/{r}/commits/{sha}/pulls); undefined when none, or on an error (a warning). */
async function pullOfCommit(ctx: PickContext, sha: string): Promise<Prerequisite['pull']> {
  try {
    const { data } = await ctx.github.rest.repos.listPullRequestsAssociatedWithCommit({ ...ctx.repo, commit_sha: sha, per_page: 100 })
    const merged = data.find((p) => p.merged_at && p.merge_commit_sha === sha) ?? data.find((p) => p.merged_at)
    return merged ? { number: merged.number, title: merged.title, url: merged.html_url } : undefined
  } catch (error) {
    warn(`could not ask GitHub which pull request brought ${sha.slice(0, 12)}: ${describeError(error)}`)
    return undefined
  }
}

/** The prerequisites of a conflicting pick, with their pull requests. */
async function prerequisitesOf(ctx: PickContext, source: Source, target: string, first: { conflicts: string[]; at?: string }): Promise<Prerequisite[]> {
  if (!first.at) return []
  const part = (source.parts ?? [source]).find((p) => p.commits.includes(first.at!))
  const found = await findPrerequisites(ctx.root, {
    target: `refs/remotes/${ctx.remote}/${target}`,
    sourceBranch: part?.pull ? `refs/remotes/${ctx.remote}/${part.pull.base}` : undefined,
    commit: first.at,
    files: first.conflicts,
    exclude: picksOf(source).map((p) => p.sha),
  })
  const out: Prerequisite[] = []
  for (const p of found) out.push({ ...p, pull: await pullOfCommit(ctx, p.sha) })
  return out
}

/** The `git patch-id --stable` of each commit in `base..head`, oldest first ('' for one without a diff: a merge, an empty commit). */
async function rangePatchIds(run: Shell, root: string, base: string, head: string): Promise<string[]> {
  const range = `${base}..${head}`
  const shas = (await run`git rev-list --reverse ${range}`).stdout.split('\n').filter(Boolean)
  const ids = await patchIds(root, (await run`git log -p --reverse --format=${'commit %H'} ${range}`).stdout)
  return shas.map((sha) => ids.get(sha) ?? '')
}

/**
 * Whether the commits of an existing `headBranch` (`base..earlier`) are exactly the picks
 * just made (`base..HEAD`), by patch id, in order: a branch anyone with push access
 * could have written is never taken on its trailers' word.
 */
async function samePicks(run: Shell, root: string, picksBase: string, earlierBase: string, earlier: string): Promise<boolean> {
  const [picks, found] = await Promise.all([rangePatchIds(run, root, picksBase, 'HEAD'), rangePatchIds(run, root, earlierBase, earlier)])
  return picks.length === found.length && picks.every((id, i) => id !== '' && id === found[i])
}

/**
 * Pick `source` onto `target` and push `headBranch`, in a temporary worktree (the user's
 * checkout is never touched). A branch left by an earlier run is kept when its commits
 * are these picks (the same patch ids); otherwise it is replaced, with a lease on the
 * commit it was seen at.
 */
async function pickAndPush(ctx: PickContext, source: Source, target: string, headBranch: string): Promise<PickOutcome> {
  const earlier = (await remoteBranches(ctx, [headBranch])).get(headBranch)
  if (earlier) await fetchBranches(ctx, [headBranch])
  const worktree = await addTempWorktree(ctx.root, `refs/remotes/${ctx.remote}/${target}`, ctx.env)
  try {
    const base = (await worktree.git`git rev-parse HEAD`).stdout.trim()
    const picks = picksOf(source)
    // With --with-prerequisites, the draft (if asked for) comes only after both attempts.
    const draftNow = ctx.draftOnConflict && !ctx.withPrerequisites
    let attempt = await cherryPickAll(worktree.git, picks, draftNow)
    const found: Pick<PickOutcome, 'prerequisites' | 'attempts' | 'brought'> = {}
    if (attempt.conflicts.length && !draftNow) {
      const first: Attempt = { prerequisites: [], conflicts: attempt.conflicts, at: attempt.at ?? '' }
      found.attempts = [first]
      found.prerequisites = await prerequisitesOf(ctx, source, target, attempt)
      if (ctx.withPrerequisites && found.prerequisites.length) {
        info(`  ${target}: picking alone conflicted in ${first.conflicts.join(', ')}; trying again with ${found.prerequisites.length} prerequisite(s) first`)
        await worktree.git`git reset --quiet --hard ${base}`
        const before: PickStep[] = found.prerequisites.map((p) => ({ sha: p.sha, mainline: p.mainline }))
        attempt = await cherryPickAll(worktree.git, [...before, ...picks], false)
        found.attempts.push({ prerequisites: before.map((p) => p.sha), conflicts: attempt.conflicts, at: attempt.at ?? '' })
        if (!attempt.conflicts.length) found.brought = { prerequisites: found.prerequisites, first }
      }
      if (attempt.conflicts.length && ctx.draftOnConflict) {
        await worktree.git`git reset --quiet --hard ${base}`
        attempt = await cherryPickAll(worktree.git, picks, true)
      }
      if (attempt.conflicts.length && !ctx.draftOnConflict) return { picked: [], conflicts: first.conflicts, reused: false, ...found }
    }
    const picked = await pickedCommits(worktree.git, base, 'HEAD')
    if (!picked.length) return { picked, conflicts: attempt.conflicts, reused: false, ...found }
    if (earlier) {
      const targetRef = `refs/remotes/${ctx.remote}/${target}`
      if (await samePicks(worktree.git, ctx.root, base, targetRef, earlier)) {
        // Its commits, with what they were picked from as this run knows it (not their trailers).
        const kept = await pickedCommits(worktree.git, targetRef, earlier)
        return { picked: kept.map((c, i) => ({ sha: c.sha, from: picked[i].from })), conflicts: attempt.conflicts, reused: true, ...found }
      }
      warn(`${headBranch} on ${ctx.remote} (${earlier.slice(0, 12)}) does not hold these picks (other patch ids): replacing it with this run's picks`)
      await worktree.git`git push --quiet ${`--force-with-lease=refs/heads/${headBranch}:${earlier}`} ${ctx.remote} ${`HEAD:refs/heads/${headBranch}`}`
      return { picked, conflicts: attempt.conflicts, reused: false, replaced: earlier, ...found }
    }
    await worktree.git`git push --quiet ${ctx.remote} ${`HEAD:refs/heads/${headBranch}`}`
    return { picked, conflicts: attempt.conflicts, reused: false, ...found }
  } finally {
    await worktree.remove()
  }
}

interface PickOutcome {
  picked: PickedCommit[]
  conflicts: string[]
  /** An earlier run's branch held exactly these picks: kept as it was. */
  reused: boolean
  /** The commit an existing branch held that was not these picks, replaced. */
  replaced?: string
  /** What the target lacked when picking alone conflicted. */
  prerequisites?: Prerequisite[]
  attempts?: Attempt[]
  /** Set when the prerequisites were picked first and that applied cleanly. */
  brought?: { prerequisites: Prerequisite[]; first: Attempt }
}

/** Open the PR into `target` (or find the one a concurrent run just opened), assign, label, apply the settings. */
async function openPull(ctx: PickContext, source: Source, target: string, headBranch: string, outcome: PickOutcome) {
  const { picked, conflicts } = outcome
  let pull: Pick<PullData, 'number' | 'html_url' | 'draft' | 'node_id'>
  try {
    const draft = conflicts.length > 0
    const body = pickBody(source, target, picked, conflicts, outcome.brought)
    pull = (await ctx.github.rest.pulls.create({ ...ctx.repo, head: headBranch, base: target, title: pickTitle(target, source.title), body, draft })).data
  } catch (error) {
    const existing = (error as { status?: number }).status === 422 ? await findPull(ctx, headBranch) : undefined
    if (!existing) throw error
    return { pull: pullRef(existing), created: false, warnings: [] as string[] }
  }
  const originals = pullsOf(source)
  const labels = [...new Set(originals.flatMap((p) => p.labels))].filter((l) => !l.startsWith(ctx.labelPrefix) && l !== CONFLICT_LABEL)
  if (conflicts.length) labels.push(CONFLICT_LABEL)
  try {
    const assignees = [...new Set(originals.map((p) => p.author))]
    if (assignees.length) await ctx.github.rest.issues.addAssignees({ ...ctx.repo, issue_number: pull.number, assignees })
    if (labels.length) await ctx.github.rest.issues.addLabels({ ...ctx.repo, issue_number: pull.number, labels })
  } catch (error) {
    warn(`#${pull.number}: could not assign or label it: ${describeError(error)}`)
  }
  const warnings = await applySettings(ctx, originals, pull)
  return { pull: pullRef(pull), created: true, warnings }
}

export const AUTO_MERGE_MUTATION = `mutation($input: EnablePullRequestAutoMergeInput!) {
  enablePullRequestAutoMerge(input: $input) { pullRequest { number autoMergeRequest { mergeMethod enabledAt } } }
}`

/** GraphQL errors (`errors[].message`), else the usual one-line reason. */
function graphqlReason(error: unknown): string {
  const errors = (error as { errors?: Array<{ message?: string }> }).errors
  return Array.isArray(errors) && errors.length ? errors.map((e) => e.message ?? '').join('; ') : describeError(error)
}

/**
 * `cherryPick.reviewers`, `.milestone`, `.autoMerge` on the new pull request. Each that
 * GitHub refuses is a warning (returned for the comment, and logged): the pick is done.
 */
async function applySettings(ctx: PickContext, originals: SourcePull[], pull: { number: number; node_id: string }): Promise<string[]> {
  const warnings: string[] = []
  const { settings } = ctx
  if (settings.reviewers) {
    const reviewers = [...new Set(originals.flatMap((p) => p.reviewers ?? []))]
    const teams = [...new Set(originals.flatMap((p) => p.teamReviewers ?? []))]
    if (reviewers.length || teams.length) {
      try {
        await ctx.github.rest.pulls.requestReviewers({ ...ctx.repo, pull_number: pull.number, reviewers, team_reviewers: teams })
      } catch (error) {
        warnings.push(`could not request reviews from ${[...reviewers.map((r) => `@${r}`), ...teams.map((t) => `team ${t}`)].map(code).join(', ')}: ${describeError(error)}`)
      }
    }
  }
  if (settings.milestone) {
    const milestone = originals.find((p) => p.milestone)?.milestone
    if (milestone) {
      try {
        await ctx.github.rest.issues.update({ ...ctx.repo, issue_number: pull.number, milestone: milestone.number })
      } catch (error) {
        warnings.push(`could not set the milestone ${code(milestone.title)}: ${describeError(error)}`)
      }
    }
  }
  if (settings.autoMerge) {
    try {
      await ctx.github.graphql(AUTO_MERGE_MUTATION, { input: { pullRequestId: pull.node_id, mergeMethod: settings.autoMerge.toUpperCase() } })
    } catch (error) {
      warnings.push(
        `could not enable auto-merge (${settings.autoMerge}): GitHub said ${code(redact(graphqlReason(error)))}. Merge it by hand; to have it merge itself, allow auto-merge in the repository's settings (General > Pull requests) and protect ${code(ctx.repo.repo)}'s release branches with a required check, or set ${code('cherryPick.autoMerge')} to false.`,
      )
    }
  }
  for (const w of warnings) warn(`#${pull.number}: ${w}`)
  return warnings
}

/** Comment on every pull request picked (one comment each). */
async function commentOnAll(ctx: PickContext, source: Source, body: string): Promise<void> {
  for (const p of pullsOf(source)) await commentOn(ctx, p.number, body)
}

/**
 * One target, start to finish: reuse an existing pick, or pick, push, open the PR and
 * comment on the original(s). Never throws for a failed pick (the other targets go on),
 * except when interrupted.
 */
export async function pickOnto(ctx: PickContext, source: Source, target: string): Promise<TargetResult> {
  const headBranch = headBranchName(source, target)
  try {
    // Re-runs: a pull request already opened for this pick is reported, never opened twice.
    const existing = await findPull(ctx, headBranch)
    if (existing) {
      return { branch: target, status: 'exists', headBranch, pull: pullRef(existing), message: `already ${existing.state}` }
    }
    const outcome = await pickAndPush(ctx, source, target, headBranch)
    const { picked, conflicts, reused } = outcome
    const found: Pick<TargetResult, 'prerequisites' | 'prerequisitesCommand' | 'attempts'> = {}
    if (outcome.prerequisites?.length) {
      found.prerequisites = outcome.prerequisites
      found.prerequisitesCommand = prerequisitesCommand(outcome.prerequisites, source, target)
    }
    if (outcome.attempts && outcome.attempts.length > 1) found.attempts = outcome.attempts
    if (conflicts.length && !ctx.draftOnConflict) {
      const howTo = conflictComment(ctx.remote, source, target, headBranch, conflicts, { ...found, attempts: outcome.attempts })
      info(howTo)
      await commentOnAll(ctx, source, howTo)
      const tried = found.attempts ? 'both attempts aborted' : 'aborted'
      return { branch: target, status: 'conflict', headBranch, conflicts, ...found, message: `${tried}; the manual steps are above (and on the pull request)` }
    }
    if (!picked.length) {
      return { branch: target, status: 'up-to-date', message: `the changes are already on ${target}` }
    }
    const { pull, created, warnings } = await openPull(ctx, source, target, headBranch, outcome)
    const result: TargetResult = {
      branch: target,
      status: !created ? 'exists' : conflicts.length ? 'conflict' : 'created',
      headBranch,
      pull,
      picked,
      conflicts: conflicts.length ? conflicts : undefined,
      prerequisites: outcome.brought?.prerequisites,
      attempts: outcome.brought ? outcome.attempts : undefined,
      warnings: warnings.length ? warnings : undefined,
      message: reused
        ? `reused the branch ${headBranch} from an earlier run (its commits are these picks: the same patch ids)`
        : outcome.replaced
          ? `replaced the branch ${headBranch}: it held ${outcome.replaced.slice(0, 12)}, whose commits are not these picks`
          : outcome.brought
            ? `brought ${outcome.brought.prerequisites.length} prerequisite(s) first: ${outcome.brought.prerequisites.map((p) => (p.pull ? `#${p.pull.number}` : p.sha.slice(0, 12))).join(', ')}`
            : undefined,
    }
    if (created) await commentOnAll(ctx, source, createdComment(result))
    return result
  } catch (error) {
    if (interrupted()) throw error
    const message = describeError(error)
    await commentOnAll(ctx, source, failedComment(target, message, ctx.logUrl))
    return { branch: target, status: 'failed', headBranch, message }
  }
}
