// One target, start to finish: pick in a temporary worktree (the user's checkout is
// never touched), push the pick branch, open the pull request, comment on the original.
// Branch names, titles and comment bodies are untrusted input: they only ever reach a
// command as one zx-quoted argument, and the GitHub API as JSON.
import type { Shell } from 'zx'
import { interrupted } from '../../core/interrupts.mts'
import { addTempWorktree, gitEnv } from '../../core/git.mts'
import { info, warn } from '../../core/log.mts'
import { describeError } from '../github.mts'
import { fetchBranches, remoteBranches } from '../remote.mts'
import { conflictComment, createdComment, failedComment, headBranchName, prerequisitesCommand } from './messages.mts'
import { patchIds, prerequisitesOf } from './prerequisites.mts'
import { commentOnAll, findPull, openPull, pullRef } from './pull-request.mts'
import { picksOf } from './source.mts'
import type { Attempt, PickContext, PickedCommit, PickOutcome, PickStep, Source, TargetResult } from './types.mts'

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
    // Only the push reaches the remote: it alone gets the token.
    const push = worktree.git({ env: gitEnv(ctx.remoteEnv) })
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
      await push`git push --quiet ${`--force-with-lease=refs/heads/${headBranch}:${earlier}`} ${ctx.remote} ${`HEAD:refs/heads/${headBranch}`}`
      return { picked, conflicts: attempt.conflicts, reused: false, replaced: earlier, ...found }
    }
    await push`git push --quiet ${ctx.remote} ${`HEAD:refs/heads/${headBranch}`}`
    return { picked, conflicts: attempt.conflicts, reused: false, ...found }
  } finally {
    await worktree.remove()
  }
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
