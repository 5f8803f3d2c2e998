// On a conflict, the prerequisites: the commits of the source branch that touch the
// conflicting files and are not on the target yet (no `-x` trailer naming them, no
// commit with the same patch id), with the pull requests that brought them.
import { git } from '../../core/git.mts'
import { warn } from '../../core/log.mts'
import { describeError } from '../github.mts'
import { picksOf } from './source.mts'
import type { PickContext, Prerequisite, Source } from './types.mts'

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
export async function patchIds(root: string, diffs: string): Promise<Map<string, string>> {
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
export async function prerequisitesOf(ctx: PickContext, source: Source, target: string, first: { conflicts: string[]; at?: string }): Promise<Prerequisite[]> {
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

