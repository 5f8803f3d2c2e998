// The GitHub stand-in's routes: each REST endpoint the scripts use, GraphQL's
// `enablePullRequestAutoMerge`, GitHub's pagination, and endpoints other helpers mount
// (tests/helpers/github-packages.mts).
import type { GitHubServer } from '../github-server.mts'
import { GitHubChanges } from './changes.mts'
import type { MergeMethod, TeamMembershipJson } from './shapes.mts'
import { custom, HttpError, invalid, nodeId, notFound, now } from './state.mts'

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

/** The request a mounted route sees, bound to the server it was mounted on. */
export type BoundRoutes = (request: { method: string; pathname: string; query: URLSearchParams; login: string }) => Promise<RouteResult | undefined>

/** The REST and GraphQL endpoints, over the state and its changes. */
export class GitHubRoutes extends GitHubChanges {
  protected readonly mounted: BoundRoutes[] = []

  /**
   * POST /api/graphql: only `enablePullRequestAutoMerge(input: $input)` with the input in
   * `variables.input` ({ pullRequestId, mergeMethod }). Like GitHub, an error is an HTTP
   * 200 whose body has `errors` (type UNPROCESSABLE, the mutation's path) and null data.
   */
  protected async graphql(body: Record<string, unknown>, login: string): Promise<{ status: number; json: unknown; headers?: Record<string, string> }> {
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

  protected async route(
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
      const answer = await routes({ method, pathname, query, login })
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

}
