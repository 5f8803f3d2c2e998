// The bots' git remote: what cherry-pick and update-generated share to talk to it.
//   - the bot's identity, and the env every bot git command runs with (botGitEnv);
//   - the remote context checked up front (remote, GitHub repository, CI log link);
//   - which branches the remote has, fetching them, its default branch, the CI log link.
import type { ProcessOutput } from 'zx'
import { UsageError, WorkError } from '../core/cli.mts'
import { git, tokenCredentialEnv, withGitConfig } from '../core/git.mts'
import { describeError, parseRepoSlug, repoSlugFromUrl, type RepoSlug } from './github.mts'

/** Who commits when git has no identity: GitHub Actions' own bot. */
export const BOT = { name: 'github-actions[bot]', email: '41898282+github-actions[bot]@users.noreply.github.com' }

/**
 * The env for every git command of a bot: the token through a credential helper (never
 * argv or URLs), no hooks (the user's hooks do not belong in a throwaway worktree), no
 * editor, and the bot as committer when git has no identity (a bare CI runner).
 */
export async function botGitEnv(root: string, token: string | undefined, env: NodeJS.ProcessEnv = process.env, url = ''): Promise<NodeJS.ProcessEnv> {
  // No token: git uses whatever credentials the user has. The token's helper answers
  // only for the remote's host (`url`, as `git remote get-url` expands it).
  const base = token ? tokenCredentialEnv(token, url, env) : env
  const out: NodeJS.ProcessEnv = { ...withGitConfig(base, [['core.hooksPath', '/dev/null']]), GIT_EDITOR: 'true' }
  const ident = await git(root, out)`git var GIT_COMMITTER_IDENT`.nothrow()
  if (!ident.ok) {
    out.GIT_COMMITTER_NAME = BOT.name
    out.GIT_COMMITTER_EMAIL = BOT.email
  }
  return out
}

/** What any job that pushes to the remote and talks to GitHub needs (cherry-pick, update-generated). */
export interface RemoteContext {
  /** The user's repository: only fetched into, never checked out or changed otherwise. */
  root: string
  remote: string
  repo: RepoSlug
  /** The env every git command runs with: see `botGitEnv`. */
  env: NodeJS.ProcessEnv
  /** The CI log, linked from failure comments. */
  logUrl?: string
}

/** The part of a RemoteContext that plain git needs. */
export type RemoteGit = Pick<RemoteContext, 'root' | 'remote' | 'env'>

/**
 * Checked up front: the remote exists, the GitHub repository is known (--github-repo,
 * GITHUB_REPOSITORY, or the remote's URL), git has its env (see `botGitEnv`), and the
 * CI log to link to.
 */
export async function remoteContext(options: {
  root: string
  remote: string
  token: string
  githubRepo?: string
  env?: NodeJS.ProcessEnv
}): Promise<RemoteContext> {
  const env = options.env ?? process.env
  const url = await git(options.root)`git remote get-url ${options.remote}`.nothrow()
  if (!url.ok) throw new UsageError(`no git remote ${JSON.stringify(options.remote)} in ${options.root} (pass --remote NAME)`)
  const repo = githubRepoOf(options.githubRepo, url.stdout)
  if (!repo) throw new UsageError(NO_GITHUB_REPO)
  return { root: options.root, remote: options.remote, repo, env: await botGitEnv(options.root, options.token, env, url.stdout.trim()), logUrl: ciLogUrl(env) }
}

export const NO_GITHUB_REPO = 'cannot tell the GitHub repository from the remote URL: pass --github-repo owner/name (or set GITHUB_REPOSITORY)'

/** The GitHub repository: `--github-repo` / GITHUB_REPOSITORY when given, else read from the remote's URL. */
export function githubRepoOf(given: string | undefined, remoteUrl: string): RepoSlug | undefined {
  return given ? parseRepoSlug(given, 'the GitHub repository (--github-repo or GITHUB_REPOSITORY)') : repoSlugFromUrl(remoteUrl)
}

/** The CI run's log, linked from comments and pull request bodies. */
export function ciLogUrl(env: NodeJS.ProcessEnv): string | undefined {
  return env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
    ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
    : env.CIRCLE_BUILD_URL || undefined
}

/** branch -> sha from `git ls-remote --heads` output, for those of `branches` listed. */
export function headsFromLsRemote(stdout: string, branches: string[]): Map<string, string> {
  const found = new Map<string, string>()
  for (const line of stdout.split('\n').filter(Boolean)) {
    const [sha, ref] = line.split('\t')
    const branch = ref.slice('refs/heads/'.length)
    if (branches.includes(branch)) found.set(branch, sha)
  }
  return found
}

/**
 * The default branch from `git ls-remote --symref <remote> HEAD` (its output and whether
 * it succeeded), or a WorkError saying to set `defaultBranch` in build.config.json.
 */
export function defaultBranchFromLsRemote(out: ProcessOutput, remote: string): string {
  const match = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(out.stdout)
  if (!match) {
    const why = out.ok ? 'it names no HEAD' : describeError(out)
    throw new WorkError(`cannot tell the default branch of ${remote} (${why}): set "defaultBranch" in build.config.json`)
  }
  return match[1]
}

/** branch -> sha for those of `branches` that exist on the remote. One `git ls-remote`. */
export async function remoteBranches(ctx: RemoteGit, branches: string[]): Promise<Map<string, string>> {
  if (!branches.length) return new Map()
  const out = await git(ctx.root, ctx.env)`git ls-remote --heads ${ctx.remote} ${branches.map((b) => `refs/heads/${b}`)}`
  return headsFromLsRemote(out.stdout, branches)
}

/** Update `<remote>/<branch>` for each branch (unshallowing once if the clone is shallow). */
export async function fetchBranches(ctx: RemoteGit, branches: string[]): Promise<void> {
  const shallow = (await git(ctx.root)`git rev-parse --is-shallow-repository`).stdout.trim() === 'true'
  const refspecs = [...new Set(branches)].map((b) => `+refs/heads/${b}:refs/remotes/${ctx.remote}/${b}`)
  await git(ctx.root, ctx.env)`git fetch --quiet --no-tags ${shallow ? ['--unshallow'] : []} ${ctx.remote} ${refspecs}`
}
