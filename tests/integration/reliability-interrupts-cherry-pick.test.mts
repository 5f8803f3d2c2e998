// cherry-pick under SIGINT and SIGTERM at several points: the git shim (tests/helpers/
// git-shim.mts) parks one git command (the fetch, the pick, the push, the abort of a
// conflicting pick) and the script is interrupted there. The user's checkout must be
// exactly as before: same branch and commit, clean status, no CHERRY_PICK_HEAD, no extra
// worktree; nothing in TMPDIR; no branch pushed. (SIGINT mid-pick, with the parked git
// stopped: cherry-pick.test.mts › 'Ctrl-C mid-pick stops git, ...'.)
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkoutState, pickEnv, pickFixture } from '../helpers/cherry-fixture.mts'
import { gitShim, pausedGit } from '../helpers/git-shim.mts'
import { type GitHubServer } from '../helpers/github-server.mts'
import { useGitHubServer } from '../helpers/remote-scene.mts'
import { leftInTmp, scriptTmpDir } from '../helpers/leftovers.mts'
import { git } from '../helpers/repo.mts'
import { runScript } from '../helpers/run.mts'

// The suite's own token (vitest.config.mts): the secrets check of runScript watches it.
const TOKEN = process.env.GITHUB_TOKEN!

let gh: GitHubServer
useGitHubServer({ [TOKEN]: 'cherry-bot' }, (s) => (gh = s))

/** Whether a cherry-pick is stopped half-way in this checkout or worktree. */
function pickInProgress(dir: string): boolean {
  try {
    return git(dir, 'rev-parse', '-q', '--verify', 'CHERRY_PICK_HEAD') !== ''
  } catch {
    return false
  }
}

const POINTS = [
  // [where, the git command parked, a conflicting release branch]
  ['fetching the branches', 'fetch', false],
  ['picking', 'cherry-pick -x', false],
  ['pushing the picked branch', 'push', false],
  ['aborting a conflicting pick', 'cherry-pick --abort', true],
] as const

const SIGNALS = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const

// Each case has its own remote, checkout and shim: they run concurrently.
describe.concurrent('cherry-pick interrupted', () => {
  const cases = POINTS.flatMap(([where, command, conflict]) => SIGNALS.map(([signal, code]) => [signal, where, command, conflict, code] as const))

  it.each(cases)('%s while %s: the checkout as it was, nothing left, exit 130/143', async (signal, _where, command, conflict, code) => {
    const f = await pickFixture(gh, { conflict })
    const shim = gitShim()
    const pause = path.join(shim.bin, 'paused')
    const tmp = scriptTmpDir()
    const before = checkoutState(f.checkout)
    expect(before).toMatchObject({ branch: 'main', status: '', cherryPickHead: false, worktrees: [expect.any(String)], worktreeAdmin: [] })

    let parked: ReturnType<typeof pausedGit>
    let inWorktree: { cherryPickHead: boolean } | undefined
    const run = await runScript('cherry-pick', ['--pr', String(f.pr), '--to', 'release-1.0'], {
      cwd: f.checkout,
      env: {
        ...pickEnv(gh, f, TOKEN),
        TMPDIR: tmp,
        PATH: `${shim.bin}:${process.env.PATH}`,
        GIT_ARGV_LOG: shim.log,
        GIT_SHIM_PAUSE: pause,
        GIT_SHIM_PAUSE_ON: command,
      },
      onSpawn: (child) => {
        const timer = setInterval(() => {
          parked = pausedGit(pause)
          if (!parked) return
          clearInterval(timer)
          // At the conflict, the pick stopped half-way in the temporary worktree (never in the checkout).
          if (conflict) inWorktree = { cherryPickHead: pickInProgress(parked.cwd) }
          child.kill(signal)
        }, 20)
        child.on('exit', () => clearInterval(timer))
      },
    })

    expect(parked, `git ${command} never ran:\n${run.stderr}`).toBeDefined()
    // Before any undo step is registered (the fetch), the signal's default action ends the
    // process: a shell reports that as 130/143 too.
    expect(run.exitCode === code || run.signal === signal, `exit ${run.exitCode} signal ${run.signal}\n${run.stderr}`).toBe(true)
    if (conflict) expect(inWorktree).toEqual({ cherryPickHead: true })
    if (command !== 'fetch') {
      expect(parked!.cwd).not.toBe(f.checkout)
      expect(fs.existsSync(parked!.cwd)).toBe(false) // the temporary worktree is gone
    }
    expect(checkoutState(f.checkout)).toEqual(before)
    expect(leftInTmp(tmp), 'temp files left behind').toEqual([])
    expect(git(f.bare, 'branch', '--list', 'cherry-pick/*')).toBe('')
    expect((await gh.pulls(f.name)).filter((p) => p.head.ref.startsWith('cherry-pick/'))).toEqual([])

    // The parked git is stopped with the script (except the fetch: see above); stop it here in any case.
    try {
      process.kill(parked!.pid, 'SIGKILL')
    } catch {
      // gone already
    }
  })
})
