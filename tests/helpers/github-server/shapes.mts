// The GitHub stand-in's response shapes: the JSON of each resource as GitHub documents
// it, typed against @octokit/rest's endpoint types (a missing field fails
// `npm run typecheck`).
import type { RestEndpointMethodTypes } from '@octokit/rest'
import { git, GitHubState, nodeId, type Comment, type Issue, type Repo, type Review } from './state.mts'

type Api = RestEndpointMethodTypes
export type PullJson = Api['pulls']['get']['response']['data']
export type IssueJson = Api['issues']['get']['response']['data']
export type CommentJson = Api['issues']['createComment']['response']['data']
export type LabelJson = Api['issues']['addLabels']['response']['data'][number]
export type CommitJson = Api['pulls']['listCommits']['response']['data'][number]
export type ReviewJson = Api['pulls']['listReviews']['response']['data'][number]
/** What a reviewer submits (the API's `event`), and the state GitHub records. */
export type ReviewEvent = 'APPROVE' | 'REQUEST_CHANGES' | 'COMMENT'
export type ReviewState = 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED'
export type UserJson = PullJson['user']
export type RepoJson = PullJson['base']['repo']
export type Association = NonNullable<CommentJson['author_association']>
export type MergeMethod = 'merge' | 'squash' | 'rebase'
export type PermissionJson = Api['repos']['getCollaboratorPermissionLevel']['response']['data']
/** A repository role, as GitHub names them. */
export type Role = 'admin' | 'maintain' | 'write' | 'triage' | 'read'
export type TeamMembershipJson = Api['teams']['getMembershipForUserInOrg']['response']['data']
export type MilestoneJson = Api['issues']['getMilestone']['response']['data']
export type PullSimpleJson = Api['repos']['listPullRequestsAssociatedWithCommit']['response']['data'][number]

/** The state, as GitHub's JSON. */
export class GitHubShapes extends GitHubState {
  // --- JSON, as GitHub documents it ------------------------------------------------------

  protected userJson(login: string): UserJson {
    const user = this.user(login)
    const api = `${this.apiUrl}/users/${encodeURIComponent(login)}`
    return {
      login,
      id: user.id,
      node_id: nodeId('U', user.id),
      avatar_url: `${this.url}/avatars/u/${user.id}`,
      gravatar_id: '',
      url: api,
      html_url: `${this.url}/${encodeURIComponent(login)}`,
      followers_url: `${api}/followers`,
      following_url: `${api}/following{/other_user}`,
      gists_url: `${api}/gists{/gist_id}`,
      starred_url: `${api}/starred{/owner}{/repo}`,
      subscriptions_url: `${api}/subscriptions`,
      organizations_url: `${api}/orgs`,
      repos_url: `${api}/repos`,
      events_url: `${api}/events{/privacy}`,
      received_events_url: `${api}/received_events`,
      type: user.type,
      site_admin: false,
    }
  }

  /**
   * GET /repos/{o}/{r}/collaborators/{user}/permission: `permission` is the legacy base
   * role (maintain reads as write, triage as read), `role_name` the role itself; a user
   * without access to this private repository gets `none`.
   */
  protected permissionJson(repo: Repo, login: string): PermissionJson {
    const role = this.role(repo, login)
    const rank = role ? (['read', 'triage', 'write', 'maintain', 'admin'] as const).indexOf(role) : -1
    const permission = role === 'admin' ? 'admin' : role === 'maintain' || role === 'write' ? 'write' : role ? 'read' : 'none'
    const user = this.userJson(login)
    return {
      permission,
      role_name: role ?? 'none',
      user: {
        ...user,
        permissions: { pull: rank >= 0, triage: rank >= 1, push: rank >= 2, maintain: rank >= 3, admin: rank >= 4 },
        role_name: role ?? 'none',
      },
    }
  }

  protected repoJson(repo: Repo): RepoJson {
    const full = `${repo.owner}/${repo.name}`
    const api = `${this.apiUrl}/repos/${full}`
    const open = [...repo.issues.values()].filter((i) => i.state === 'open').length
    return {
      id: repo.id,
      node_id: nodeId('R', repo.id),
      name: repo.name,
      full_name: full,
      license: null,
      forks: 0,
      owner: this.userJson(repo.owner),
      private: true,
      html_url: `${this.url}/${full}`,
      description: null,
      fork: false,
      url: api,
      archive_url: `${api}/{archive_format}{/ref}`,
      assignees_url: `${api}/assignees{/user}`,
      blobs_url: `${api}/git/blobs{/sha}`,
      branches_url: `${api}/branches{/branch}`,
      collaborators_url: `${api}/collaborators{/collaborator}`,
      comments_url: `${api}/comments{/number}`,
      commits_url: `${api}/commits{/sha}`,
      compare_url: `${api}/compare/{base}...{head}`,
      contents_url: `${api}/contents/{+path}`,
      contributors_url: `${api}/contributors`,
      deployments_url: `${api}/deployments`,
      downloads_url: `${api}/downloads`,
      events_url: `${api}/events`,
      forks_url: `${api}/forks`,
      git_commits_url: `${api}/git/commits{/sha}`,
      git_refs_url: `${api}/git/refs{/sha}`,
      git_tags_url: `${api}/git/tags{/sha}`,
      git_url: `${this.url.replace(/^http/, 'git')}/${full}.git`,
      issue_comment_url: `${api}/issues/comments{/number}`,
      issue_events_url: `${api}/issues/events{/number}`,
      issues_url: `${api}/issues{/number}`,
      keys_url: `${api}/keys{/key_id}`,
      labels_url: `${api}/labels{/name}`,
      languages_url: `${api}/languages`,
      merges_url: `${api}/merges`,
      milestones_url: `${api}/milestones{/number}`,
      notifications_url: `${api}/notifications{?since,all,participating}`,
      pulls_url: `${api}/pulls{/number}`,
      releases_url: `${api}/releases{/id}`,
      ssh_url: `git@127.0.0.1:${full}.git`,
      stargazers_url: `${api}/stargazers`,
      statuses_url: `${api}/statuses/{sha}`,
      subscribers_url: `${api}/subscribers`,
      subscription_url: `${api}/subscription`,
      tags_url: `${api}/tags`,
      teams_url: `${api}/teams`,
      trees_url: `${api}/git/trees{/sha}`,
      clone_url: `${this.url}/${full}.git`,
      mirror_url: null,
      hooks_url: `${api}/hooks`,
      svn_url: `${this.url}/${full}`,
      homepage: null,
      language: null,
      forks_count: 0,
      stargazers_count: 0,
      watchers_count: 0,
      size: 0,
      default_branch: repo.defaultBranch,
      open_issues_count: open,
      has_issues: true,
      has_projects: false,
      has_wiki: false,
      has_pages: false,
      has_downloads: false,
      archived: false,
      disabled: false,
      visibility: 'private',
      pushed_at: null,
      created_at: repo.createdAt,
      updated_at: repo.createdAt,
      open_issues: open,
      watchers: 0,
      allow_merge_commit: true,
      allow_squash_merge: true,
      allow_rebase_merge: true,
    }
  }

  protected labelsJson(repo: Repo, issue: Issue): LabelJson[] {
    return issue.labels.map((name) => this.repoLabel(repo, name))
  }

  protected issueJson(repo: Repo, issue: Issue): IssueJson {
    const api = `${this.apiUrl}/repos/${repo.owner}/${repo.name}`
    const html = `${this.url}/${repo.owner}/${repo.name}`
    const assignees = issue.assignees.map((a) => this.userJson(a))
    return {
      id: issue.id,
      node_id: nodeId('I', issue.id),
      url: `${api}/issues/${issue.number}`,
      repository_url: api,
      labels_url: `${api}/issues/${issue.number}/labels{/name}`,
      comments_url: `${api}/issues/${issue.number}/comments`,
      events_url: `${api}/issues/${issue.number}/events`,
      html_url: `${html}/${issue.pull ? 'pull' : 'issues'}/${issue.number}`,
      number: issue.number,
      state: issue.state,
      title: issue.title,
      body: issue.body,
      user: this.userJson(issue.user),
      labels: this.labelsJson(repo, issue),
      assignee: assignees[0] ?? null,
      assignees,
      milestone: this.milestoneJson(repo, issue.milestone),
      locked: false,
      comments: repo.comments.filter((c) => c.issue === issue.number).length,
      pull_request: issue.pull
        ? {
            url: `${api}/pulls/${issue.number}`,
            html_url: `${html}/pull/${issue.number}`,
            diff_url: `${html}/pull/${issue.number}.diff`,
            patch_url: `${html}/pull/${issue.number}.patch`,
            merged_at: issue.pull.mergedAt,
          }
        : undefined,
      closed_at: issue.closedAt,
      created_at: issue.createdAt,
      updated_at: issue.updatedAt,
      draft: issue.pull ? issue.pull.draft : undefined,
      closed_by: issue.closedBy ? this.userJson(issue.closedBy) : null,
      author_association: this.association(repo, issue.user),
    }
  }

  protected async pullJson(repo: Repo, issue: Issue): Promise<PullJson> {
    const pull = issue.pull!
    const commits = await this.commitsOf(repo, pull)
    const api = `${this.apiUrl}/repos/${repo.owner}/${repo.name}`
    const html = `${this.url}/${repo.owner}/${repo.name}`
    const self = `${api}/pulls/${issue.number}`
    const assignees = issue.assignees.map((a) => this.userJson(a))
    const link = (href: string) => ({ href })
    const side = (ref: string, sha: string) => ({
      label: `${repo.owner}:${ref}`,
      ref,
      sha,
      user: this.userJson(repo.owner),
      repo: this.repoJson(repo),
    })
    return {
      url: self,
      id: issue.id,
      node_id: nodeId('PR', issue.id),
      html_url: `${html}/pull/${issue.number}`,
      diff_url: `${html}/pull/${issue.number}.diff`,
      patch_url: `${html}/pull/${issue.number}.patch`,
      issue_url: `${api}/issues/${issue.number}`,
      commits_url: `${self}/commits`,
      review_comments_url: `${self}/comments`,
      review_comment_url: `${api}/pulls/comments{/number}`,
      comments_url: `${api}/issues/${issue.number}/comments`,
      statuses_url: `${api}/statuses/${pull.headSha}`,
      number: issue.number,
      state: issue.state,
      locked: false,
      title: issue.title,
      user: this.userJson(issue.user),
      body: issue.body,
      labels: this.labelsJson(repo, issue),
      milestone: this.milestoneJson(repo, issue.milestone),
      active_lock_reason: null,
      created_at: issue.createdAt,
      updated_at: issue.updatedAt,
      closed_at: issue.closedAt,
      merged_at: pull.mergedAt,
      merge_commit_sha: pull.mergeCommitSha,
      assignee: assignees[0] ?? null,
      assignees,
      requested_reviewers: pull.requestedReviewers.map((r) => this.userJson(r)),
      requested_teams: [],
      head: side(pull.head, pull.headSha),
      base: side(pull.base, pull.baseSha),
      _links: {
        self: link(self),
        html: link(`${html}/pull/${issue.number}`),
        issue: link(`${api}/issues/${issue.number}`),
        comments: link(`${api}/issues/${issue.number}/comments`),
        review_comments: link(`${self}/comments`),
        review_comment: link(`${api}/pulls/comments{/number}`),
        commits: link(`${self}/commits`),
        statuses: link(`${api}/statuses/${pull.headSha}`),
      },
      author_association: this.association(repo, issue.user),
      auto_merge: pull.autoMerge
        ? { enabled_by: this.userJson(pull.autoMerge.by), merge_method: pull.autoMerge.method, commit_title: `${issue.title} (#${issue.number})`, commit_message: '' }
        : null,
      draft: pull.draft,
      merged: pull.merged,
      mergeable: issue.state === 'open' ? true : null,
      rebaseable: issue.state === 'open' ? true : null,
      mergeable_state: issue.state === 'open' ? 'clean' : 'unknown',
      merged_by: pull.mergedBy ? this.userJson(pull.mergedBy) : null,
      comments: repo.comments.filter((c) => c.issue === issue.number).length,
      review_comments: 0,
      maintainer_can_modify: false,
      commits: commits.length,
      additions: 0,
      deletions: 0,
      changed_files: 0,
    }
  }

  /** A pull request as lists of them show it (GET /commits/{sha}/pulls): no merge state or counts. */
  protected async pullSimpleJson(repo: Repo, issue: Issue): Promise<PullSimpleJson> {
    const full = await this.pullJson(repo, issue)
    const omit = ['merged', 'mergeable', 'rebaseable', 'mergeable_state', 'merged_by', 'comments', 'review_comments', 'maintainer_can_modify', 'commits', 'additions', 'deletions', 'changed_files']
    return Object.fromEntries(Object.entries(full).filter(([key]) => !omit.includes(key))) as unknown as PullSimpleJson
  }

  protected milestoneJson(repo: Repo, number: number | null): MilestoneJson | null {
    const milestone = number === null ? undefined : repo.milestones.get(number)
    if (!milestone) return null
    const api = `${this.apiUrl}/repos/${repo.owner}/${repo.name}/milestones/${milestone.number}`
    const issues = [...repo.issues.values()].filter((i) => i.milestone === milestone.number)
    return {
      url: api,
      html_url: `${this.url}/${repo.owner}/${repo.name}/milestone/${milestone.number}`,
      labels_url: `${api}/labels`,
      id: milestone.id,
      node_id: nodeId('MI', milestone.id),
      number: milestone.number,
      state: 'open',
      title: milestone.title,
      description: null,
      creator: this.userJson(repo.owner),
      open_issues: issues.filter((i) => i.state === 'open').length,
      closed_issues: issues.filter((i) => i.state === 'closed').length,
      created_at: milestone.createdAt,
      updated_at: milestone.createdAt,
      closed_at: null,
      due_on: null,
    }
  }

  protected reviewJson(repo: Repo, review: Review): ReviewJson {
    const html = `${this.url}/${repo.owner}/${repo.name}/pull/${review.pull}#pullrequestreview-${review.id}`
    const pull = `${this.apiUrl}/repos/${repo.owner}/${repo.name}/pulls/${review.pull}`
    return {
      id: review.id,
      node_id: nodeId('PRR', review.id),
      user: this.userJson(review.user),
      body: review.body,
      state: review.state,
      html_url: html,
      pull_request_url: pull,
      _links: { html: { href: html }, pull_request: { href: pull } },
      submitted_at: review.submittedAt,
      commit_id: review.commitId,
      author_association: review.association,
    }
  }

  protected commentJson(repo: Repo, comment: Comment): CommentJson {
    const api = `${this.apiUrl}/repos/${repo.owner}/${repo.name}`
    const issue = repo.issues.get(comment.issue)!
    return {
      id: comment.id,
      node_id: nodeId('IC', comment.id),
      url: `${api}/issues/comments/${comment.id}`,
      html_url: `${this.url}/${repo.owner}/${repo.name}/${issue.pull ? 'pull' : 'issues'}/${issue.number}#issuecomment-${comment.id}`,
      body: comment.body,
      user: this.userJson(comment.user),
      created_at: comment.createdAt,
      updated_at: comment.updatedAt,
      issue_url: `${api}/issues/${comment.issue}`,
      author_association: comment.association,
    }
  }

  protected async commitJson(repo: Repo, sha: string): Promise<CommitJson> {
    const api = `${this.apiUrl}/repos/${repo.owner}/${repo.name}`
    const out = await git(repo.dir, ['log', '-1', '--format=%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B', sha])
    const [tree, parents, an, ae, ad, cn, ce, cd, message] = out.split('\0')
    return {
      url: `${api}/commits/${sha}`,
      sha,
      node_id: nodeId('C', parseInt(sha.slice(0, 8), 16)),
      html_url: `${this.url}/${repo.owner}/${repo.name}/commit/${sha}`,
      comments_url: `${api}/commits/${sha}/comments`,
      commit: {
        url: `${api}/git/commits/${sha}`,
        author: { name: an, email: ae, date: ad },
        committer: { name: cn, email: ce, date: cd },
        message: message.trimEnd(),
        comment_count: 0,
        tree: { sha: tree, url: `${api}/git/trees/${tree}` },
      },
      author: null,
      committer: null,
      parents: parents
        .split(' ')
        .filter(Boolean)
        .map((p) => ({ sha: p, url: `${api}/commits/${p}`, html_url: `${this.url}/${repo.owner}/${repo.name}/commit/${p}` })),
    }
  }
}
