// The GitHub side of a pick: the pull request it opens (or finds), with the settings
// copied from the original, and the comments on the original pull request(s).
import { redact, warn } from '../../core/log.mts'
import { code, describeError } from '../github.mts'
import { pickBody, pickTitle, untrustedMarker } from './messages.mts'
import { pullsOf, type PullData } from './source.mts'
import { CONFLICT_LABEL, type PickContext, type PickOutcome, type Source, type SourcePull, type TargetResult } from './types.mts'

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
export async function findPull(ctx: PickContext, headBranch: string) {
  const pulls = await ctx.github.paginate(ctx.github.rest.pulls.list, { ...ctx.repo, state: 'all', head: `${ctx.repo.owner}:${headBranch}`, per_page: 100 })
  return pulls.find((p) => p.state === 'open') ?? pulls[0]
}

export const pullRef = (p: Pick<PullData, 'number' | 'html_url' | 'draft'>) => ({ number: p.number, url: p.html_url, draft: Boolean(p.draft) })
/** Open the PR into `target` (or find the one a concurrent run just opened), assign, label, apply the settings. */
export async function openPull(ctx: PickContext, source: Source, target: string, headBranch: string, outcome: PickOutcome) {
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
export async function commentOnAll(ctx: PickContext, source: Source, body: string): Promise<void> {
  for (const p of pullsOf(source)) await commentOn(ctx, p.number, body)
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
