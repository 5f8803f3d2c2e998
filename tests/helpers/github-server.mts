// A stand-in for GitHub on a free loopback port, for tests that run real Octokit (and
// real git) against it. GitHub itself is unreachable from CI machines and tests.
//
// - The REST endpoints our scripts use, laid out as on GitHub Enterprise (`<url>/api/v3`,
//   so GITHUB_API_URL=server.apiUrl), with GitHub's documented response shapes: every
//   body is typed against @octokit/rest's endpoint types, so a missing field fails
//   `npm run typecheck`. Errors are GitHub's too (404 Not Found, 422 Validation Failed
//   with `errors`, 401 Bad credentials).
// - git over HTTP for the same repositories (`server.gitUrl('acme/app')`, via
//   `git http-backend`), which asks for a token like GitHub does.
// - Each repository is a real bare git repository: branches, commits, merges (merge,
//   squash, rebase) are git's, so API state and the git remote always agree.
// - Everything else (repos, PRs, issues, comments, labels, assignees) lives in memory;
//   requests are recorded, and the webhook events GitHub would send (pull_request
//   opened/labeled/unlabeled/closed/reopened, issue_comment created,
//   pull_request_review submitted/dismissed) are collected so a test can hand one to a
//   script as GITHUB_EVENT_PATH.
//
//   const gh = await startGitHubServer({ tokens: { [token]: 'ci-bot' } })
//   gh.addRepo({ owner: 'acme', name: 'app', dir: bare, collaborators: ['alice'] })
//   const pr = await gh.openPullRequest('acme/app', { head: 'fix', base: 'main', title: 'Fix', user: 'alice' })
//   await gh.mergePullRequest('acme/app', pr.number, 'squash')
//   const eventFile = gh.writeEvent(gh.lastEvent('pull_request', 'closed'), dir)
//
// - Repository roles (admin, maintain, write, triage, read), answered by
//   GET /repos/{o}/{r}/collaborators/{user}/permission as GitHub does: the owner is admin,
//   collaborators write and organisation members read (GitHub's default base permission)
//   unless `roles` says otherwise; `revokeAccess` takes them away (author_association on
//   reviews and comments already made stays as it was recorded).
// - The pull requests of a commit (GET /repos/{o}/{r}/commits/{sha}/pulls: the merged PR
//   whose merge landed it, or an open one whose head contains it), requested reviewers
//   (POST /pulls/{n}/requested_reviewers: collaborators only, never the author),
//   milestones (`addMilestone`, PATCH /issues/{n} `milestone`), and auto-merge through
//   GraphQL's `enablePullRequestAutoMerge` at `<url>/api/graphql` (where Octokit sends
//   GraphQL for a GitHub Enterprise base URL), refused with GitHub's error unless the
//   repository allows it (`allowAutoMerge`).
//
// - Teams: `addTeam('acme/reviewers', { active: [...], pending: [...] })`, answered by
//   GET /orgs/{org}/teams/{team_slug}/memberships/{username} as GitHub does (200 with
//   state active or pending, 404 for anyone else or an unknown team); `failTeams(403)`
//   makes that endpoint fail (a token that may not read the organisation's teams).
//
// Not modelled: forks, review comments on lines, checks, team management, diff
// statistics (additions/deletions/changed_files are 0), and branch protection (GitHub
// also refuses auto-merge on a pull request that could merge at once: "Pull request is
// in clean status").
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import type { RestEndpointMethodTypes } from '@octokit/rest'

type Api = RestEndpointMethodTypes
export type PullJson = Api['pulls']['get']['response']['data']
export type IssueJson = Api['issues']['get']['response']['data']
export type CommentJson = Api['issues']['createComment']['response']['data']
export type LabelJson = Api['issues']['addLabels']['response']['data'][number]
export type CommitJson = Api['pulls']['listCommits']['response']['data'][number]
export type ReviewJson = Api['pulls']['listReviews']['response']['data'][number]
/** What a reviewer submits (the API's `event`), and the state GitHub records. */
export type ReviewEvent = 'APPROVE' | 'REQUEST_CHANGES' | 'COMMENT'
type ReviewState = 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED'
type UserJson = PullJson['user']
type RepoJson = PullJson['base']['repo']
export type Association = NonNullable<CommentJson['author_association']>
export type MergeMethod = 'merge' | 'squash' | 'rebase'
export type PermissionJson = Api['repos']['getCollaboratorPermissionLevel']['response']['data']
/** A repository role, as GitHub names them. */
export type Role = 'admin' | 'maintain' | 'write' | 'triage' | 'read'
export type TeamMembershipJson = Api['teams']['getMembershipForUserInOrg']['response']['data']
export type MilestoneJson = Api['issues']['getMilestone']['response']['data']
export type PullSimpleJson = Api['repos']['listPullRequestsAssociatedWithCommit']['response']['data'][number]

export interface RecordedRequest {
  method: string
  /** The path without the API prefix: `/repos/acme/app/pulls/1`, or `/acme/app.git/...` for git. */
  path: string
  query: Record<string, string>
  body: unknown
  /** The user the token belongs to, when one was sent. */
  login?: string
  status: number
}

export interface WebhookEvent {
  name: 'pull_request' | 'issue_comment' | 'pull_request_review'
  action: string
  payload: Record<string, unknown>
}

interface User {
  login: string
  id: number
  type: 'User' | 'Bot'
}

interface Pull {
  head: string
  base: string
  headSha: string
  baseSha: string
  draft: boolean
  merged: boolean
  mergedAt: string | null
  mergeCommitSha: string | null
  mergedBy: string | null
  /** The PR's commits, frozen when it closes (GitHub keeps listing them after a merge). */
  commits: string[] | null
  /** The commits its merge put on the base branch (the merge commit, the squash, or the rebased ones). */
  landed: string[]
  requestedReviewers: string[]
  autoMerge: { method: MergeMethod; by: string; at: string } | null
}

interface Milestone {
  number: number
  id: number
  title: string
  createdAt: string
}

interface Issue {
  number: number
  id: number
  title: string
  body: string | null
  user: string
  state: 'open' | 'closed'
  labels: string[]
  assignees: string[]
  createdAt: string
  updatedAt: string
  closedAt: string | null
  closedBy: string | null
  milestone: number | null
  pull: Pull | null
}

interface Comment {
  id: number
  issue: number
  user: string
  body: string
  association: Association
  createdAt: string
  updatedAt: string
}

interface Review {
  id: number
  pull: number
  user: string
  state: ReviewState
  body: string
  /** The pull request's head when the review was submitted. */
  commitId: string
  association: Association
  submittedAt: string
}

interface Repo {
  id: number
  owner: string
  name: string
  dir: string
  defaultBranch: string
  collaborators: Set<string>
  members: Set<string>
  roles: Map<string, Role>
  labels: Map<string, LabelJson>
  issues: Map<number, Issue>
  comments: Comment[]
  reviews: Review[]
  milestones: Map<number, Milestone>
  allowAutoMerge: boolean
  createdAt: string
}

export interface AddRepoOptions {
  owner: string
  name: string
  /** A bare git repository: the remote. */
  dir: string
  defaultBranch?: string
  /** Users with push access: assignable, and `COLLABORATOR` on their comments. */
  collaborators?: string[]
  /** Organisation members: `MEMBER`, with read access unless `roles` says otherwise. */
  members?: string[]
  /** Roles, overriding the defaults (collaborators write, members read). */
  roles?: Record<string, Role>
  /** The repository setting "Allow auto-merge" (off by default, as on GitHub). */
  allowAutoMerge?: boolean
}

/** What a route answers. */
export interface RouteResult {
  status: number
  json?: unknown
  headers?: Record<string, string>
}

/**
 * Endpoints another module serves on this stand-in (the Packages API:
 * tests/helpers/github-packages.mts): asked before the repository routes, in the order
 * mounted; undefined passes the request on. Throw HttpError for GitHub's error answers.
 */
export type MountedRoutes = (request: { method: string; pathname: string; query: URLSearchParams; login: string }, server: GitHubServer) => Promise<RouteResult | undefined>

export interface StartOptions {
  /** token -> login of the user it authenticates. Unknown tokens get 401. */
  tokens?: Record<string, string>
}

/** An error answer in GitHub's shape (`message`, `errors`, `documentation_url`). */
export class HttpError extends Error {
  readonly status: number
  readonly errors?: Array<Record<string, string>>
  constructor(status: number, message: string, errors?: Array<Record<string, string>>) {
    super(message)
    this.status = status
    this.errors = errors
  }
}

const notFound = () => new HttpError(404, 'Not Found')
const invalid = (resource: string, field: string, code = 'invalid') => new HttpError(422, 'Validation Failed', [{ resource, field, code }])
const custom = (resource: string, message: string) => new HttpError(422, 'Validation Failed', [{ resource, code: 'custom', message }])

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
const nodeId = (kind: string, id: number) => Buffer.from(`0:${kind}${id}`).toString('base64').replace(/=+$/, '')

// --- git, isolated from the machine's config -------------------------------------------

const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  LC_ALL: 'C',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
}

interface Exec {
  code: number
  stdout: Buffer
  stderr: string
}

function exec(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; input?: Buffer | string }): Promise<Exec> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: options.cwd, env: { ...GIT_ENV, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr }))
    child.stdin.on('error', () => {})
    child.stdin.end(options.input ?? '')
  })
}

async function git(cwd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const result = await exec(args, { cwd, env })
  if (result.code !== 0) throw new Error(`git ${args.join(' ')} failed: ${result.stderr.trim()}`)
  return result.stdout.toString().trim()
}

async function gitMaybe(cwd: string, args: string[]): Promise<string | null> {
  const result = await exec(args, { cwd })
  return result.code === 0 ? result.stdout.toString().trim() : null
}

export class GitHubServer {
  /** `http://127.0.0.1:<port>`: the web and git host. */
  readonly url: string
  /** `<url>/api/v3`: GITHUB_API_URL. */
  readonly apiUrl: string
  readonly requests: RecordedRequest[] = []
  readonly events: WebhookEvent[] = []
  private readonly server: http.Server
  private readonly tokens: Map<string, string>
  private readonly repos = new Map<string, Repo>()
  private readonly users = new Map<string, User>()
  /** `org/slug` -> login -> membership state. */
  private readonly teams = new Map<string, Map<string, 'active' | 'pending'>>()
  private teamFailure?: number
  private nextId = 1000
  private readonly mounted: MountedRoutes[] = []

  constructor(server: http.Server, tokens: Record<string, string>) {
    this.server = server
    this.tokens = new Map(Object.entries(tokens))
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    this.apiUrl = `${this.url}/api/v3`
    server.on('request', (req, res) => void this.handle(req, res))
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise((resolve) => this.server.close(resolve))
  }

  // --- set-up and inspection, for tests ------------------------------------------------

  /** Serve more endpoints (see MountedRoutes). */
  mount(routes: MountedRoutes): void {
    this.mounted.push(routes)
  }

  /** Serve a bare repository as `owner/name`. */
  addRepo(options: AddRepoOptions): void {
    const key = `${options.owner}/${options.name}`
    this.user(options.owner)
    this.repos.set(key, {
      id: this.id(),
      owner: options.owner,
      name: options.name,
      dir: options.dir,
      defaultBranch: options.defaultBranch ?? 'main',
      collaborators: new Set(options.collaborators ?? []),
      members: new Set(options.members ?? []),
      roles: new Map(Object.entries(options.roles ?? {})),
      labels: new Map(),
      issues: new Map(),
      comments: [],
      reviews: [],
      milestones: new Map(),
      allowAutoMerge: options.allowAutoMerge ?? false,
      createdAt: now(),
    })
  }

  /** A team (`org/slug`) with its active members and pending invitations; replaces one of that name. */
  addTeam(team: string, members: { active?: string[]; pending?: string[] }): void {
    const states = new Map<string, 'active' | 'pending'>()
    for (const login of members.active ?? []) states.set(login, 'active')
    for (const login of members.pending ?? []) states.set(login, 'pending')
    this.teams.set(team.toLowerCase(), states)
  }

  /** The team membership endpoint answers `status` (403: a token that may not read teams), or works again (undefined). */
  failTeams(status?: number): void {
    this.teamFailure = status
  }

  /** Create a milestone; returns its number. */
  addMilestone(fullName: string, title: string): number {
    const repo = this.repo(fullName)
    const number = repo.milestones.size + 1
    repo.milestones.set(number, { number, id: this.id(), title, createdAt: now() })
    return number
  }

  /** Put an issue or pull request in a milestone (as a maintainer does in the sidebar). */
  setMilestone(fullName: string, number: number, milestone: number | null): void {
    const repo = this.repo(fullName)
    if (milestone !== null && !repo.milestones.has(milestone)) throw new Error(`github-server: no milestone ${milestone}`)
    this.issue(repo, number).milestone = milestone
  }

  /** Request reviews on a pull request (as its author does), checked as the API checks them. */
  requestReviewers(fullName: string, number: number, reviewers: string[]): void {
    const repo = this.repo(fullName)
    this.addReviewers(repo, this.pullIssue(repo, number), reviewers)
  }

  /** The repository setting "Allow auto-merge". */
  setAllowAutoMerge(fullName: string, allow: boolean): void {
    this.repo(fullName).allowAutoMerge = allow
  }

  /** A user loses all access to the repository (and leaves the organisation). */
  revokeAccess(fullName: string, login: string): void {
    const repo = this.repo(fullName)
    repo.collaborators.delete(login)
    repo.members.delete(login)
    repo.roles.delete(login)
  }

  /** The URL to clone, fetch and push `owner/name` over HTTP (asks for a token). */
  gitUrl(fullName: string): string {
    this.repo(fullName)
    return `${this.url}/${fullName}.git`
  }

  /** Open a pull request as `user` (what POST /pulls does for that user's token). */
  async openPullRequest(
    fullName: string,
    options: { head: string; base: string; title: string; body?: string; user: string; draft?: boolean; labels?: string[] },
  ): Promise<PullJson> {
    const repo = this.repo(fullName)
    const issue = await this.createPull(repo, options.user, options)
    if (options.labels?.length) await this.addLabels(repo, issue, options.labels, options.user)
    return this.pullJson(repo, issue)
  }

  /** Merge a pull request the way GitHub's merge button does (real git on the bare repository). */
  async mergePullRequest(fullName: string, number: number, method: MergeMethod, by?: string): Promise<{ sha: string }> {
    const repo = this.repo(fullName)
    return this.merge(repo, this.pullIssue(repo, number), method, by ?? repo.owner, {})
  }

  /** Comment as `user`. Its author_association follows the repo (owner, members, collaborators) unless given. */
  comment(fullName: string, number: number, user: string, body: string, association?: Association): CommentJson {
    const repo = this.repo(fullName)
    return this.commentJson(repo, this.addComment(repo, this.issue(repo, number), user, body, association))
  }

  /** Add labels as `user` (records the `labeled` events). */
  async label(fullName: string, number: number, labels: string[], user?: string): Promise<void> {
    const repo = this.repo(fullName)
    await this.addLabels(repo, this.issue(repo, number), labels, user ?? repo.owner)
  }

  async pull(fullName: string, number: number): Promise<PullJson> {
    const repo = this.repo(fullName)
    return this.pullJson(repo, this.pullIssue(repo, number))
  }

  async pulls(fullName: string): Promise<PullJson[]> {
    const repo = this.repo(fullName)
    return Promise.all([...repo.issues.values()].filter((i) => i.pull).map((i) => this.pullJson(repo, i)))
  }

  comments(fullName: string, number: number): CommentJson[] {
    const repo = this.repo(fullName)
    return repo.comments.filter((c) => c.issue === number).map((c) => this.commentJson(repo, c))
  }

  /**
   * Submit a review as `user` on the pull request's current head (what POST
   * /pulls/:n/reviews does); records the `pull_request_review` `submitted` event. Its
   * author_association follows the repo (owner, members, collaborators) unless given.
   */
  async review(fullName: string, number: number, user: string, event: ReviewEvent, options: { body?: string; association?: Association } = {}): Promise<ReviewJson> {
    const repo = this.repo(fullName)
    return this.reviewJson(repo, await this.addReview(repo, this.pullIssue(repo, number), user, event, options.body ?? '', options.association))
  }

  /** Dismiss a review (as a maintainer does): its state becomes DISMISSED. */
  async dismissReview(fullName: string, number: number, reviewId: number): Promise<ReviewJson> {
    const repo = this.repo(fullName)
    const issue = this.pullIssue(repo, number)
    const review = repo.reviews.find((r) => r.id === reviewId && r.pull === number)
    if (!review) throw notFound()
    review.state = 'DISMISSED'
    await this.emitReview(repo, issue, review, 'dismissed')
    return this.reviewJson(repo, review)
  }

  reviews(fullName: string, number: number): ReviewJson[] {
    const repo = this.repo(fullName)
    return repo.reviews.filter((r) => r.pull === number).map((r) => this.reviewJson(repo, r))
  }

  /** The most recent webhook event of this kind (and action). */
  lastEvent(name: WebhookEvent['name'], action?: string): WebhookEvent {
    const event = [...this.events].reverse().find((e) => e.name === name && (!action || e.action === action))
    if (!event) throw new Error(`no ${name}${action ? ` ${action}` : ''} event was recorded`)
    return event
  }

  /** Write an event's payload as GitHub Actions does; returns the path for GITHUB_EVENT_PATH. */
  writeEvent(event: WebhookEvent, dir: string): string {
    const file = path.join(dir, `event-${this.id()}.json`)
    fs.writeFileSync(file, JSON.stringify(event.payload, null, 2))
    return file
  }

  // --- state ---------------------------------------------------------------------------

  private id(): number {
    return this.nextId++
  }

  private user(login: string): User {
    let user = this.users.get(login)
    if (!user) {
      user = { login, id: this.id(), type: login.endsWith('[bot]') ? 'Bot' : 'User' }
      this.users.set(login, user)
    }
    return user
  }

  private repo(fullName: string): Repo {
    const repo = this.repos.get(fullName)
    if (!repo) throw new Error(`github-server: no repository ${fullName} (addRepo first)`)
    return repo
  }

  private issue(repo: Repo, number: number): Issue {
    const issue = repo.issues.get(number)
    if (!issue) throw notFound()
    return issue
  }

  private pullIssue(repo: Repo, number: number): Issue & { pull: Pull } {
    const issue = this.issue(repo, number)
    if (!issue.pull) throw notFound()
    return issue as Issue & { pull: Pull }
  }

  private association(repo: Repo, login: string): Association {
    if (login === repo.owner) return 'OWNER'
    if (repo.members.has(login)) return 'MEMBER'
    if (repo.collaborators.has(login)) return 'COLLABORATOR'
    return 'NONE'
  }

  /** The user's role on the repository; null without access. */
  private role(repo: Repo, login: string): Role | null {
    if (login === repo.owner) return 'admin'
    const role = repo.roles.get(login)
    if (role) return role
    if (repo.collaborators.has(login)) return 'write'
    if (repo.members.has(login)) return 'read'
    return null
  }

  private assignable(repo: Repo, login: string): boolean {
    return login === repo.owner || repo.members.has(login) || repo.collaborators.has(login)
  }

  private branchSha(repo: Repo, branch: string): Promise<string | null> {
    return gitMaybe(repo.dir, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`])
  }

  /** An open PR follows its branches, as on GitHub; a closed one keeps what it had. */
  private async refresh(repo: Repo, pull: Pull): Promise<void> {
    if (pull.commits) return
    pull.headSha = (await this.branchSha(repo, pull.head)) ?? pull.headSha
    pull.baseSha = (await this.branchSha(repo, pull.base)) ?? pull.baseSha
  }

  private async commitsOf(repo: Repo, pull: Pull): Promise<string[]> {
    await this.refresh(repo, pull)
    if (pull.commits) return pull.commits
    const out = await git(repo.dir, ['rev-list', '--reverse', `${pull.baseSha}..${pull.headSha}`])
    return out ? out.split('\n') : []
  }

  /**
   * The pull requests GET /commits/{sha}/pulls lists: those whose merge put the commit on
   * their base (merge commit, squash, or one of the rebased commits), then those whose
   * commits contain it.
   */
  private async pullsOfCommit(repo: Repo, rev: string): Promise<Issue[]> {
    const sha = await gitMaybe(repo.dir, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`])
    if (!sha) throw new HttpError(422, `No commit found for SHA: ${rev}`)
    const pulls = [...repo.issues.values()].filter((i) => i.pull)
    const landed = pulls.filter((i) => i.pull!.landed.includes(sha))
    const containing: Issue[] = []
    for (const i of pulls) if (!landed.includes(i) && (await this.commitsOf(repo, i.pull!)).includes(sha)) containing.push(i)
    return [...landed, ...containing]
  }

  /** Review requests, as POST /pulls/{n}/requested_reviewers checks them. */
  private addReviewers(repo: Repo, issue: Issue & { pull: Pull }, reviewers: string[]): void {
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

  /**
   * POST /api/graphql: only `enablePullRequestAutoMerge(input: $input)` with the input in
   * `variables.input` ({ pullRequestId, mergeMethod }). Like GitHub, an error is an HTTP
   * 200 whose body has `errors` (type UNPROCESSABLE, the mutation's path) and null data.
   */
  private async graphql(body: Record<string, unknown>, login: string): Promise<{ status: number; json: unknown; headers?: Record<string, string> }> {
    const query = typeof body.query === 'string' ? body.query : ''
    const unprocessable = (message: string) => ({
      status: 200,
      json: { data: { enablePullRequestAutoMerge: null }, errors: [{ type: 'UNPROCESSABLE', path: ['enablePullRequestAutoMerge'], locations: [{ line: 2, column: 3 }], message }] },
    })
    if (!/\benablePullRequestAutoMerge\b/.test(query)) {
      return { status: 200, json: { errors: [{ message: 'github-server: only the enablePullRequestAutoMerge mutation is modelled' }] } }
    }
    const input = ((body.variables as Record<string, unknown> | undefined)?.input ?? {}) as Record<string, unknown>
    const found = [...this.repos.values()].flatMap((repo) => [...repo.issues.values()].filter((i) => i.pull && nodeId('PR', i.id) === input.pullRequestId).map((i) => ({ repo, issue: i })))[0]
    if (!found) {
      return { status: 200, json: { data: { enablePullRequestAutoMerge: null }, errors: [{ type: 'NOT_FOUND', path: ['enablePullRequestAutoMerge'], message: `Could not resolve to a node with the global id of '${String(input.pullRequestId)}'` }] } }
    }
    const { repo, issue } = found
    const pull = issue.pull!
    if (!repo.allowAutoMerge) return unprocessable('Auto merge is not allowed for this repository')
    if (issue.state !== 'open') return unprocessable('Pull request is closed')
    const methods: Record<string, MergeMethod> = { MERGE: 'merge', SQUASH: 'squash', REBASE: 'rebase' }
    const method = input.mergeMethod === undefined ? 'merge' : methods[String(input.mergeMethod)]
    if (!method) return { status: 200, json: { errors: [{ message: `Variable $input of type EnablePullRequestAutoMergeInput! was provided invalid value for mergeMethod` }] } }
    pull.autoMerge = { method, by: login, at: now() }
    issue.updatedAt = now()
    return {
      status: 200,
      json: { data: { enablePullRequestAutoMerge: { pullRequest: { number: issue.number, autoMergeRequest: { mergeMethod: String(input.mergeMethod ?? 'MERGE'), enabledAt: pull.autoMerge.at } } } } },
    }
  }

  private newIssue(repo: Repo, user: string, title: string, body: string | null): Issue {
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

  private async createPull(repo: Repo, login: string, input: Record<string, unknown>): Promise<Issue> {
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

  private async merge(repo: Repo, issue: Issue & { pull: Pull }, method: MergeMethod, by: string, input: Record<string, unknown>) {
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

  private addComment(repo: Repo, issue: Issue, user: string, body: string, association?: Association): Comment {
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

  private async addReview(repo: Repo, issue: Issue & { pull: Pull }, user: string, event: unknown, body: string, association?: Association): Promise<Review> {
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

  private async emitReview(repo: Repo, issue: Issue, review: Review, action: 'submitted' | 'dismissed'): Promise<void> {
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

  private repoLabel(repo: Repo, name: string): LabelJson {
    let label = repo.labels.get(name)
    if (!label) {
      const id = this.id()
      label = {
        id,
        node_id: nodeId('LA', id),
        url: `${this.apiUrl}/repos/${repo.owner}/${repo.name}/labels/${encodeURIComponent(name)}`,
        name,
        description: null,
        color: 'ededed',
        default: false,
      }
      repo.labels.set(name, label)
    }
    return label
  }

  private async addLabels(repo: Repo, issue: Issue, names: string[], by: string): Promise<void> {
    for (const name of names) {
      this.repoLabel(repo, name)
      if (issue.labels.includes(name)) continue
      issue.labels.push(name)
      issue.updatedAt = now()
      if (issue.pull) await this.emitPull(repo, issue, 'labeled', by, { label: this.repoLabel(repo, name) })
    }
  }

  private async removeLabel(repo: Repo, issue: Issue, name: string, by: string): Promise<void> {
    if (!issue.labels.includes(name)) throw new HttpError(404, 'Label does not exist')
    issue.labels = issue.labels.filter((l) => l !== name)
    issue.updatedAt = now()
    if (issue.pull) await this.emitPull(repo, issue, 'unlabeled', by, { label: this.repoLabel(repo, name) })
  }

  private async setState(repo: Repo, issue: Issue, state: unknown, by: string): Promise<void> {
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

  private async emitPull(repo: Repo, issue: Issue, action: string, by: string, extra: Record<string, unknown> = {}): Promise<void> {
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

  // --- JSON, as GitHub documents it ------------------------------------------------------

  private userJson(login: string): UserJson {
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
  private permissionJson(repo: Repo, login: string): PermissionJson {
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

  private repoJson(repo: Repo): RepoJson {
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

  private labelsJson(repo: Repo, issue: Issue): LabelJson[] {
    return issue.labels.map((name) => this.repoLabel(repo, name))
  }

  private issueJson(repo: Repo, issue: Issue): IssueJson {
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

  private async pullJson(repo: Repo, issue: Issue): Promise<PullJson> {
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
  private async pullSimpleJson(repo: Repo, issue: Issue): Promise<PullSimpleJson> {
    const full = await this.pullJson(repo, issue)
    const omit = ['merged', 'mergeable', 'rebaseable', 'mergeable_state', 'merged_by', 'comments', 'review_comments', 'maintainer_can_modify', 'commits', 'additions', 'deletions', 'changed_files']
    return Object.fromEntries(Object.entries(full).filter(([key]) => !omit.includes(key))) as unknown as PullSimpleJson
  }

  private milestoneJson(repo: Repo, number: number | null): MilestoneJson | null {
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

  private reviewJson(repo: Repo, review: Review): ReviewJson {
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

  private commentJson(repo: Repo, comment: Comment): CommentJson {
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

  private async commitJson(repo: Repo, sha: string): Promise<CommitJson> {
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

  // --- HTTP ----------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url)
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname.replace(/^\/api\/v3/, ''),
      query: Object.fromEntries(url.searchParams),
      body: undefined,
      status: 0,
    }
    this.requests.push(record)
    try {
      if (/^\/[^/]+\/[^/]+\.git\//.test(url.pathname)) return await this.gitHttp(req, res, url, record)
      const graphql = req.method === 'POST' && url.pathname === '/api/graphql'
      if (!url.pathname.startsWith('/api/v3/') && !graphql) throw notFound()
      const raw = await readBody(req)
      let body: Record<string, unknown> = {}
      if (raw.length) {
        try {
          body = JSON.parse(raw.toString())
          record.body = body
        } catch {
          throw new HttpError(400, 'Problems parsing JSON')
        }
      }
      const login = this.authenticate(req.headers.authorization, 'api')
      record.login = login
      const result = graphql ? await this.graphql(body, login) : await this.route(record.method, record.path, url.searchParams, body, login)
      record.status = result.status
      const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'x-github-request-id': `TEST:${this.requests.length}`, ...result.headers }
      res.writeHead(result.status, headers)
      res.end(result.json === undefined ? '' : JSON.stringify(result.json))
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500
      record.status = status
      const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' }
      if (status === 401 && record.path.includes('.git/')) headers['www-authenticate'] = 'Basic realm="GitHub"'
      res.writeHead(status, headers)
      const message = error instanceof Error ? error.message : String(error)
      res.end(
        JSON.stringify({
          message,
          ...(error instanceof HttpError && error.errors ? { errors: error.errors } : {}),
          documentation_url: 'https://docs.github.com/rest',
          status: String(status),
        }),
      )
    }
  }

  /** The login for a token (`token X` / `Bearer X` for the API, Basic with the token as password for git). */
  private authenticate(header: string | undefined, kind: 'api' | 'git'): string {
    if (!header) throw new HttpError(401, 'Requires authentication')
    let token: string | undefined
    const [scheme, value = ''] = header.split(' ')
    if (kind === 'api' && /^(token|bearer)$/i.test(scheme)) token = value
    if (kind === 'git' && /^basic$/i.test(scheme)) token = Buffer.from(value, 'base64').toString().split(/:(.*)/s)[1]
    const login = token ? this.tokens.get(token) : undefined
    if (!login) throw new HttpError(401, 'Bad credentials')
    this.user(login)
    return login
  }

  private async route(
    method: string,
    pathname: string,
    query: URLSearchParams,
    body: Record<string, unknown>,
    login: string,
  ): Promise<{ status: number; json?: unknown; headers?: Record<string, string> }> {
    const ok = (json: unknown, status = 200) => ({ status, json })
    if (method === 'GET' && pathname === '/user') return ok(this.userJson(login))
    const membership = /^\/orgs\/([^/]+)\/teams\/([^/]+)\/memberships\/([^/]+)$/.exec(pathname)
    if (method === 'GET' && membership) {
      if (this.teamFailure === 403) throw new HttpError(403, 'Resource not accessible by integration')
      if (this.teamFailure) throw new HttpError(this.teamFailure, 'Server Error')
      const [org, slug, user] = membership.slice(1).map(decodeURIComponent)
      const state = this.teams.get(`${org}/${slug}`.toLowerCase())?.get(user)
      if (!state) throw notFound()
      const json: TeamMembershipJson = { url: `${this.apiUrl}/teams/1/memberships/${user}`, role: 'member', state }
      return ok(json)
    }
    for (const routes of this.mounted) {
      const answer = await routes({ method, pathname, query, login }, this)
      if (answer) return answer
    }
    const m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(pathname)
    const repo = m && this.repos.get(`${decodeURIComponent(m[1])}/${decodeURIComponent(m[2])}`)
    if (!m || !repo) throw notFound()
    const rest = m[3] ?? ''
    const commitPulls = /^\/commits\/([0-9a-fA-F]{4,40})\/pulls$/.exec(rest)
    if (method === 'GET' && commitPulls) return this.page(pathname, query, await this.pullsOfCommit(repo, commitPulls[1]), async (i) => this.pullSimpleJson(repo, i))
    // A login can be all digits: match the collaborator route before numbers become :n.
    const route = /^\/collaborators\/[^/]+\/permission$/.test(rest)
      ? `${method} /collaborators/:user/permission`
      : `${method} ${rest.replace(/\/\d+(?=\/|$)/g, '/:n').replace(/\/labels\/[^/]+$/, '/labels/:name')}`
    const n = Number(/\/(\d+)(?:\/|$)/.exec(rest)?.[1])
    const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])

    switch (route) {
      case 'GET ':
        return ok(this.repoJson(repo))
      case 'GET /pulls': {
        const state = query.get('state') ?? 'open'
        const head = query.get('head')
        const base = query.get('base')
        const direction = query.get('direction') ?? 'desc'
        let issues = [...repo.issues.values()].filter((i) => i.pull && (state === 'all' || i.state === state))
        if (head) {
          const [owner, ref] = head.includes(':') ? head.split(/:(.*)/s) : [head, undefined]
          issues = issues.filter((i) => owner === repo.owner && (ref === undefined || i.pull!.head === ref))
        }
        if (base) issues = issues.filter((i) => i.pull!.base === base)
        issues.sort((a, b) => (direction === 'asc' ? a.number - b.number : b.number - a.number))
        return this.page(pathname, query, issues, (i) => this.pullJson(repo, i))
      }
      case 'POST /pulls':
        return ok(await this.pullJson(repo, await this.createPull(repo, login, body)), 201)
      case 'GET /pulls/:n':
        return ok(await this.pullJson(repo, this.pullIssue(repo, n)))
      case 'PATCH /pulls/:n': {
        const issue = this.pullIssue(repo, n)
        if (typeof body.title === 'string') issue.title = body.title
        if (typeof body.body === 'string') issue.body = body.body
        if (typeof body.base === 'string') {
          if (!(await this.branchSha(repo, body.base))) throw invalid('PullRequest', 'base')
          issue.pull.base = body.base
        }
        if (body.state !== undefined) await this.setState(repo, issue, body.state, login)
        issue.updatedAt = now()
        return ok(await this.pullJson(repo, issue))
      }
      case 'GET /pulls/:n/reviews': {
        this.pullIssue(repo, n)
        return this.page(pathname, query, repo.reviews.filter((r) => r.pull === n), async (r) => this.reviewJson(repo, r))
      }
      case 'POST /pulls/:n/reviews': {
        const review = await this.addReview(repo, this.pullIssue(repo, n), login, body.event, typeof body.body === 'string' ? body.body : '')
        return ok(this.reviewJson(repo, review))
      }
      case 'POST /pulls/:n/requested_reviewers': {
        const issue = this.pullIssue(repo, n)
        if (!Array.isArray(body.reviewers) && !Array.isArray(body.team_reviewers)) throw invalid('PullRequest', 'reviewers', 'missing_field')
        if (strings(body.team_reviewers).length) throw custom('PullRequest', 'Reviews may only be requested from collaborators. One or more of the teams you specified is not a collaborator of the repository.')
        this.addReviewers(repo, issue, strings(body.reviewers))
        return ok(await this.pullSimpleJson(repo, issue), 201)
      }
      case 'GET /pulls/:n/commits': {
        const issue = this.pullIssue(repo, n)
        return this.page(pathname, query, await this.commitsOf(repo, issue.pull), (sha) => this.commitJson(repo, sha))
      }
      case 'PUT /pulls/:n/merge': {
        const issue = this.pullIssue(repo, n)
        const method = body.merge_method ?? 'merge'
        if (method !== 'merge' && method !== 'squash' && method !== 'rebase') throw invalid('PullRequest', 'merge_method')
        return ok(await this.merge(repo, issue, method, login, body))
      }
      case 'POST /issues': {
        if (typeof body.title !== 'string' || !body.title.trim()) throw invalid('Issue', 'title', 'missing_field')
        const issue = this.newIssue(repo, login, body.title, typeof body.body === 'string' ? body.body : null)
        await this.addLabels(repo, issue, strings(body.labels), login)
        issue.assignees = strings(body.assignees).filter((a) => this.assignable(repo, a))
        return ok(this.issueJson(repo, issue), 201)
      }
      case 'GET /issues/:n':
        return ok(this.issueJson(repo, this.issue(repo, n)))
      case 'PATCH /issues/:n': {
        const issue = this.issue(repo, n)
        if (typeof body.title === 'string') issue.title = body.title
        if (typeof body.body === 'string') issue.body = body.body
        if (Array.isArray(body.labels)) {
          for (const name of issue.labels.filter((l) => !strings(body.labels).includes(l))) await this.removeLabel(repo, issue, name, login)
          await this.addLabels(repo, issue, strings(body.labels), login)
        }
        if (Array.isArray(body.assignees)) issue.assignees = strings(body.assignees).filter((a) => this.assignable(repo, a))
        if (body.milestone !== undefined) {
          if (body.milestone !== null && !(typeof body.milestone === 'number' && repo.milestones.has(body.milestone))) throw invalid('Issue', 'milestone')
          issue.milestone = body.milestone
        }
        if (body.state !== undefined) await this.setState(repo, issue, body.state, login)
        issue.updatedAt = now()
        return ok(this.issueJson(repo, issue))
      }
      case 'GET /issues/:n/comments': {
        this.issue(repo, n)
        return this.page(pathname, query, repo.comments.filter((c) => c.issue === n), async (c) => this.commentJson(repo, c))
      }
      case 'POST /issues/:n/comments': {
        if (typeof body.body !== 'string' || !body.body) throw invalid('IssueComment', 'body', 'missing_field')
        return ok(this.commentJson(repo, this.addComment(repo, this.issue(repo, n), login, body.body)), 201)
      }
      case 'PATCH /issues/comments/:n':
      case 'DELETE /issues/comments/:n': {
        const comment = repo.comments.find((c) => c.id === n)
        if (!comment) throw notFound()
        if (method === 'DELETE') {
          repo.comments.splice(repo.comments.indexOf(comment), 1)
          return { status: 204 }
        }
        if (typeof body.body !== 'string' || !body.body) throw invalid('IssueComment', 'body', 'missing_field')
        comment.body = body.body
        comment.updatedAt = now()
        return ok(this.commentJson(repo, comment))
      }
      case 'GET /issues/:n/labels':
        return ok(this.labelsJson(repo, this.issue(repo, n)))
      case 'POST /issues/:n/labels':
      case 'PUT /issues/:n/labels': {
        const issue = this.issue(repo, n)
        const names = strings(Array.isArray(body) ? body : body.labels)
        if (method === 'PUT') for (const name of issue.labels.filter((l) => !names.includes(l))) await this.removeLabel(repo, issue, name, login)
        await this.addLabels(repo, issue, names, login)
        return ok(this.labelsJson(repo, issue))
      }
      case 'DELETE /issues/:n/labels/:name': {
        const issue = this.issue(repo, n)
        await this.removeLabel(repo, issue, decodeURIComponent(rest.split('/').pop()!), login)
        return ok(this.labelsJson(repo, issue))
      }
      case 'GET /collaborators/:user/permission': {
        const user = decodeURIComponent(rest.split('/')[2])
        // GitHub knows everyone with a role; anyone else only once they have done something.
        if (!this.users.has(user) && !this.role(repo, user)) throw notFound()
        return ok(this.permissionJson(repo, user))
      }
      case 'POST /issues/:n/assignees': {
        // GitHub silently leaves out users who cannot be assigned (no push access).
        const issue = this.issue(repo, n)
        for (const a of strings(body.assignees)) if (this.assignable(repo, a) && !issue.assignees.includes(a)) issue.assignees.push(a)
        issue.updatedAt = now()
        return ok(this.issueJson(repo, issue), 201)
      }
    }
    throw notFound()
  }

  /** GitHub's pagination: `per_page` (default 30, at most 100), `page`, and a Link header. */
  async page<T>(pathname: string, query: URLSearchParams, items: T[], json: (item: T) => Promise<unknown>) {
    const perPage = Math.min(100, Math.max(1, Number(query.get('per_page')) || 30))
    const page = Math.max(1, Number(query.get('page')) || 1)
    const last = Math.max(1, Math.ceil(items.length / perPage))
    const slice = items.slice((page - 1) * perPage, page * perPage)
    const headers: Record<string, string> = {}
    if (last > 1) {
      const at = (p: number) => {
        const q = new URLSearchParams(query)
        q.set('page', String(p))
        return `<${this.apiUrl}${pathname}?${q}>`
      }
      const links: string[] = []
      if (page < last) links.push(`${at(page + 1)}; rel="next"`, `${at(last)}; rel="last"`)
      if (page > 1) links.push(`${at(1)}; rel="first"`, `${at(page - 1)}; rel="prev"`)
      headers.link = links.join(', ')
    }
    return { status: 200, json: await Promise.all(slice.map(json)), headers }
  }

  /** git's smart HTTP protocol through `git http-backend`, with GitHub-style token auth. */
  private async gitHttp(req: http.IncomingMessage, res: http.ServerResponse, url: URL, record: RecordedRequest): Promise<void> {
    const [, owner, name, rest] = /^\/([^/]+)\/([^/]+)\.git(\/.*)$/.exec(url.pathname)!
    const repo = this.repos.get(`${owner}/${name}`)
    const login = this.authenticate(req.headers.authorization, 'git')
    record.login = login
    if (!repo) throw notFound()
    const input = await readBody(req)
    const env: NodeJS.ProcessEnv = {
      GIT_PROJECT_ROOT: repo.dir,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: rest,
      REQUEST_METHOD: req.method,
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      CONTENT_LENGTH: String(input.length),
      REMOTE_USER: login,
      REMOTE_ADDR: '127.0.0.1',
      GIT_PROTOCOL: (req.headers['git-protocol'] as string | undefined) ?? '',
      HTTP_CONTENT_ENCODING: (req.headers['content-encoding'] as string | undefined) ?? '',
    }
    const result = await exec(['http-backend'], { cwd: repo.dir, env, input })
    const out = result.stdout
    const split = out.indexOf('\r\n\r\n') >= 0 ? out.indexOf('\r\n\r\n') : out.indexOf('\n\n')
    const separator = out.indexOf('\r\n\r\n') >= 0 ? 4 : 2
    const head = split >= 0 ? out.subarray(0, split).toString() : ''
    const headers: Record<string, string> = {}
    let status = result.code === 0 ? 200 : 500
    for (const line of head.split(/\r?\n/)) {
      const [key, ...value] = line.split(':')
      if (!key) continue
      if (key.toLowerCase() === 'status') status = parseInt(value.join(':'), 10)
      else headers[key] = value.join(':').trim()
    }
    record.status = status
    res.writeHead(status, headers)
    res.end(split >= 0 ? out.subarray(split + separator) : result.stderr)
  }
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

/** Start the stand-in on a free loopback port. Call `close()` when done. */
export async function startGitHubServer(options: StartOptions = {}): Promise<GitHubServer> {
  const server = http.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  return new GitHubServer(server, options.tokens ?? {})
}
