// The GitHub stand-in's state (tests/helpers/github-server.mts): repositories (each a
// real bare git repository), users, teams, issues and pull requests, comments, reviews,
// milestones, the requests it answered and the webhook events GitHub would have sent;
// the lookups the other layers share, the error answers, and git isolated from the
// machine's config.
import { spawn } from 'node:child_process'
import type { Association, LabelJson, MergeMethod, ReviewState, Role } from './shapes.mts'

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

export interface User {
  login: string
  id: number
  type: 'User' | 'Bot'
}

export interface Pull {
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

export interface Milestone {
  number: number
  id: number
  title: string
  createdAt: string
}

export interface Issue {
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

export interface Comment {
  id: number
  issue: number
  user: string
  body: string
  association: Association
  createdAt: string
  updatedAt: string
}

export interface Review {
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

export interface Repo {
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

export const notFound = () => new HttpError(404, 'Not Found')
export const invalid = (resource: string, field: string, code = 'invalid') => new HttpError(422, 'Validation Failed', [{ resource, field, code }])
export const custom = (resource: string, message: string) => new HttpError(422, 'Validation Failed', [{ resource, code: 'custom', message }])

export const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
export const nodeId = (kind: string, id: number) => Buffer.from(`0:${kind}${id}`).toString('base64').replace(/=+$/, '')

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

export function exec(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; input?: Buffer | string }): Promise<Exec> {
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

export async function git(cwd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const result = await exec(args, { cwd, env })
  if (result.code !== 0) throw new Error(`git ${args.join(' ')} failed: ${result.stderr.trim()}`)
  return result.stdout.toString().trim()
}

export async function gitMaybe(cwd: string, args: string[]): Promise<string | null> {
  const result = await exec(args, { cwd })
  return result.code === 0 ? result.stdout.toString().trim() : null
}
/** What the stand-in holds, and the lookups every layer above uses. */
export class GitHubState {
  /** `http://127.0.0.1:<port>`: the web and git host. */
  readonly url: string
  /** `<url>/api/v3`: GITHUB_API_URL. */
  readonly apiUrl: string
  readonly requests: RecordedRequest[] = []
  readonly events: WebhookEvent[] = []
  protected readonly repos = new Map<string, Repo>()
  protected readonly users = new Map<string, User>()
  /** `org/slug` -> login -> membership state. */
  protected readonly teams = new Map<string, Map<string, 'active' | 'pending'>>()
  protected teamFailure?: number
  protected nextId = 1000

  constructor(url: string) {
    this.url = url
    this.apiUrl = `${url}/api/v3`
  }

  // --- state ---------------------------------------------------------------------------

  protected id(): number {
    return this.nextId++
  }

  protected user(login: string): User {
    let user = this.users.get(login)
    if (!user) {
      user = { login, id: this.id(), type: login.endsWith('[bot]') ? 'Bot' : 'User' }
      this.users.set(login, user)
    }
    return user
  }

  protected repo(fullName: string): Repo {
    const repo = this.repos.get(fullName)
    if (!repo) throw new Error(`github-server: no repository ${fullName} (addRepo first)`)
    return repo
  }

  protected issue(repo: Repo, number: number): Issue {
    const issue = repo.issues.get(number)
    if (!issue) throw notFound()
    return issue
  }

  protected pullIssue(repo: Repo, number: number): Issue & { pull: Pull } {
    const issue = this.issue(repo, number)
    if (!issue.pull) throw notFound()
    return issue as Issue & { pull: Pull }
  }

  protected association(repo: Repo, login: string): Association {
    if (login === repo.owner) return 'OWNER'
    if (repo.members.has(login)) return 'MEMBER'
    if (repo.collaborators.has(login)) return 'COLLABORATOR'
    return 'NONE'
  }

  /** The user's role on the repository; null without access. */
  protected role(repo: Repo, login: string): Role | null {
    if (login === repo.owner) return 'admin'
    const role = repo.roles.get(login)
    if (role) return role
    if (repo.collaborators.has(login)) return 'write'
    if (repo.members.has(login)) return 'read'
    return null
  }

  protected assignable(repo: Repo, login: string): boolean {
    return login === repo.owner || repo.members.has(login) || repo.collaborators.has(login)
  }

  protected branchSha(repo: Repo, branch: string): Promise<string | null> {
    return gitMaybe(repo.dir, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`])
  }

  /** An open PR follows its branches, as on GitHub; a closed one keeps what it had. */
  protected async refresh(repo: Repo, pull: Pull): Promise<void> {
    if (pull.commits) return
    pull.headSha = (await this.branchSha(repo, pull.head)) ?? pull.headSha
    pull.baseSha = (await this.branchSha(repo, pull.base)) ?? pull.baseSha
  }

  protected async commitsOf(repo: Repo, pull: Pull): Promise<string[]> {
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
  protected async pullsOfCommit(repo: Repo, rev: string): Promise<Issue[]> {
    const sha = await gitMaybe(repo.dir, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`])
    if (!sha) throw new HttpError(422, `No commit found for SHA: ${rev}`)
    const pulls = [...repo.issues.values()].filter((i) => i.pull)
    const landed = pulls.filter((i) => i.pull!.landed.includes(sha))
    const containing: Issue[] = []
    for (const i of pulls) if (!landed.includes(i) && (await this.commitsOf(repo, i.pull!)).includes(sha)) containing.push(i)
    return [...landed, ...containing]
  }

  protected repoLabel(repo: Repo, name: string): LabelJson {
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
}
