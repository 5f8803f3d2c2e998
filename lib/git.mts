// Git helpers. Every call runs in the C locale (so messages can be matched), never
// prompts for credentials, and takes its arguments as an array (zx quotes each one).
import { createHash } from 'node:crypto'
import { $, ProcessOutput, type Shell } from 'zx'
import { UsageError } from './cli.mts'

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
