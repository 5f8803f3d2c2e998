// The bot that keeps generated files current: the logic behind scripts/update-generated.mts.
// Per `generated` entry of build.config.json:
//   1. a temporary worktree at <remote>/<default branch> (the user's checkout is never touched);
//   2. the command, in the build image, with that worktree mounted (lib/image/container.mts);
//   3. what changed (`git status`): outside the entry's `paths` fails, nothing is pushed;
//   4. changes: a commit on update-generated/<name>, pushed only when its content differs
//      from the branch's; one pull request per name, opened or updated;
//   5. no change: the open pull request for that name is closed, the branch deleted.
// Git authenticates with the token through the credential helper of lib/bots/remote.mts's
// `botGitEnv` (never argv, URLs or config); the GitHub API goes through Octokit.
import { UsageError } from '../core/cli.mts'
import { interrupted } from '../core/interrupts.mts'
import { code, describeError, type Octokit, type RepoSlug } from './github.mts'
import { fetchBranches, remoteBranches, type RemoteContext } from './remote.mts'
import type { Config, GeneratedFile } from '../core/config.mts'
import { gitDirsOutside, runSteps } from '../image/container.mts'
import { addTempWorktree, git, type TempWorktree } from '../core/git.mts'
import { globMatcher } from '../core/globs.mts'
import { info, warn } from '../core/log.mts'
import { passThroughEnv } from '../image/steps.mts'

export const BRANCH_PREFIX = 'update-generated/'

export function branchName(name: string): string {
  return `${BRANCH_PREFIX}${name}`
}

export type GeneratedStatus =
  /** Pushed update-generated/<name> (or found it holding this output) and opened its pull request. */
  | 'opened'
  /** New output: the branch was force-pushed and the open pull request's body updated. */
  | 'updated'
  /** The open pull request's branch already holds this output: nothing pushed. */
  | 'unchanged'
  /** No change on the default branch: the stale pull request was closed (and its branch deleted). */
  | 'closed'
  /** No change, and nothing was open. */
  | 'current'
  /** --dry-run: the command changed files; nothing was committed or pushed. */
  | 'changed'
  /** The command failed, or changed files outside its `paths`: nothing was pushed. */
  | 'failed'

export interface GeneratedResult {
  name: string
  status: GeneratedStatus
  branch: string
  command: string[]
  /** The files the command changed (on failure: those outside its paths, else all it changed). */
  files: string[]
  /** `git diff --stat` of the change against the default branch. */
  diffStat?: string
  pull?: { number: number; url: string }
  message?: string
}

export interface GeneratedContext extends Pick<RemoteContext, 'root' | 'remote' | 'env'> {
  /** The GitHub repository and client; absent only with --dry-run (nothing is written). */
  repo?: RepoSlug
  github?: Octokit
  logUrl?: string
  /** The default branch: where the commands run, and the pull requests' base. */
  base: string
  /** The build image the commands run in. */
  image: string
  /** Names of the env vars passed into the commands' container. */
  containerEnv: string[]
  dryRun: boolean
}

// --- pure helpers ------------------------------------------------------------------------

/** The entries to run: all, or the one `--only` names (exit 2 for a name that is not there). */
export function selectGenerated(generated: GeneratedFile[], only: string | undefined): GeneratedFile[] {
  if (only === undefined) return generated
  const entry = generated.find((g) => g.name === only)
  if (!entry) {
    const known = generated.map((g) => g.name).join(', ') || 'none'
    throw new UsageError(`--only: no generated entry named ${JSON.stringify(only)} in build.config.json (known: ${known})`)
  }
  return [entry]
}

/** The paths in `git status --porcelain=v1 -z --no-renames` output (`XY path\0` each). */
export function parseStatusZ(text: string): string[] {
  return text
    .split('\0')
    .filter((entry) => entry.length > 3)
    .map((entry) => entry.slice(3))
}

/**
 * The env var names the commands' container gets: CI's own and `steps.env`, as for the
 * test and build steps, but never the token this job pushes with.
 */
export function generatorEnv(env: NodeJS.ProcessEnv, config: Pick<Config, 'steps'>): string[] {
  return passThroughEnv(env, config.steps.env).filter((name) => name !== 'GITHUB_TOKEN' && name !== 'GH_TOKEN')
}

export function pullTitle(name: string): string {
  return `Update generated files: ${name}`
}

export function commitMessage(entry: GeneratedFile): string {
  return `${pullTitle(entry.name)}\n\nProduced in the build image by:\n\n    ${entry.command.join(' ')}\n`
}

/** The pull request's body: the command that produced the change, and its diff stat. */
export function pullBody(entry: GeneratedFile, base: string, diffStat: string, logUrl?: string): string {
  return [
    `The generated files of ${code(entry.name)} are out of date on ${code(base)}. This pull request brings them up to date.`,
    '',
    'Produced in the build image by:',
    '',
    '```sh',
    entry.command.join(' '),
    '```',
    '',
    `Paths it may change: ${entry.paths.map(code).join(', ')}.`,
    '',
    'Diff stat:',
    '',
    '```',
    diffStat.trimEnd(),
    '```',
    '',
    `Opened by ${code('scripts/update-generated.mts')}${logUrl ? ` (${logUrl})` : ''}. Each run updates this pull request; when the command no longer changes anything, it is closed.`,
  ].join('\n')
}

export function closeComment(entry: GeneratedFile, base: string): string {
  return `${code(entry.command.join(' '))} no longer changes anything on ${code(base)}: the generated files of ${code(entry.name)} are current. Closing; the branch is deleted.`
}

/** One line per entry, for the summary table. */
export function summaryRows(results: GeneratedResult[]): string[][] {
  const rows = [['generated', 'result', 'details']]
  for (const r of results) {
    const details = [r.pull ? `#${r.pull.number} ${r.pull.url}` : '', r.files.length ? r.files.join(', ') : '', r.message ?? '']
    rows.push([r.name, r.status, details.filter(Boolean).join('; ')])
  }
  return rows
}

// --- git and GitHub ------------------------------------------------------------------------

/** The command failed, or changed files it may not: the entry fails, nothing is pushed. */
class GeneratedFailure extends Error {
  readonly files: string[]
  constructor(message: string, files: string[]) {
    super(message)
    this.files = files
  }
}

async function changedPaths(run: TempWorktree['git']): Promise<string[]> {
  return parseStatusZ((await run`git status --porcelain=v1 -z --untracked-files=all --no-renames`).stdout)
}

/**
 * Run the entry's command in the build image on the worktree; return the files it
 * changed (tracked or new; ignored files do not count). Throws GeneratedFailure when the
 * command fails or changes a file outside `paths`.
 */
async function produce(ctx: GeneratedContext, entry: GeneratedFile, worktree: TempWorktree): Promise<string[]> {
  // What git already sees as changed before the command runs (normally nothing, in a
  // fresh worktree) is not the command's doing.
  const before = new Set(await changedPaths(worktree.git))
  // Not the host's Docker Engine (steps.docker): a generator has no business with root on the host.
  const spec = { image: ctx.image, root: worktree.dir, mounts: await gitDirsOutside(worktree.dir) }
  const [result] = await runSteps(spec, [{ name: entry.name, command: entry.command, env: ctx.containerEnv }])
  const changed = (await changedPaths(worktree.git)).filter((f) => !before.has(f))
  const command = code(entry.command.join(' '))
  if (result.exitCode !== 0) {
    const touched = changed.length ? `; it had changed ${changed.join(', ')}` : ''
    throw new GeneratedFailure(`generated ${JSON.stringify(entry.name)}: ${command} failed with exit code ${result.exitCode}${touched}. Nothing was pushed.`, changed)
  }
  const inPaths = globMatcher(entry.paths)
  const outside = changed.filter((f) => !inPaths(f))
  if (outside.length) {
    throw new GeneratedFailure(
      `generated ${JSON.stringify(entry.name)}: ${command} changed files outside its paths (${entry.paths.join(', ')}): ${outside.join(', ')}. Nothing was pushed: fix the command, or add them to "paths" in build.config.json.`,
      outside,
    )
  }
  return changed
}

/** Stage exactly `files` (deletions too) and return the diff stat against the default branch. */
async function stage(worktree: TempWorktree, files: string[]): Promise<string> {
  await worktree.git({ input: files.join('\0') })`git --literal-pathspecs add --all --pathspec-from-file=- --pathspec-file-nul`
  return (await worktree.git`git diff --cached --stat=100 HEAD`).stdout
}

const pullRef = (p: { number: number; html_url: string }) => ({ number: p.number, url: p.html_url })

/** The open pull request from update-generated/<name>, if any (whatever its base: one per branch). */
async function findOpenPull(ctx: GeneratedContext, branch: string) {
  const pulls = await ctx.github!.paginate(ctx.github!.rest.pulls.list, { ...ctx.repo!, state: 'open', head: `${ctx.repo!.owner}:${branch}`, per_page: 100 })
  return pulls[0]
}

async function treeOf(ctx: GeneratedContext, rev: string): Promise<string> {
  return (await git(ctx.root)`git rev-parse --verify ${`${rev}^{tree}`}`).stdout.trim()
}

/**
 * Push the commit to update-generated/<name> unless the branch already holds the same
 * content (then it is kept as it is). `--force-with-lease`: the bot owns the branch, but
 * a concurrent run's push is never overwritten blindly. Returns whether it pushed.
 */
async function pushIfChanged(ctx: GeneratedContext, branch: string, commit: string): Promise<boolean> {
  const existing = (await remoteBranches(ctx, [branch])).get(branch)
  if (existing) {
    await fetchBranches(ctx, [branch])
    if ((await treeOf(ctx, existing)) === (await treeOf(ctx, commit))) return false
  }
  await git(ctx.root, ctx.env)`git push --quiet ${`--force-with-lease=refs/heads/${branch}:${existing ?? ''}`} ${ctx.remote} ${`${commit}:refs/heads/${branch}`}`
  return true
}

/** Open the pull request, or update the open one's body when new output was pushed. */
async function openOrUpdatePull(ctx: GeneratedContext, entry: GeneratedFile, branch: string, body: string, pushed: boolean) {
  const github = ctx.github!
  const open = await findOpenPull(ctx, branch)
  if (open) {
    if (pushed) await github.rest.pulls.update({ ...ctx.repo!, pull_number: open.number, title: pullTitle(entry.name), body })
    return { status: (pushed ? 'updated' : 'unchanged') as GeneratedStatus, pull: pullRef(open) }
  }
  try {
    const created = await github.rest.pulls.create({ ...ctx.repo!, head: branch, base: ctx.base, title: pullTitle(entry.name), body })
    return { status: 'opened' as GeneratedStatus, pull: pullRef(created.data) }
  } catch (error) {
    // 422: a concurrent run opened it meanwhile. Never a second one.
    const raced = (error as { status?: number }).status === 422 ? await findOpenPull(ctx, branch) : undefined
    if (!raced) throw error
    await github.rest.pulls.update({ ...ctx.repo!, pull_number: raced.number, body })
    return { status: 'updated' as GeneratedStatus, pull: pullRef(raced) }
  }
}

/** No change: close the open pull request with a comment, and delete the branch. */
async function closeStale(ctx: GeneratedContext, entry: GeneratedFile, branch: string): Promise<Pick<GeneratedResult, 'status' | 'pull' | 'message'>> {
  const open = await findOpenPull(ctx, branch)
  if (open) {
    await ctx.github!.rest.issues.createComment({ ...ctx.repo!, issue_number: open.number, body: closeComment(entry, ctx.base) })
    await ctx.github!.rest.pulls.update({ ...ctx.repo!, pull_number: open.number, state: 'closed' })
  }
  const existing = (await remoteBranches(ctx, [branch])).get(branch)
  if (existing) {
    const deleted = await git(ctx.root, ctx.env)`git push --quiet ${`--force-with-lease=refs/heads/${branch}:${existing}`} ${ctx.remote} ${`:refs/heads/${branch}`}`.nothrow()
    if (!deleted.ok) warn(`could not delete the branch ${branch}: ${describeError(deleted)}`)
  }
  return open
    ? { status: 'closed', pull: pullRef(open), message: `closed: no change on ${ctx.base}` }
    : { status: 'current', message: existing ? `no change; deleted the stale branch ${branch}` : undefined }
}

/**
 * One entry, start to finish. Never throws for a failing command or an API error (the
 * other entries go on; the result says `failed`), except when interrupted.
 */
export async function updateGenerated(ctx: GeneratedContext, entry: GeneratedFile): Promise<GeneratedResult> {
  const branch = branchName(entry.name)
  const result: GeneratedResult = { name: entry.name, status: 'failed', branch, command: entry.command, files: [] }
  info(`── generated ${entry.name}, on ${ctx.remote}/${ctx.base} (paths: ${entry.paths.join(', ')})`)
  let worktree: TempWorktree | undefined
  try {
    worktree = await addTempWorktree(ctx.root, `refs/remotes/${ctx.remote}/${ctx.base}`, ctx.env)
    result.files = await produce(ctx, entry, worktree)

    if (!result.files.length) {
      if (ctx.dryRun) return { ...result, status: 'current', message: `no change (dry run: an open pull request from ${branch} would be closed)` }
      return { ...result, ...(await closeStale(ctx, entry, branch)) }
    }

    result.diffStat = await stage(worktree, result.files)
    info(result.diffStat.trimEnd())
    if (ctx.dryRun) return { ...result, status: 'changed', message: `dry run: would push ${branch} and open or update its pull request` }

    await worktree.git`git commit --quiet --no-verify ${['-m', commitMessage(entry)]}`
    const commit = (await worktree.git`git rev-parse HEAD`).stdout.trim()
    const pushed = await pushIfChanged(ctx, branch, commit)
    const body = pullBody(entry, ctx.base, result.diffStat, ctx.logUrl)
    const { status, pull } = await openOrUpdatePull(ctx, entry, branch, body, pushed)
    return { ...result, status, pull, message: pushed ? `pushed ${branch}` : `${branch} already holds this output` }
  } catch (error) {
    if (interrupted()) throw error
    if (error instanceof GeneratedFailure) return { ...result, files: error.files, message: error.message }
    return { ...result, message: `generated ${JSON.stringify(entry.name)}: ${describeError(error)}` }
  } finally {
    await worktree?.remove()
  }
}
