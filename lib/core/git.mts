// Git helpers. Every call runs in the C locale (so messages can be matched), never
// prompts for credentials, and takes its arguments as an array (zx quotes each one).
import { createHash } from 'node:crypto'
import { $, fs, os, path, ProcessOutput, type Shell } from 'zx'
import { UsageError } from './cli.mts'
import { onInterrupt } from './interrupts.mts'

export const gitEnv = (env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv => ({
  ...env,
  LC_ALL: 'C',
  LANG: 'C',
  LANGUAGE: 'C',
  GIT_TERMINAL_PROMPT: '0',
})

/** A `$` bound to a directory, quiet, in the C locale: `await git(dir)\`git status\``. */
export function git(cwd: string, env?: NodeJS.ProcessEnv): Shell {
  return $({ cwd, quiet: true, env: gitEnv(env) })
}

export interface RepoInfo {
  root: string
  objectFormat: 'sha1' | 'sha256'
}

/** The repository that contains `dir`, like git itself finds it. Exit 2 when there is none. */
export async function repoInfo(dir: string): Promise<RepoInfo> {
  try {
    const out = await git(dir)`git rev-parse --show-toplevel --show-object-format`
    const [root, format] = out.stdout.trim().split('\n')
    return { root, objectFormat: format === 'sha256' ? 'sha256' : 'sha1' }
  } catch (error) {
    if (error instanceof ProcessOutput || (error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UsageError(`not a git repository: ${dir} (run inside a checkout, or pass --repo DIR)`)
    }
    throw error
  }
}

/** Files git would see: tracked, plus untracked files that are not ignored. One process. */
export async function listWorktreeFiles(root: string): Promise<string[]> {
  const out = await git(root)`git ls-files -z --cached --others --exclude-standard`
  return [...new Set(out.stdout.split('\0').filter(Boolean))]
}

/**
 * Blob ids of working-tree files, as `git add` would store them (clean filters and
 * line-ending rules applied). One `git hash-object` process for any number of files.
 */
export async function hashFiles(root: string, paths: string[]): Promise<Map<string, string>> {
  if (paths.length === 0) return new Map()
  const bad = paths.find((p) => p.includes('\n'))
  if (bad) throw new UsageError(`cannot hash a path with a newline in it: ${JSON.stringify(bad)}`)
  const out = await git(root)({ input: paths.join('\n') + '\n' })`git hash-object --stdin-paths`
  const ids = out.stdout.trim().split('\n')
  return new Map(paths.map((p, i) => [p, ids[i]]))
}

/** The object id git gives a blob with this content (what `git hash-object --stdin` prints). */
export function blobId(content: string | Buffer, format: RepoInfo['objectFormat'] = 'sha1'): string {
  const body = typeof content === 'string' ? Buffer.from(content) : content
  return createHash(format)
    .update(`blob ${body.length}\0`)
    .update(body)
    .digest('hex')
}

const C_ESCAPES: Record<number, string> = { 7: 'a', 8: 'b', 9: 't', 10: 'n', 11: 'v', 12: 'f', 13: 'r', 34: '"', 92: '\\' }

/**
 * Quote a path exactly as git does in `ls-tree`/`ls-files` output with the default
 * core.quotePath: C-style escapes, octal for control characters and non-ASCII bytes,
 * and double quotes around the whole only when something needed escaping.
 */
export function quoteGitPath(p: string): string {
  let quoted = ''
  let needed = false
  for (const byte of Buffer.from(p)) {
    if (C_ESCAPES[byte]) {
      quoted += '\\' + C_ESCAPES[byte]
      needed = true
    } else if (byte < 0x20 || byte >= 0x7f) {
      quoted += '\\' + byte.toString(8).padStart(3, '0')
      needed = true
    } else quoted += String.fromCharCode(byte)
  }
  return needed ? `"${quoted}"` : p
}

/** Compare two paths byte by byte (git's order), not by UTF-16 code units. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

/**
 * Add git config for child processes through the environment (GIT_CONFIG_COUNT /
 * GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n), so nothing lands in argv. Entries already in
 * `env` are kept; these come after them and so win.
 */
export function withGitConfig(env: NodeJS.ProcessEnv, entries: Array<[key: string, value: string]>): NodeJS.ProcessEnv {
  const out = { ...env }
  let n = Number(env.GIT_CONFIG_COUNT) || 0
  for (const [key, value] of entries) {
    out[`GIT_CONFIG_KEY_${n}`] = key
    out[`GIT_CONFIG_VALUE_${n}`] = value
    n++
  }
  out.GIT_CONFIG_COUNT = String(n)
  return out
}

/**
 * An env in which git authenticates HTTPS fetches and pushes to `url`'s host with
 * `token`: the only credential helper is a shell function that prints the token from an
 * env var, configured for that scheme, host and port alone (`credential.<origin>.helper`),
 * so a request to any other host (a rewritten URL, a redirect, a submodule) gets nothing.
 * The token is never in argv, in a remote URL or in git's config files. The username
 * `x-access-token` is what GitHub expects for App and Actions tokens (PATs ignore it).
 * A `url` that is not http(s) gets no helper: the token is only ever sent over HTTP(S).
 */
export function tokenCredentialEnv(token: string, url: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const helper = '!f() { test "$1" = get || return 0; echo username=x-access-token; echo "password=$GIT_HTTP_TOKEN"; }; f'
  const origin = httpOrigin(url)
  // The empty value first clears helpers from the user's config (a keychain must not answer instead).
  const entries: Array<[string, string]> = [['credential.helper', '']]
  if (origin) entries.push([`credential.${origin}.helper`, helper])
  return { ...withGitConfig(env, entries), GIT_HTTP_TOKEN: token }
}

/** `https://host[:port]` of an http(s) URL (credentials dropped); undefined for any other URL. */
export function httpOrigin(url: string): string | undefined {
  try {
    const parsed = new URL(url.trim())
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? `${parsed.protocol}//${parsed.host}` : undefined
  } catch {
    return undefined
  }
}

export interface TempWorktree {
  /** The worktree's directory (a fresh temp dir). */
  dir: string
  /** `git(dir)` for this worktree; commands still running are stopped on interrupt. */
  git: Shell
  /** Remove the worktree and its directory (idempotent). */
  remove(): Promise<void>
}

/**
 * A detached worktree of `root` at `commit`, in a temp directory, so work (a cherry-pick,
 * a generated-files commit) never touches the user's branch, index or files. It is
 * removed by `remove()`, and on SIGINT/SIGTERM (after stopping the command running in it).
 */
export async function addTempWorktree(root: string, commit: string, env?: NodeJS.ProcessEnv): Promise<TempWorktree> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'worktree-'))
  // Commands run in their own process group, so an interrupt can stop a command and its children.
  const running = new AbortController()
  const remove = onInterrupt(async () => {
    running.abort()
    await git(root)`git worktree remove --force --force ${dir}`.nothrow()
    await fs.rm(dir, { recursive: true, force: true })
    await git(root)`git worktree prune`.nothrow()
  })
  try {
    await git(root, env)`git worktree add --detach ${dir} ${commit}`
  } catch (error) {
    await remove()
    throw error
  }
  return { dir, git: $({ cwd: dir, quiet: true, env: gitEnv(env), signal: running.signal, detached: true }), remove }
}
