// What a cherry-pick is made of, shared by the modules of this folder: the source (a
// merged pull request or commits), the prerequisites a conflict reveals, the result per
// target, and the context a run works in. Types and the constants that go with them.
import type { AutoMergeMethod } from '../../core/config.mts'
import type { Octokit } from '../github.mts'
import type { RemoteContext } from '../remote.mts'

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

/** What picking onto one target did, before the pull request. */
export interface PickOutcome {
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

