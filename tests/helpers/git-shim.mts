// A `git` in front of the real one on PATH, for tests that need to see or stop what a
// script runs: it logs every invocation's argv to $GIT_ARGV_LOG (one spawn point to
// inspect), and with $GIT_SHIM_PAUSE set, parks the first git command whose argv starts
// with $GIT_SHIM_PAUSE_ON (default `cherry-pick -x`), writing its pid and cwd to the
// $GIT_SHIM_PAUSE file, so a test can interrupt the script at that exact point.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { tempDir, writeFiles } from './repo.mts'

export interface GitShim {
  /** The directory to put first on PATH. */
  bin: string
  /** Where every git invocation's argv is logged (when GIT_ARGV_LOG names it). */
  log: string
}

export function gitShim(): GitShim {
  const bin = tempDir('cbs-shim-')
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim()
  const script = [
    '#!/bin/sh',
    'printf \'%s\\n\' "git $*" >> "$GIT_ARGV_LOG"',
    'if [ -n "$GIT_SHIM_PAUSE" ]; then',
    '  case "$*" in',
    '    "${GIT_SHIM_PAUSE_ON:-cherry-pick -x}"*)',
    '      printf \'%s %s\\n\' "$$" "$(pwd)" > "$GIT_SHIM_PAUSE.tmp" && mv "$GIT_SHIM_PAUSE.tmp" "$GIT_SHIM_PAUSE"',
    '      exec sleep 60',
    '      ;;',
    '  esac',
    'fi',
    `exec ${realGit} "$@"`,
  ].join('\n')
  writeFiles(bin, { git: { content: script + '\n', mode: 0o755 } })
  return { bin, log: path.join(bin, 'argv.log') }
}

/** The pid and working directory of the git command the shim parked (once it has). */
export function pausedGit(pauseFile: string): { pid: number; cwd: string } | undefined {
  if (!fs.existsSync(pauseFile)) return undefined
  const [pid, ...cwd] = fs.readFileSync(pauseFile, 'utf8').trim().split(' ')
  return { pid: Number(pid), cwd: cwd.join(' ') }
}
