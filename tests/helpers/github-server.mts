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
//
// In parts (tests/helpers/github-server/): the state (state.mts), GitHub's response
// shapes (shapes.mts), the changes GitHub makes and the events they send (changes.mts),
// the routes (routes.mts); this module is the HTTP server and the tests' handle on it.
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { GitHubRoutes, type MountedRoutes } from './github-server/routes.mts'
import type { Association, CommentJson, MergeMethod, PullJson, ReviewEvent, ReviewJson, Role } from './github-server/shapes.mts'
import { exec, HttpError, notFound, now, type RecordedRequest, type WebhookEvent } from './github-server/state.mts'

export type { MountedRoutes, RouteResult } from './github-server/routes.mts'
export type {
  Association,
  CommentJson,
  CommitJson,
  IssueJson,
  LabelJson,
  MergeMethod,
  MilestoneJson,
  PermissionJson,
  PullJson,
  PullSimpleJson,
  ReviewEvent,
  ReviewJson,
  Role,
  TeamMembershipJson,
} from './github-server/shapes.mts'
export { HttpError, type RecordedRequest, type WebhookEvent } from './github-server/state.mts'

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

export interface StartOptions {
  /** token -> login of the user it authenticates. Unknown tokens get 401. */
  tokens?: Record<string, string>
}

export class GitHubServer extends GitHubRoutes {
  private readonly server: http.Server
  private readonly tokens: Map<string, string>

  constructor(server: http.Server, tokens: Record<string, string>) {
    super(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    this.server = server
    this.tokens = new Map(Object.entries(tokens))
    server.on('request', (req, res) => void this.handle(req, res))
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise((resolve) => this.server.close(resolve))
  }

  // --- set-up and inspection, for tests ------------------------------------------------

  /** Serve more endpoints (see MountedRoutes). */
  mount(routes: MountedRoutes): void {
    this.mounted.push((request) => routes(request, this))
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
