// Whether a maintainer approved exactly this commit of an open pull request: the logic
// behind scripts/check-approval.mts, which the privileged workflow
// `integration-approved.yml` runs before it checks out any pull request code.
//
// Everything here comes from the GitHub API, never from the pull request's own files or
// from anything an earlier (unprivileged) workflow run wrote: that run's workflow file is
// the pull request's version, so it can say anything.
import { isTrusted, TRUSTED_ASSOCIATIONS, type Octokit, type RepoSlug } from './github.mts'

/** The fields of a pull request review we read (GET /repos/{o}/{r}/pulls/{n}/reviews). */
export interface ReviewData {
  state: string
  commit_id: string | null
  author_association: string
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

/**
 * Is `sha` approved by these reviews (oldest first, as the API lists them)? Yes when a
 * reviewer who is an owner, member or collaborator has, as their latest verdict, an
 * APPROVED review of exactly `sha`. An approval of an earlier commit does not count (a
 * push after an approval needs a new one); nor does one that was dismissed or followed by
 * a request for changes, nor one from anybody else.
 */
export function approvalOf(reviews: ReviewData[], sha: string): Approval {
  const latest = new Map<string, ReviewData>()
  for (const review of reviews) {
    if (review.user && DECISIVE.includes(review.state)) latest.set(review.user.login, review)
  }
  const approvals = [...latest.values()].filter((r) => r.state === 'APPROVED')
  const trusted = approvals.filter((r) => isTrusted(r.author_association))
  const exact = trusted.find((r) => r.commit_id === sha)
  if (exact) return { approved: true, reviewer: exact.user!.login, reason: `approved by ${exact.user!.login} (${exact.author_association}) at ${short(sha)}` }
  if (trusted.length) {
    const r = trusted[0]
    return { approved: false, reason: `${r.user!.login} approved ${short(r.commit_id)}, not ${short(sha)}: a push after an approval needs a new approval` }
  }
  if (approvals.length) {
    const who = approvals.map((r) => `${r.user!.login} (${r.author_association})`).join(', ')
    return { approved: false, reason: `approved only by ${who}: an approval counts from ${TRUSTED_ASSOCIATIONS.join(', ')} only` }
  }
  return { approved: false, reason: 'no approving review from an owner, member or collaborator' }
}

export interface ApprovedPull extends Approval {
  /** The open pull request whose head is the commit, when there is one. */
  pr?: number
}

/**
 * The open pull request whose head is `sha`, and whether `sha` is approved. A pull
 * request from a fork is found the same way (its head commit is listed on the base
 * repository's pull requests).
 */
export async function findApproval(github: Octokit, repo: RepoSlug, sha: string): Promise<ApprovedPull> {
  const pulls = await github.paginate(github.rest.pulls.list, { ...repo, state: 'open', per_page: 100 })
  const heads = pulls.filter((p) => p.head.sha === sha)
  if (!heads.length) return { approved: false, reason: `no open pull request has ${short(sha)} as its head (it was pushed to since, or closed)` }
  let first: ApprovedPull | undefined
  for (const pull of heads) {
    const reviews = await github.paginate(github.rest.pulls.listReviews, { ...repo, pull_number: pull.number, per_page: 100 })
    const approval = { ...approvalOf(reviews, sha), pr: pull.number }
    if (approval.approved) return approval
    first ??= approval
  }
  return first!
}
