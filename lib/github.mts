// GitHub: the API client, the repository we act on, the token, and GitHub Actions
// outputs. The API always goes through Octokit; GITHUB_API_URL picks the server
// (api.github.com, a GitHub Enterprise `https://host/api/v3`, or the tests' stand-in).
import { Octokit } from '@octokit/rest'
import { fs } from 'zx'
import { UsageError } from './cli.mts'
import { registerSecret, warn } from './log.mts'

export type { Octokit }

export interface RepoSlug {
  owner: string
  repo: string
}

/** Comment authors whose `/commands` act (GitHub's `author_association`). */
export const TRUSTED_ASSOCIATIONS = ['OWNER', 'MEMBER', 'COLLABORATOR']

export function isTrusted(association: string | undefined): boolean {
  return TRUSTED_ASSOCIATIONS.includes(association ?? '')
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

/**
 * An Octokit client for `apiUrl` (GITHUB_API_URL; default api.github.com). Octokit's
 * warnings go to stderr; its per-request error lines are dropped, because callers handle
 * failed requests (some are expected, like a 422 for a pull request that already exists)
 * and report them with what to do.
 */
export function githubClient(token: string, apiUrl?: string): Octokit {
  return new Octokit({
    auth: token,
    baseUrl: (apiUrl || 'https://api.github.com').replace(/\/+$/, ''),
    userAgent: 'ci-build-scripts',
    log: { debug: () => {}, info: () => {}, warn: (message: string) => warn(message), error: () => {} },
  })
}

/** Append step outputs to $GITHUB_OUTPUT (multi-line values use a delimiter, as Actions documents). */
export async function setActionsOutputs(outputs: Record<string, string>, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const file = env.GITHUB_OUTPUT
  if (!file) return
  let text = ''
  for (const [name, value] of Object.entries(outputs)) {
    if (!value.includes('\n')) text += `${name}=${value}\n`
    else {
      const delimiter = `EOF_${Math.random().toString(36).slice(2)}`
      text += `${name}<<${delimiter}\n${value}\n${delimiter}\n`
    }
  }
  await fs.appendFile(file, text)
}
