// The source of a pick: a merged pull request (how it was merged decides which commits
// are picked, and how) or one commit; several picked in order as one source.
import { UsageError, WorkError } from '../../core/cli.mts'
import { git } from '../../core/git.mts'
import type { Octokit } from '../github.mts'
import { fetchBranches } from '../remote.mts'
import type { MergeKind, PickContext, PickStep, Source, SourcePull } from './types.mts'

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
  if (!(await hasCommit(ctx, mergeSha))) await git(ctx.root, ctx.remoteEnv)`git fetch --quiet --no-tags ${ctx.remote} ${mergeSha}`.nothrow()
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

