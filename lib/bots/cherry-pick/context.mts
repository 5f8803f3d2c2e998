// What a run needs, checked up front: the remote and GitHub context with the pick's
// settings, and which targets may be picked onto (a valid branch name, matching
// cherryPick.targetBranches, present on the remote).
import picomatch from 'picomatch'
import { git } from '../../core/git.mts'
import type { Octokit } from '../github.mts'
import { remoteBranches, remoteContext } from '../remote.mts'
import type { PickContext, PullSettings, TargetResult } from './types.mts'

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

