// Real git repositories in temp directories, removed after the test file.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll } from 'vitest'

const made: string[] = []
afterAll(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

/** A fresh temp directory, removed after the test file. */
export function tempDir(prefix = 'cbs-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  made.push(dir)
  return dir
}

export const GIT_ENV = {
  ...process.env,
  LC_ALL: 'C',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
}

/** Run git in `cwd` and return its trimmed stdout; throws on failure. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim()
}

export type FileSpec = string | { content: string; mode?: number } | { symlink: string }

/** Write files (creating directories) into `root`. */
export function writeFiles(root: string, files: Record<string, FileSpec>): void {
  for (const [name, spec] of Object.entries(files)) {
    const full = path.join(root, name)
    fs.mkdirSync(path.dirname(full), { recursive: true })
    fs.rmSync(full, { force: true })
    if (typeof spec === 'string') fs.writeFileSync(full, spec)
    else if ('symlink' in spec) fs.symlinkSync(spec.symlink, full)
    else {
      fs.writeFileSync(full, spec.content)
      if (spec.mode !== undefined) fs.chmodSync(full, spec.mode)
    }
  }
}

/**
 * A git repository on branch `main` with `files` committed (and `config` written as
 * build.config.json when given). Returns its path.
 */
export function makeRepo(files: Record<string, FileSpec>, config?: unknown): string {
  const root = tempDir('cbs-repo-')
  git(root, 'init', '-q', '-b', 'main')
  writeFiles(root, files)
  if (config !== undefined) writeFiles(root, { 'build.config.json': JSON.stringify(config, null, 2) + '\n' })
  git(root, 'add', '-A')
  git(root, 'commit', '-q', '-m', 'initial')
  return root
}
