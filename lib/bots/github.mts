// GitHub: the API client, the repository we act on, the token, and the text for
// comments and logs. The API always goes through Octokit; GITHUB_API_URL picks the server
// (api.github.com, a GitHub Enterprise `https://host/api/v3`, or the tests' stand-in).
import { Octokit } from '@octokit/rest'
import { ProcessOutput } from 'zx'
import { UsageError, WorkError } from '../core/cli.mts'
import { redact, registerSecret, warn } from '../core/log.mts'
import { parseRetryAfter, withRetries } from '../core/retries.mts'

export type { Octokit }

export interface RepoSlug {
  owner: string
  repo: string
}

/**
 * Who may act through the bots (approve integration runs, `/cherry-pick`): people with
 * write, maintain or admin access to the repository. GitHub's `permission` field maps
 * maintain to write and triage to read, so "write or admin" there is exactly that.
 * `author_association` is not used: MEMBER is any organisation member (read access by
 * default) and COLLABORATOR includes read-only and triage collaborators.
 */
export const TRUSTED_PERMISSIONS = ['admin', 'write']

/** The roles that are trusted, for messages. */
export const TRUSTED_ROLES = 'write, maintain or admin'

export interface UserPermission {
  login: string
  /** GitHub's legacy base permission: admin, write, read or none. */
  permission: string
  /** The role as GitHub names it (admin, maintain, write, triage, read, or a custom role). */
  role: string
  trusted: boolean
  /** `org/slug` when trusted through an active membership of the configured team. */
  team?: string
}

/** Who the bots trust besides write, maintain and admin: `trust` of build.config.json. */
export interface TrustPolicy {
  /** `org/team-slug`: its active members are trusted (a pending invitation is not membership). */
  team?: string
}

/** The trusted roles under `trust`, for messages. */
export function trustedRoles(trust: TrustPolicy = {}): string {
  return trust.team ? `${TRUSTED_ROLES} access, or active membership of the team ${trust.team}` : `${TRUSTED_ROLES} access`
}

/**
 * `login`'s permission on the repository, now (GET /repos/{o}/{r}/collaborators/{login}/permission):
 * someone who has since lost access is `none`. A user GitHub does not know (404) is `none`
 * too; any other failure throws, so a gate fails closed. With `trust.team`, someone
 * without write access is trusted when GitHub says their membership of that team is
 * `active` (see teamMembership).
 */
export async function permissionOf(github: Octokit, repo: RepoSlug, login: string, trust: TrustPolicy = {}): Promise<UserPermission> {
  let who: UserPermission
  try {
    const { data } = await github.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: login })
    const permission = data.permission || 'none'
    who = { login, permission, role: data.role_name || permission, trusted: TRUSTED_PERMISSIONS.includes(permission) }
  } catch (error) {
    if ((error as { status?: number }).status !== 404) throw error
    who = { login, permission: 'none', role: 'none', trusted: false }
  }
  if (who.trusted || !trust.team) return who
  if ((await teamMembership(github, trust.team, login)) !== 'active') return who
  return { ...who, trusted: true, role: `${who.role}, member of ${trust.team}`, team: trust.team }
}

/**
 * `login`'s membership of `team` (`org/slug`), now
 * (GET /orgs/{org}/teams/{team_slug}/memberships/{username}): `active`, `pending` (invited,
 * not yet accepted: not a member), or `none` (404: not a member, or a team this token
 * cannot see). Any other failure throws a WorkError saying so: nobody is trusted through
 * a team whose membership could not be read.
 */
export async function teamMembership(github: Octokit, team: string, login: string): Promise<'active' | 'pending' | 'none'> {
  const [org, slug] = team.split('/')
  try {
    const { data } = await github.rest.teams.getMembershipForUserInOrg({ org, team_slug: slug, username: login })
    return data.state === 'active' ? 'active' : data.state === 'pending' ? 'pending' : 'none'
  } catch (error) {
    if ((error as { status?: number }).status === 404) return 'none'
    throw new WorkError(
      `cannot tell whether @${login} is a member of the team ${team} (trust.team in build.config.json): ${(error as Error).message}. ` +
        'The token must be able to read the organisation\'s team memberships (a GitHub App with "Members: read", or a token with read:org); ' +
        'until then nobody is trusted through the team.',
    )
  }
}

/** `owner/name` as in GITHUB_REPOSITORY. `source` names where it came from, for the message. */
export function parseRepoSlug(value: string, source: string): RepoSlug {
  const match = /^([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)\/([A-Za-z0-9._-]+)$/.exec(value.trim())
  if (!match || match[2] === '.' || match[2] === '..') {
    throw new UsageError(`${source}: expected owner/name (like acme/app), got ${JSON.stringify(value)}`)
  }
  return { owner: match[1], repo: match[2].replace(/\.git$/, '') }
}

/**
 * The owner/name in a remote URL (`https://github.com/acme/app.git`,
 * `git@github.com:acme/app.git`, `ssh://git@host/acme/app`), or undefined for a local
 * path or anything else. Credentials in the URL are ignored.
 */
export function repoSlugFromUrl(url: string): RepoSlug | undefined {
  const match = /^(?:[a-z][a-z0-9+.-]*:\/\/[^/]+\/|[^/@:]+@[^/:]+:\/?)(?:.*\/)?([^/]+)\/([^/]+?)(?:\.git)?\/?$/i.exec(url.trim())
  if (!match) return undefined
  try {
    return parseRepoSlug(`${match[1]}/${match[2]}`, 'remote URL')
  } catch {
    return undefined
  }
}

/** The token from GITHUB_TOKEN (or GH_TOKEN), registered as a secret at once. */
export function readGitHubToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const token = env.GITHUB_TOKEN?.trim() || env.GH_TOKEN?.trim() || undefined
  registerSecret(token)
  return token
}

/** Retries of an API request that failed with 429, 5xx or a network error, 1 s then 2 s apart (or as Retry-After says). */
const API_RETRIES = 2
const API_RETRY_DELAY_MS = 1000

/**
 * A GitHub API request that failed, for good or after its retries: the message names the
 * request; `status` is GitHub's (404, 422 ... for callers to handle), as on Octokit's errors.
 */
export class GitHubApiError extends WorkError {
  readonly status: number
  constructor(message: string, status: number) {
    super(message)
    this.status = status
  }
}

type RequestFailure = Error & { status?: number; response?: { headers?: Record<string, string | undefined> }; retryAfterMs?: number }

/** 429, 5xx and network errors (Octokit reports those as status 500, or none) are worth another try. */
function transient(error: unknown): boolean {
  const status = (error as RequestFailure).status
  return typeof status !== 'number' || status === 429 || status >= 500
}

/**
 * An Octokit client for `apiUrl` (GITHUB_API_URL; default api.github.com). Octokit's
 * warnings go to stderr; its per-request error lines are dropped, because callers handle
 * failed requests (some are expected, like a 422 for a pull request that already exists)
 * and report them with what to do. Requests that fail with 429, 5xx or a network error
 * are retried with backoff; a request that still fails throws GitHubApiError.
 */
export function githubClient(token: string, apiUrl?: string): Octokit {
  const octokit = new Octokit({
    auth: token,
    baseUrl: (apiUrl || 'https://api.github.com').replace(/\/+$/, ''),
    userAgent: 'ci-build-scripts',
    log: { debug: () => {}, info: () => {}, warn: (message: string) => warn(message), error: () => {} },
  })
  octokit.hook.wrap('request', async (request, options) => {
    const what = `GitHub API ${options.method} ${String(options.url).replace(/\{[^}]*\}/g, (m) => String(options[m.slice(1, -1)] ?? m))}`
    try {
      return await withRetries(
        async () => {
          try {
            return await request(options)
          } catch (error) {
            const retryAfter = (error as RequestFailure).response?.headers?.['retry-after']
            if (retryAfter) (error as RequestFailure).retryAfterMs = parseRetryAfter(retryAfter)
            throw error
          }
        },
        {
          retries: API_RETRIES,
          baseDelayMs: API_RETRY_DELAY_MS,
          isRetryable: transient,
          what,
        },
      )
    } catch (error) {
      // A network error has no response (Octokit still calls it a 500): no HTTP status to name.
      const { status, response } = error as RequestFailure
      throw new GitHubApiError(`${what}: ${(error as Error).message}${response && status ? ` (HTTP ${status})` : ''}`, status ?? 0)
    }
  })
  return octokit
}

// --- text for comments and logs ---

/** Markdown inline code that survives backticks in the text. */
export function code(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length))
  const fence = '`'.repeat(longest + 1)
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : ''
  return `${fence}${pad}${text}${pad}${fence}`
}

/** A one-line reason for an error, fit for a comment or a log line (secrets redacted). */
export function describeError(error: unknown): string {
  if (error instanceof ProcessOutput) {
    const lines = error.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('hint:'))
    // git's own verdicts, and what a server hook said (`remote: ...`), say the most.
    const telling = lines.filter((l) => /^(remote|error|fatal):|\[(remote )?rejected\]/.test(l))
    return redact((telling.length ? telling : lines.slice(-3)).join(' ') || `a command exited with ${error.exitCode}`)
  }
  // A WorkError (GitHubApiError included) says what failed already.
  if (error instanceof WorkError) return redact(error.message)
  const status = (error as { status?: unknown }).status
  const message = error instanceof Error ? error.message : String(error)
  return redact(typeof status === 'number' ? `GitHub API: ${message} (HTTP ${status})` : message)
}
