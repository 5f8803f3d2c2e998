// What changes the GitHub stand-in's state as GitHub would (issues and pull requests
// opened, merged, closed, labelled, commented on, reviewed), and the webhook events each
// change sends.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { custom, exec, git, HttpError, invalid, now, type Comment, type Issue, type Pull, type Repo, type Review, type User } from './state.mts'
import { GitHubShapes, type Association, type MergeMethod, type ReviewEvent, type ReviewState } from './shapes.mts'

/** The state's changes, each as GitHub makes it. */
export class GitHubChanges extends GitHubShapes {
  /** Review requests, as POST /pulls/{n}/requested_reviewers checks them. */
  protected addReviewers(repo: Repo, issue: Issue & { pull: Pull }, reviewers: string[]): void {
    if (reviewers.includes(issue.user)) throw custom('PullRequest', 'Review cannot be requested from pull request author.')
    if (reviewers.some((r) => !this.assignable(repo, r))) {
      throw custom('PullRequest', `Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the ${repo.owner}/${repo.name} repository.`)
    }
    for (const r of reviewers) {
      this.user(r)
      if (!issue.pull.requestedReviewers.includes(r)) issue.pull.requestedReviewers.push(r)
    }
    issue.updatedAt = now()
  }

  protected newIssue(repo: Repo, user: string, title: string, body: string | null): Issue {
    const number = repo.issues.size + 1
    const at = now()
    const issue: Issue = {
      number,
      id: this.id(),
      title,
      body,
      user,
      state: 'open',
      labels: [],
      assignees: [],
      createdAt: at,
      updatedAt: at,
      closedAt: null,
      closedBy: null,
      milestone: null,
      pull: null,
    }
    repo.issues.set(number, issue)
    this.user(user)
    return issue
  }

  protected async createPull(repo: Repo, login: string, input: Record<string, unknown>): Promise<Issue> {
    const title = typeof input.title === 'string' ? input.title : ''
    if (!title.trim()) throw invalid('PullRequest', 'title', 'missing_field')
    let head = typeof input.head === 'string' ? input.head : ''
    if (head.includes(':')) {
      const [owner, ref] = head.split(/:(.*)/s)
      if (owner !== repo.owner) throw invalid('PullRequest', 'head')
      head = ref
    }
    const base = typeof input.base === 'string' ? input.base : ''
    const headSha = head && (await this.branchSha(repo, head))
    if (!headSha) throw invalid('PullRequest', 'head')
    const baseSha = base && (await this.branchSha(repo, base))
    if (!baseSha) throw invalid('PullRequest', 'base')
    for (const other of repo.issues.values()) {
      if (other.state === 'open' && other.pull?.head === head && other.pull.base === base) {
        throw custom('PullRequest', `A pull request already exists for ${repo.owner}:${head}.`)
      }
    }
    if (!(await git(repo.dir, ['rev-list', '--count', `${baseSha}..${headSha}`])).match(/^[1-9]/)) {
      throw custom('PullRequest', `No commits between ${base} and ${head}`)
    }
    const issue = this.newIssue(repo, login, title, typeof input.body === 'string' ? input.body : null)
    issue.pull = {
      head,
      base,
      headSha,
      baseSha,
      draft: input.draft === true,
      merged: false,
      mergedAt: null,
      mergeCommitSha: null,
      mergedBy: null,
      commits: null,
      landed: [],
      requestedReviewers: [],
      autoMerge: null,
    }
    await git(repo.dir, ['update-ref', `refs/pull/${issue.number}/head`, headSha])
    await this.emitPull(repo, issue, 'opened', login)
    return issue
  }

  protected async merge(repo: Repo, issue: Issue & { pull: Pull }, method: MergeMethod, by: string, input: Record<string, unknown>) {
    const pull = issue.pull
    if (issue.state !== 'open') throw new HttpError(405, 'Pull Request is not mergeable')
    const commits = await this.commitsOf(repo, pull)
    if (typeof input.sha === 'string' && input.sha !== pull.headSha) {
      throw new HttpError(409, 'Head branch was modified. Review and try the merge again.')
    }
    if (pull.draft) throw new HttpError(405, 'Pull Request is still a draft')
    const merger = this.user(by)
    const author = this.user(issue.user)
    const identity = (u: User) => ({ name: u.login, email: `${u.id}+${u.login}@users.noreply.github.com` })
    const env = {
      GIT_COMMITTER_NAME: 'GitHub',
      GIT_COMMITTER_EMAIL: 'noreply@github.com',
      GIT_AUTHOR_NAME: identity(merger).name,
      GIT_AUTHOR_EMAIL: identity(merger).email,
    }
    const title = typeof input.commit_title === 'string' ? input.commit_title : undefined
    const extra = typeof input.commit_message === 'string' ? input.commit_message : undefined
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'github-merge-'))
    try {
      await git(work, ['clone', '-q', '--no-tags', '--branch', pull.base, repo.dir, '.'])
      const before = await git(work, ['rev-parse', 'HEAD'])
      const run = async (args: string[], runEnv: NodeJS.ProcessEnv = env) => {
        const result = await exec(args, { cwd: work, env: runEnv })
        if (result.code !== 0) throw new HttpError(405, 'Pull Request is not mergeable')
      }
      if (method === 'merge') {
        const message = `${title ?? `Merge pull request #${issue.number} from ${repo.owner}/${pull.head}`}\n\n${extra ?? issue.title}`
        await run(['merge', '--no-ff', '-m', message, pull.headSha])
      } else if (method === 'squash') {
        const messages = await Promise.all(commits.map((c) => git(work, ['log', '-1', '--format=%B', c])))
        const body = extra ?? messages.map((m) => `* ${m}`).join('\n\n')
        await run(['merge', '--squash', pull.headSha])
        const a = identity(author)
        await run(['commit', '-q', '-m', `${title ?? `${issue.title} (#${issue.number})`}\n\n${body}`], {
          ...env,
          GIT_AUTHOR_NAME: a.name,
          GIT_AUTHOR_EMAIL: a.email,
        })
      } else {
        // Like GitHub: each commit replayed on the base, author kept, GitHub as committer.
        for (const commit of commits) await run(['cherry-pick', '--allow-empty', commit], { GIT_COMMITTER_NAME: env.GIT_COMMITTER_NAME, GIT_COMMITTER_EMAIL: env.GIT_COMMITTER_EMAIL })
      }
      const sha = await git(work, ['rev-parse', 'HEAD'])
      await git(work, ['push', '-q', 'origin', `HEAD:refs/heads/${pull.base}`])
      pull.landed = method === 'rebase' ? (await git(work, ['rev-list', '--reverse', `${before}..${sha}`])).split('\n') : [sha]
      pull.commits = commits
      pull.merged = true
      pull.mergedAt = now()
      pull.mergeCommitSha = sha
      pull.mergedBy = by
      pull.baseSha = sha
      issue.state = 'closed'
      issue.closedAt = pull.mergedAt
      issue.closedBy = by
      issue.updatedAt = pull.mergedAt
      await this.emitPull(repo, issue, 'closed', by)
      return { sha, merged: true, message: 'Pull Request successfully merged' }
    } finally {
      fs.rmSync(work, { recursive: true, force: true })
    }
  }

  protected addComment(repo: Repo, issue: Issue, user: string, body: string, association?: Association): Comment {
    const at = now()
    const comment: Comment = {
      id: this.id(),
      issue: issue.number,
      user,
      body,
      association: association ?? this.association(repo, user),
      createdAt: at,
      updatedAt: at,
    }
    this.user(user)
    repo.comments.push(comment)
    issue.updatedAt = at
    this.events.push({
      name: 'issue_comment',
      action: 'created',
      payload: {
        action: 'created',
        issue: this.issueJson(repo, issue),
        comment: this.commentJson(repo, comment),
        repository: this.repoJson(repo),
        sender: this.userJson(user),
      },
    })
    return comment
  }

  protected async addReview(repo: Repo, issue: Issue & { pull: Pull }, user: string, event: unknown, body: string, association?: Association): Promise<Review> {
    const states: Record<ReviewEvent, ReviewState> = { APPROVE: 'APPROVED', REQUEST_CHANGES: 'CHANGES_REQUESTED', COMMENT: 'COMMENTED' }
    const state = typeof event === 'string' ? states[event as ReviewEvent] : undefined
    if (!state) throw invalid('PullRequestReview', 'event')
    if ((state === 'CHANGES_REQUESTED' || state === 'COMMENTED') && !body) throw custom('PullRequestReview', `Review Body is required for ${event}`)
    if (issue.user === user && state !== 'COMMENTED') throw custom('PullRequestReview', 'Can not approve or request changes on your own pull request')
    await this.refresh(repo, issue.pull)
    const review: Review = {
      id: this.id(),
      pull: issue.number,
      user,
      state,
      body,
      commitId: issue.pull.headSha,
      association: association ?? this.association(repo, user),
      submittedAt: now(),
    }
    this.user(user)
    repo.reviews.push(review)
    await this.emitReview(repo, issue, review, 'submitted')
    return review
  }

  protected async emitReview(repo: Repo, issue: Issue, review: Review, action: 'submitted' | 'dismissed'): Promise<void> {
    this.events.push({
      name: 'pull_request_review',
      action,
      payload: {
        action,
        review: this.reviewJson(repo, review),
        pull_request: await this.pullJson(repo, issue),
        repository: this.repoJson(repo),
        sender: this.userJson(review.user),
      },
    })
  }

  protected async addLabels(repo: Repo, issue: Issue, names: string[], by: string): Promise<void> {
    for (const name of names) {
      this.repoLabel(repo, name)
      if (issue.labels.includes(name)) continue
      issue.labels.push(name)
      issue.updatedAt = now()
      if (issue.pull) await this.emitPull(repo, issue, 'labeled', by, { label: this.repoLabel(repo, name) })
    }
  }

  protected async removeLabel(repo: Repo, issue: Issue, name: string, by: string): Promise<void> {
    if (!issue.labels.includes(name)) throw new HttpError(404, 'Label does not exist')
    issue.labels = issue.labels.filter((l) => l !== name)
    issue.updatedAt = now()
    if (issue.pull) await this.emitPull(repo, issue, 'unlabeled', by, { label: this.repoLabel(repo, name) })
  }

  protected async setState(repo: Repo, issue: Issue, state: unknown, by: string): Promise<void> {
    if (state !== 'open' && state !== 'closed') throw invalid(issue.pull ? 'PullRequest' : 'Issue', 'state')
    if (state === issue.state || issue.pull?.merged) return
    if (issue.pull) await this.refresh(repo, issue.pull)
    issue.state = state
    issue.updatedAt = now()
    issue.closedAt = state === 'closed' ? issue.updatedAt : null
    issue.closedBy = state === 'closed' ? by : null
    if (issue.pull) {
      issue.pull.commits = state === 'closed' ? await this.commitsOf(repo, issue.pull) : null
      await this.emitPull(repo, issue, state === 'closed' ? 'closed' : 'reopened', by)
    }
  }

  protected async emitPull(repo: Repo, issue: Issue, action: string, by: string, extra: Record<string, unknown> = {}): Promise<void> {
    this.events.push({
      name: 'pull_request',
      action,
      payload: {
        action,
        number: issue.number,
        pull_request: await this.pullJson(repo, issue),
        ...extra,
        repository: this.repoJson(repo),
        sender: this.userJson(by),
      },
    })
  }
}
