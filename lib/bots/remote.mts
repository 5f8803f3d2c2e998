// The bots' git remote: what cherry-pick and update-generated share to talk to it.
//   - the bot's identity, and the hardened env every bot git command runs with
//     (botGitEnv; the token only in remoteGitEnv, for the commands that reach the remote);
//   - the remote context checked up front (remote, GitHub repository, CI log link);
//   - which branches the remote has, fetching them, its default branch.
import type { ProcessOutput } from 'zx'
import { ciLogUrl } from '../core/ci-runner.mts'
import { UsageError, WorkError } from '../core/cli.mts'
import { git, tokenCredentialEnv, withGitConfig } from '../core/git.mts'
import { headsFromLsRemote, parseLsRemote } from '../core/ls-remote.mts'
import { describeError, parseRepoSlug, repoSlugFromUrl, type RepoSlug } from './github.mts'

/** Who commits when git has no identity: GitHub Actions' own bot. */
export const BOT = { name: 'github-actions[bot]', email: '41898282+github-actions[bot]@users.noreply.github.com' }

/** Names never passed to git: the job's secrets, and overrides of which repository git uses. */
const NOT_FOR_GIT = /TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|(^|_)KEY$|_PAT$|_PEM$|^GIT_(DIR|WORK_TREE|INDEX_FILE|COMMON_DIR|OBJECT_DIRECTORY|ALTERNATE_OBJECT_DIRECTORIES|NAMESPACE|CEILING_DIRECTORIES)$/

/**
 * The hardened env of a bot's git commands: the job's env without its secrets (a command
 * git starts cannot leak what it never had) and without overrides of which repository
 * git uses, no editor, and command-line config that turns off what runs commands from a
 * repository: the file system monitor, hooks, submodule recursion, the `ext::` transport.
 * (Diff and merge drivers: the bots' commands never run them; `--no-ext-diff
 * --no-textconv` where a diff is made.) No token: see `remoteGitEnv`.
 */
export function hardenedGitEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kept = Object.fromEntries(Object.entries(env).filter(([name]) => !NOT_FOR_GIT.test(name)))
  const hardened = withGitConfig(kept, [
    ['core.fsmonitor', 'false'],
    ['core.hooksPath', '/dev/null'],
    ['core.untrackedCache', 'false'],
    ['submodule.recurse', 'false'],
    ['diff.ignoreSubmodules', 'all'],
    ['status.submoduleSummary', 'false'],
    ['protocol.ext.allow', 'never'],
  ])
  return { ...hardened, GIT_EDITOR: 'true' }
}

/** Name and email of a `git var GIT_*_IDENT` line. */
export function parseIdent(line: string): { name: string; email: string } | undefined {
  const match = /^(.*) <([^<>]*)> \d+ [+-]\d{4}$/.exec(line.trim())
  return match ? { name: match[1], email: match[2] } : undefined
}

/**
 * Author and committer as the user's git would set them (read in the checkout at `root`),
 * else the Actions bot (a bare CI runner has no identity).
 */
async function identityEnv(root: string, env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  const out: NodeJS.ProcessEnv = {}
  for (const role of ['AUTHOR', 'COMMITTER'] as const) {
    const ident = await git(root, env)`git var ${`GIT_${role}_IDENT`}`.nothrow()
    const parsed = ident.ok ? parseIdent(ident.stdout) : undefined
    out[`GIT_${role}_NAME`] = parsed?.name ?? env.GIT_COMMITTER_NAME ?? BOT.name
    out[`GIT_${role}_EMAIL`] = parsed?.email ?? env.GIT_COMMITTER_EMAIL ?? BOT.email
  }
  return out
}

/**
 * The env of every local git command of a bot: hardened (`hardenedGitEnv`), with the
 * identity the user's git has at `root`, else the bot's. It holds no token.
 */
export async function botGitEnv(root: string, env: NodeJS.ProcessEnv = process.env): Promise<NodeJS.ProcessEnv> {
  const hardened = hardenedGitEnv(env)
  return { ...hardened, ...(await identityEnv(root, hardened)) }
}

/**
 * The env of the commands that talk to the remote at `url` (`ls-remote`, `fetch`,
 * `push`): the bot's env plus the token through a credential helper that answers for
 * that host alone (never argv, URLs or config). No token: git uses whatever credentials
 * the user has.
 */
export function remoteGitEnv(env: NodeJS.ProcessEnv, token: string | undefined, url: string): NodeJS.ProcessEnv {
  return token ? tokenCredentialEnv(token, url, env) : env
}

/** What any job that pushes to the remote and talks to GitHub needs (cherry-pick, update-generated). */
export interface RemoteContext {
  /** The user's repository: only fetched into, never checked out or changed otherwise. */
  root: string
  remote: string
  repo: RepoSlug
  /** The env of local git commands: see `botGitEnv` (no token). */
  env: NodeJS.ProcessEnv
  /** The env of the commands that reach the remote: see `remoteGitEnv` (the token). */
  remoteEnv: NodeJS.ProcessEnv
  /** The CI log, linked from failure comments. */
  logUrl?: string
}

/** The part of a RemoteContext that plain git needs. */
export type RemoteGit = Pick<RemoteContext, 'root' | 'remote' | 'env' | 'remoteEnv'>

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
  const local = await botGitEnv(options.root, env)
  // The token's helper answers only for the remote's host (`url`, as `git remote get-url` expands it).
  const remoteEnv = remoteGitEnv(local, options.token, url.stdout.trim())
  return { root: options.root, remote: options.remote, repo, env: local, remoteEnv, logUrl: ciLogUrl(env) }
}

export const NO_GITHUB_REPO = 'cannot tell the GitHub repository from the remote URL: pass --github-repo owner/name (or set GITHUB_REPOSITORY)'

/** The GitHub repository: `--github-repo` / GITHUB_REPOSITORY when given, else read from the remote's URL. */
export function githubRepoOf(given: string | undefined, remoteUrl: string): RepoSlug | undefined {
  return given ? parseRepoSlug(given, 'the GitHub repository (--github-repo or GITHUB_REPOSITORY)') : repoSlugFromUrl(remoteUrl)
}

/**
 * The default branch from `git ls-remote --symref <remote> HEAD` (its output and whether
 * it succeeded), or a WorkError saying to set `defaultBranch` in build.config.json.
 */
export function defaultBranchFromLsRemote(out: ProcessOutput, remote: string): string {
  const head = parseLsRemote(out.stdout).head
  if (!head) {
    const why = out.ok ? 'it names no HEAD' : describeError(out)
    throw new WorkError(`cannot tell the default branch of ${remote} (${why}): set "defaultBranch" in build.config.json`)
  }
  return head
}

/** branch -> sha for those of `branches` that exist on the remote. One `git ls-remote`. */
export async function remoteBranches(ctx: RemoteGit, branches: string[]): Promise<Map<string, string>> {
  if (!branches.length) return new Map()
  const out = await git(ctx.root, ctx.remoteEnv)`git ls-remote --heads ${ctx.remote} ${branches.map((b) => `refs/heads/${b}`)}`
  return headsFromLsRemote(out.stdout, branches)
}

/** Update `<remote>/<branch>` for each branch (unshallowing once if the clone is shallow). */
export async function fetchBranches(ctx: RemoteGit, branches: string[]): Promise<void> {
  const shallow = (await git(ctx.root)`git rev-parse --is-shallow-repository`).stdout.trim() === 'true'
  const refspecs = [...new Set(branches)].map((b) => `+refs/heads/${b}:refs/remotes/${ctx.remote}/${b}`)
  await git(ctx.root, ctx.remoteEnv)`git fetch --quiet --no-tags ${shallow ? ['--unshallow'] : []} ${ctx.remote} ${refspecs}`
}
