// The bots' git remote: what cherry-pick and update-generated share to talk to it.
//   - the bot's identity, and the env every bot git command runs with (botGitEnv);
//   - the remote context checked up front (remote, GitHub repository, CI log link);
//   - which branches the remote has, fetching them, its default branch.
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
export async function botGitEnv(root: string, token: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<NodeJS.ProcessEnv> {
  // No token (update-generated --dry-run): git uses whatever credentials the user has.
  const base = token ? tokenCredentialEnv(token, env) : env
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
  const repo = options.githubRepo
    ? parseRepoSlug(options.githubRepo, 'the GitHub repository (--github-repo or GITHUB_REPOSITORY)')
    : repoSlugFromUrl(url.stdout)
  if (!repo) throw new UsageError('cannot tell the GitHub repository from the remote URL: pass --github-repo owner/name (or set GITHUB_REPOSITORY)')
  const logUrl =
    env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
      ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
      : env.CIRCLE_BUILD_URL || undefined
  return { root: options.root, remote: options.remote, repo, env: await botGitEnv(options.root, options.token, env), logUrl }
}

/** branch -> sha for those of `branches` that exist on the remote. One `git ls-remote`. */
export async function remoteBranches(ctx: RemoteGit, branches: string[]): Promise<Map<string, string>> {
  if (!branches.length) return new Map()
  const out = await git(ctx.root, ctx.env)`git ls-remote --heads ${ctx.remote} ${branches.map((b) => `refs/heads/${b}`)}`
  const found = new Map<string, string>()
  for (const line of out.stdout.split('\n').filter(Boolean)) {
    const [sha, ref] = line.split('\t')
    const branch = ref.slice('refs/heads/'.length)
    if (branches.includes(branch)) found.set(branch, sha)
  }
  return found
}

/** Update `<remote>/<branch>` for each branch (unshallowing once if the clone is shallow). */
export async function fetchBranches(ctx: RemoteGit, branches: string[]): Promise<void> {
  const shallow = (await git(ctx.root)`git rev-parse --is-shallow-repository`).stdout.trim() === 'true'
  const refspecs = [...new Set(branches)].map((b) => `+refs/heads/${b}:refs/remotes/${ctx.remote}/${b}`)
  await git(ctx.root, ctx.env)`git fetch --quiet --no-tags ${shallow ? ['--unshallow'] : []} ${ctx.remote} ${refspecs}`
}

/**
 * The default branch: `defaultBranch` from the config, else the remote's HEAD
 * (`git ls-remote --symref`, with the job's credentials).
 */
export async function defaultBranch(ctx: RemoteGit, configured?: string): Promise<string> {
  if (configured) return configured
  const out = await git(ctx.root, ctx.env)`git ls-remote --symref ${ctx.remote} HEAD`.nothrow()
  const match = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(out.stdout)
  if (!match) {
    const why = out.ok ? 'it names no HEAD' : describeError(out)
    throw new WorkError(`cannot tell the default branch of ${ctx.remote} (${why}): set "defaultBranch" in build.config.json`)
  }
  return match[1]
}

/** The bot as author too, when git has no identity (the committer is seen to by `botGitEnv`). */
export async function withBotAuthor(root: string, env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  if ((await git(root, env)`git var GIT_AUTHOR_IDENT`.nothrow()).ok) return env
  return { ...env, GIT_AUTHOR_NAME: env.GIT_COMMITTER_NAME ?? BOT.name, GIT_AUTHOR_EMAIL: env.GIT_COMMITTER_EMAIL ?? BOT.email }
}
