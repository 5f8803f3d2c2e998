// What a run is asked to pick: a GitHub Actions event (a merged pull request's labels,
// or a `/cherry-pick` comment), or the flags `--pr` / `--commit` with `--to`. Pure.
import { UsageError } from '../../core/cli.mts'

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
