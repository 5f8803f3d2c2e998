// Whether a maintainer approved exactly this commit of an open pull request: the logic
// behind scripts/check-approval.mts, which the privileged workflow
// `integration-approved.yml` runs before it checks out any pull request code.
//
// Everything here comes from the GitHub API, never from the pull request's own files or
// from anything an earlier (unprivileged) workflow run wrote: that run's workflow file is
// the pull request's version, so it can say anything.
import { permissionOf, trustedRoles, type Octokit, type RepoSlug, type TrustPolicy, type UserPermission } from './github.mts'

/** The fields of a pull request review we read (GET /repos/{o}/{r}/pulls/{n}/reviews). */
export interface ReviewData {
  state: string
  commit_id: string | null
  user: { login: string } | null
}

export interface Approval {
  approved: boolean
  /** Why (not): a sentence for the log. */
  reason: string
  /** The approving reviewer. */
  reviewer?: string
}

// Only these change a reviewer's verdict; a COMMENTED review leaves it as it was (as on GitHub).
const DECISIVE = ['APPROVED', 'CHANGES_REQUESTED', 'DISMISSED']

const short = (sha: string | null) => (sha ?? 'a commit no longer in the repository').slice(0, 12)

/** Each reviewer's latest verdict (APPROVED, CHANGES_REQUESTED or DISMISSED), from reviews oldest first. */
export function latestVerdicts(reviews: ReviewData[]): ReviewData[] {
  const latest = new Map<string, ReviewData>()
  for (const review of reviews) {
    if (review.user && DECISIVE.includes(review.state)) latest.set(review.user.login, review)
  }
  return [...latest.values()]
}

/**
 * Is `sha` approved by these reviews (oldest first, as the API lists them)? `permissions`
 * holds each reviewer's permission now (see permissionOf); a reviewer missing from it is
 * untrusted. Yes when no trusted reviewer's latest verdict is a request for changes (on
 * any commit: GitHub's review decision blocks on it too), and a trusted reviewer's latest
 * verdict is an APPROVED review of exactly `sha`. An approval of an earlier commit does
 * not count (a push after an approval needs a new one); nor does one that was dismissed or
 * followed by a request for changes, nor one from someone without write access.
 */
export function approvalOf(reviews: ReviewData[], sha: string, permissions: Map<string, UserPermission>, trust: TrustPolicy = {}): Approval {
  const verdicts = latestVerdicts(reviews)
  const trusted = (r: ReviewData) => permissions.get(r.user!.login)?.trusted === true
  const role = (r: ReviewData) => permissions.get(r.user!.login)?.role ?? 'none'
  const blocking = verdicts.filter((r) => r.state === 'CHANGES_REQUESTED' && trusted(r))
  if (blocking.length) {
    const who = blocking.map((r) => `${r.user!.login} (${role(r)})`).join(', ')
    return { approved: false, reason: `changes requested by ${who}: their latest review must be an approval, or be dismissed` }
  }
  const approvals = verdicts.filter((r) => r.state === 'APPROVED')
  const trustedApprovals = approvals.filter(trusted)
  const exact = trustedApprovals.find((r) => r.commit_id === sha)
  if (exact) return { approved: true, reviewer: exact.user!.login, reason: `approved by ${exact.user!.login} (${role(exact)}) at ${short(sha)}` }
  if (trustedApprovals.length) {
    const r = trustedApprovals[0]
    return { approved: false, reason: `${r.user!.login} approved ${short(r.commit_id)}, not ${short(sha)}: a push after an approval needs a new approval` }
  }
  if (approvals.length) {
    const who = approvals.map((r) => `${r.user!.login} (${role(r)})`).join(', ')
    return { approved: false, reason: `approved only by ${who}: an approval counts from people with ${trustedRoles(trust)} only` }
  }
  return { approved: false, reason: `no approving review from someone with ${trustedRoles(trust)}` }
}

export interface ApprovedPull extends Approval {
  /** The open pull request whose head is the commit, when there is one. */
  pr?: number
}

/**
 * Did someone who may approve start this run? `actor` is the workflow run's
 * triggering_actor: a contributor who submits any review (with a pull request that edits
 * the trigger workflow to fire on it) or re-runs a run must not start the integration
 * tests of a commit a maintainer approved earlier.
 */
export async function actorCheck(github: Octokit, repo: RepoSlug, actor: string, trust: TrustPolicy = {}): Promise<Approval | undefined> {
  const who = await permissionOf(github, repo, actor, trust)
  if (who.trusted) return undefined
  return { approved: false, reason: `the run was started by ${actor} (${who.role}), not by someone with ${trustedRoles(trust)}` }
}

/**
 * The open pull request whose head is `sha`, and whether `sha` is approved, asking GitHub
 * for the permission of `actor` and of each reviewer with a verdict. A pull request from
 * a fork is found the same way (its head commit is listed on the base repository's pull
 * requests). With `trust.team`, that team's active members are trusted too.
 */
export async function findApproval(github: Octokit, repo: RepoSlug, sha: string, actor: string, trust: TrustPolicy = {}): Promise<ApprovedPull> {
  const refused = await actorCheck(github, repo, actor, trust)
  if (refused) return refused
  const pulls = await github.paginate(github.rest.pulls.list, { ...repo, state: 'open', per_page: 100 })
  const heads = pulls.filter((p) => p.head.sha === sha)
  if (!heads.length) return { approved: false, reason: `no open pull request has ${short(sha)} as its head (it was pushed to since, or closed)` }
  const permissions = new Map<string, UserPermission>()
  let first: ApprovedPull | undefined
  for (const pull of heads) {
    const reviews = await github.paginate(github.rest.pulls.listReviews, { ...repo, pull_number: pull.number, per_page: 100 })
    for (const review of latestVerdicts(reviews)) {
      const login = review.user!.login
      if (!permissions.has(login)) permissions.set(login, await permissionOf(github, repo, login, trust))
    }
    const approval = { ...approvalOf(reviews, sha, permissions, trust), pr: pull.number }
    if (approval.approved) return approval
    first ??= approval
  }
  return first!
}
