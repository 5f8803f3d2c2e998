// The bot that keeps generated files current: the logic behind scripts/update-generated.mts.
// The generator is code the job does not control (a tool, a dependency of one), so it
// never meets git data or the token:
//   - the bot's git works in a scratch repository of its own (`openBotRepo`): a bare git
//     dir in a temp directory, config written by `git init` alone, fetched into with
//     `--depth=1`. The user's checkout is read once, before any generator runs (the
//     remote's URL, the object format, the identity) and never written;
//   - per `generated` entry: the default branch's tree is exported to a temp directory
//     with no `.git` at all (`git read-tree -u` into a throwaway index); the command runs
//     there, in the build image (lib/runner/container.mts), with nothing else mounted;
//   - what changed (`git status` with an explicit git dir, work tree and index): outside
//     the entry's `paths` fails, so does anything there that is not a regular file;
//   - only those regular files are taken in (`git add` of exactly those paths); the tree
//     becomes one commit on the default branch (`git commit-tree`: no hooks), pushed to
//     update-generated/<name> when its content differs; one pull request per name;
//   - no change: the open pull request for that name is closed, the branch deleted.
// Every git command runs with an explicit git dir (and work tree), `core.fsmonitor=false`,
// no hooks, and without the job's secrets in its env. The token is handed only to the
// commands that talk to the remote (`ls-remote`, `fetch`, `push`), always with its URL
// spelled out, through a credential helper that answers for that host alone (never argv,
// URLs or config). The GitHub API goes through Octokit.
import { $, fs, os, path, type Shell } from 'zx'
import { commandFor, UsageError, WorkError } from '../core/cli.mts'
import { interrupted, onInterrupt } from '../core/interrupts.mts'
import { code, describeError, type Octokit, type RepoSlug } from './github.mts'
import { botGitEnv, defaultBranchFromLsRemote, remoteGitEnv } from './remote.mts'
import { headsFromLsRemote } from '../core/ls-remote.mts'
import type { Config, GeneratedFile } from '../core/config.mts'
import { runSteps } from '../runner/container.mts'
import { git, gitEnv } from '../core/git.mts'
import { globMatcher } from '../core/globs.mts'
import { holdsSecret, info, registerSecret, warn } from '../core/log.mts'
import { passThroughEnv } from '../runner/steps.mts'

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

export interface GeneratedContext {
  /** The scratch repository all git work happens in (see `openBotRepo`). */
  bot: BotRepo
  /** The GitHub repository and client; absent only with --dry-run (nothing is written). */
  repo?: RepoSlug
  github?: Octokit
  logUrl?: string
  /** The default branch: where the commands run, and the pull requests' base. */
  base: string
  /** Its commit, fetched before any command ran (see `fetchBase`). */
  baseCommit: string
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

/** The env vars whose values are this run's secrets, whatever names they travel under too. */
const SECRET_VARS = ['GITHUB_TOKEN', 'GH_TOKEN', 'REGISTRY_PASSWORD']

/**
 * The env var names the commands' container gets: CI's own and `steps.env`, as for the
 * test and build steps, but never a secret this run holds, under any name: a variable
 * whose value holds the push token, the registry password (CI often sets both to the same
 * token) or any secret registered so far is dropped, saying so. `steps.env` must name
 * each variable here (a `PREFIX*` would pass whatever the job's env has): exit 2.
 */
export function generatorEnv(env: NodeJS.ProcessEnv, config: Pick<Config, 'steps'>): string[] {
  const pattern = config.steps.env.find((name) => name.includes('*'))
  if (pattern) {
    throw new UsageError(`steps.env: ${JSON.stringify(pattern)} would hand the generated commands every variable it matches, secrets included; update-generated takes exact names: list them`)
  }
  for (const name of SECRET_VARS) registerSecret(env[name])
  const names = passThroughEnv(env, config.steps.env)
  const secret = names.filter((name) => SECRET_VARS.includes(name) || holdsSecret(env[name] ?? ''))
  for (const name of secret) if (!SECRET_VARS.includes(name)) warn(`not passing ${name} to the generated commands: its value is a secret this run holds`)
  return names.filter((name) => !secret.includes(name))
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
    `Opened by ${code(commandFor('update-generated'))}${logUrl ? ` (${logUrl})` : ''}. Each run updates this pull request; when the command no longer changes anything, it is closed.`,
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

// --- the scratch repository ----------------------------------------------------------------

/** A bare git dir in a temp directory: every git command of the bot runs on it. */
export interface BotRepo {
  /** The temp directory holding the git dir and each entry's export. */
  dir: string
  gitDir: string
  /** The remote's URL (`git remote get-url`, read before any generator ran): every fetch and push names it. */
  url: string
  /** Env of the local git commands: no token, nothing that runs commands (see `botGitEnv`). */
  env: NodeJS.ProcessEnv
  /** Env of `ls-remote`, `fetch` and `push` to `url`: the token's helper for that host alone. */
  remoteEnv: NodeJS.ProcessEnv
  /** Remove the temp directory (idempotent; also on SIGINT/SIGTERM). */
  remove(): Promise<void>
}

/** `git --git-dir=<bot> [--work-tree=<dir>]`, quiet, in the C locale, with the bot's env. */
function botGit(bot: BotRepo, options: { workTree?: string; index?: string; input?: string; remote?: boolean } = {}): { $: Shell; dirs: string[] } {
  const env = { ...(options.remote ? bot.remoteEnv : bot.env), ...(options.index ? { GIT_INDEX_FILE: options.index } : {}) }
  return {
    $: $({ cwd: options.workTree ?? bot.dir, quiet: true, env: gitEnv(env), input: options.input }),
    dirs: [`--git-dir=${bot.gitDir}`, ...(options.workTree ? [`--work-tree=${options.workTree}`] : [])],
  }
}

/**
 * The scratch repository, set up before any generator runs: the remote's URL, object
 * format and identity are read from the checkout at `root` (which is not written), then
 * `git init --bare` in a temp directory. `token` (absent for --dry-run: git uses the
 * user's own credentials) goes into `remoteEnv` only.
 */
export async function openBotRepo(options: { root: string; remote: string; token?: string; env: NodeJS.ProcessEnv }): Promise<BotRepo> {
  const local = await botGitEnv(options.root, options.env)
  const url = await git(options.root, local)`git remote get-url ${options.remote}`.nothrow()
  if (!url.ok) throw new UsageError(`no git remote ${JSON.stringify(options.remote)} in ${options.root} (pass --remote NAME)`)
  const format = (await git(options.root, local)`git rev-parse --show-object-format`).stdout.trim()
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'update-generated-'))
  const remove = onInterrupt(() => fs.rm(dir, { recursive: true, force: true }))
  const gitDir = path.join(dir, 'repo.git')
  try {
    await git(dir, local)`git init --quiet --bare ${`--object-format=${format}`} ${gitDir}`
  } catch (error) {
    await remove()
    throw error
  }
  const remoteUrl = url.stdout.trim()
  return { dir, gitDir, url: remoteUrl, env: local, remoteEnv: remoteGitEnv(local, options.token, remoteUrl), remove }
}

/** `<branch> -> sha` for those of `branches` the remote has (`git ls-remote`). */
export async function remoteHeads(bot: BotRepo, branches: string[]): Promise<Map<string, string>> {
  const { $: run, dirs } = botGit(bot, { remote: true })
  const out = await run`git ${dirs} ls-remote --heads ${bot.url} ${branches.map((b) => `refs/heads/${b}`)}`
  return headsFromLsRemote(out.stdout, branches)
}

/** Fetch `branch`'s tip alone (`--depth=1`: its tree is all the bot needs) into `ref`; its commit. */
async function fetchTip(bot: BotRepo, branch: string, ref: string): Promise<string> {
  const { $: run, dirs } = botGit(bot, { remote: true })
  await run`git ${dirs} fetch --quiet --no-tags --no-write-fetch-head --depth=1 ${bot.url} ${`+refs/heads/${branch}:${ref}`}`
  return (await botGit(bot).$`git ${botGit(bot).dirs} rev-parse --verify ${`${ref}^{commit}`}`).stdout.trim()
}

/**
 * The default branch: `defaultBranch` from the config, else the remote's HEAD
 * (`git ls-remote --symref`, with the job's credentials).
 */
export async function defaultBranch(bot: BotRepo, configured?: string): Promise<string> {
  if (configured) return configured
  const { $: run, dirs } = botGit(bot, { remote: true })
  return defaultBranchFromLsRemote(await run`git ${dirs} ls-remote --symref ${bot.url} HEAD`.nothrow(), bot.url)
}

/** Fetch the default branch's tip and detach the bot's HEAD there: every entry starts from it. */
export async function fetchBase(bot: BotRepo, base: string): Promise<string> {
  const commit = await fetchTip(bot, base, 'refs/bot/base')
  await botGit(bot).$`git ${botGit(bot).dirs} update-ref --no-deref HEAD ${commit}`
  return commit
}

// --- one entry -------------------------------------------------------------------------------

/** The command failed, or changed files it may not: the entry fails, nothing is pushed. */
class GeneratedFailure extends Error {
  readonly files: string[]
  constructor(message: string, files: string[]) {
    super(message)
    this.files = files
  }
}

/** An entry's export of the default branch: files only, no git data; its index lives beside it. */
interface Export {
  dir: string
  index: string
}

async function exportTree(ctx: GeneratedContext, name: string): Promise<Export> {
  const dir = await fs.mkdtemp(path.join(ctx.bot.dir, `${name}-`))
  const index = `${dir}.index`
  const { $: run, dirs } = botGit(ctx.bot, { workTree: dir, index })
  await run`git ${dirs} read-tree --reset -u ${ctx.baseCommit}`
  return { dir, index }
}

/** What `git status` sees changed in the export: tracked and untracked, ignored files aside. */
async function changedPaths(ctx: GeneratedContext, tree: Export): Promise<string[]> {
  const { $: run, dirs } = botGit(ctx.bot, { workTree: tree.dir, index: tree.index })
  const out = await run`git ${dirs} status --porcelain=v1 -z --untracked-files=all --no-renames --ignore-submodules=all`
  return parseStatusZ(out.stdout)
}

/**
 * Run the entry's command in the build image on the export; return the files it changed
 * (tracked or new; ignored files do not count). Throws GeneratedFailure when the command
 * fails, changes a file outside `paths`, or leaves something there that is not a regular
 * file (a symlink, a directory that is a repository, a device).
 */
async function produce(ctx: GeneratedContext, entry: GeneratedFile, tree: Export): Promise<string[]> {
  // What git already sees as changed before the command runs (line-ending rules, say) is
  // not the command's doing.
  const before = new Set(await changedPaths(ctx, tree))
  // Only the export is mounted: no git data, no host Docker Engine (steps.docker).
  const spec = { image: ctx.image, root: tree.dir, mounts: [] }
  const [result] = await runSteps(spec, [{ name: entry.name, command: entry.command, env: ctx.containerEnv }])
  const changed = (await changedPaths(ctx, tree)).filter((f) => !before.has(f))
  const command = code(entry.command.join(' '))
  if (result.exitCode !== 0) {
    const touched = changed.length ? `; it had changed ${changed.join(', ')}` : ''
    throw new GeneratedFailure(`generated ${JSON.stringify(entry.name)}: ${command} failed with exit code ${result.exitCode}${touched}. Nothing was pushed.`, changed)
  }
  const inPaths = globMatcher(entry.paths)
  const outside = changed.filter((f) => !inPaths(f.replace(/\/$/, '')))
  if (outside.length) {
    throw new GeneratedFailure(
      `generated ${JSON.stringify(entry.name)}: ${command} changed files outside its paths (${entry.paths.join(', ')}): ${outside.join(', ')}. Nothing was pushed: fix the command, or add them to "paths" in build.config.json.`,
      outside,
    )
  }
  const irregular: string[] = []
  for (const file of changed) {
    const stat = await fs.lstat(path.join(tree.dir, file)).catch(() => undefined)
    if (stat && !stat.isFile()) irregular.push(file)
  }
  if (irregular.length) {
    throw new GeneratedFailure(
      `generated ${JSON.stringify(entry.name)}: ${command} left what is not a regular file under its paths: ${irregular.join(', ')}. Only regular files are committed; nothing was pushed.`,
      irregular,
    )
  }
  return changed
}

/** Take exactly `files` (regular files, or deletions) into the index; the new tree and its diff stat. */
async function stage(ctx: GeneratedContext, tree: Export, files: string[]): Promise<{ tree: string; diffStat: string }> {
  const { $: run, dirs } = botGit(ctx.bot, { workTree: tree.dir, index: tree.index, input: files.join('\0') })
  await run`git ${dirs} --literal-pathspecs add --all --pathspec-from-file=- --pathspec-file-nul`
  const bare = botGit(ctx.bot, { index: tree.index })
  const written = (await bare.$`git ${bare.dirs} write-tree`).stdout.trim()
  const diffStat = (await bare.$`git ${bare.dirs} diff --no-ext-diff --no-textconv --stat=100 ${ctx.baseCommit} ${written}`).stdout
  return { tree: written, diffStat }
}

/** The commit of `tree` on the default branch, after checking the bot's HEAD is where it was put. */
async function commitTree(ctx: GeneratedContext, entry: GeneratedFile, tree: string): Promise<string> {
  // Only commit-tree gets the message on stdin: a command that never reads it (rev-parse)
  // can exit before the write, and the write then fails with EPIPE.
  const plain = botGit(ctx.bot)
  const head = (await plain.$`git ${plain.dirs} rev-parse --verify HEAD`).stdout.trim()
  if (head !== ctx.baseCommit) throw new WorkError(`HEAD moved from ${ctx.baseCommit} to ${head} while ${JSON.stringify(entry.name)} ran: nothing was pushed`)
  const { $: run, dirs } = botGit(ctx.bot, { input: commitMessage(entry) })
  return (await run`git ${dirs} commit-tree ${tree} -p ${ctx.baseCommit} -F -`).stdout.trim()
}

const pullRef = (p: { number: number; html_url: string }) => ({ number: p.number, url: p.html_url })

/** The open pull request from update-generated/<name>, if any (whatever its base: one per branch). */
async function findOpenPull(ctx: GeneratedContext, branch: string) {
  const pulls = await ctx.github!.paginate(ctx.github!.rest.pulls.list, { ...ctx.repo!, state: 'open', head: `${ctx.repo!.owner}:${branch}`, per_page: 100 })
  return pulls[0]
}

async function treeOf(ctx: GeneratedContext, rev: string): Promise<string> {
  const { $: run, dirs } = botGit(ctx.bot)
  return (await run`git ${dirs} rev-parse --verify ${`${rev}^{tree}`}`).stdout.trim()
}

/**
 * Push the commit to update-generated/<name> unless the branch still holds what was
 * fetched before the command ran and that has the same content (then it is kept as it
 * is). `--force-with-lease` on the tip just seen: the bot owns the branch, but a
 * concurrent run's push is never overwritten blindly. Returns whether it pushed.
 */
async function pushIfChanged(ctx: GeneratedContext, branch: string, commit: string, fetched: string | undefined): Promise<boolean> {
  const existing = (await remoteHeads(ctx.bot, [branch])).get(branch)
  if (existing && existing === fetched && (await treeOf(ctx, existing)) === (await treeOf(ctx, commit))) return false
  const { $: run, dirs } = botGit(ctx.bot, { remote: true })
  await run`git ${dirs} push --quiet ${`--force-with-lease=refs/heads/${branch}:${existing ?? ''}`} ${ctx.bot.url} ${`${commit}:refs/heads/${branch}`}`
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
  const existing = (await remoteHeads(ctx.bot, [branch])).get(branch)
  if (existing) {
    const { $: run, dirs } = botGit(ctx.bot, { remote: true })
    const deleted = await run`git ${dirs} push --quiet ${`--force-with-lease=refs/heads/${branch}:${existing}`} ${ctx.bot.url} ${`:refs/heads/${branch}`}`.nothrow()
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
  info(`── generated ${entry.name}, on ${ctx.base} (paths: ${entry.paths.join(', ')})`)
  let tree: Export | undefined
  try {
    // The branch as it is now, fetched before the command runs: a re-run with the same output pushes nothing.
    const existing = ctx.dryRun ? undefined : (await remoteHeads(ctx.bot, [branch])).get(branch)
    const fetched = existing ? await fetchTip(ctx.bot, branch, `refs/bot/branches/${entry.name}`) : undefined

    tree = await exportTree(ctx, entry.name)
    result.files = await produce(ctx, entry, tree)

    if (!result.files.length) {
      if (ctx.dryRun) return { ...result, status: 'current', message: `no change (dry run: an open pull request from ${branch} would be closed)` }
      return { ...result, ...(await closeStale(ctx, entry, branch)) }
    }

    const staged = await stage(ctx, tree, result.files)
    result.diffStat = staged.diffStat
    info(result.diffStat.trimEnd())
    if (ctx.dryRun) return { ...result, status: 'changed', message: `dry run: would push ${branch} and open or update its pull request` }

    const commit = await commitTree(ctx, entry, staged.tree)
    const pushed = await pushIfChanged(ctx, branch, commit, fetched)
    const body = pullBody(entry, ctx.base, result.diffStat, ctx.logUrl)
    const { status, pull } = await openOrUpdatePull(ctx, entry, branch, body, pushed)
    return { ...result, status, pull, message: pushed ? `pushed ${branch}` : `${branch} already holds this output` }
  } catch (error) {
    if (interrupted()) throw error
    if (error instanceof GeneratedFailure) return { ...result, files: error.files, message: error.message }
    return { ...result, message: `generated ${JSON.stringify(entry.name)}: ${describeError(error)}` }
  } finally {
    if (tree) {
      await fs.rm(tree.dir, { recursive: true, force: true }).catch((error: unknown) => warn(`could not remove ${tree!.dir}: ${describeError(error)}`))
      await fs.rm(tree.index, { force: true })
    }
  }
}
