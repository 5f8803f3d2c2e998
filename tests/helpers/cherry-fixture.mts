// A small cherry-pick scene for the reliability tests: the shared remote scene
// (tests/helpers/remote-scene.mts) with a release branch and a merged pull request.
import fs from 'node:fs'
import path from 'node:path'
import type { GitHubServer } from './github-server.mts'
import { cloneCheckout, remoteScene, standInEnv, type RemoteScene } from './remote-scene.mts'
import { git } from './repo.mts'

/** The shared scene (name, bare, checkout, and the developer's clone), and the merged pull request. */
export interface PickFixture extends RemoteScene {
  /** The merged pull request. */
  pr: number
}

let counter = 0

/**
 * main and release-1.0 on the remote, and PR "Fix two" (one commit, changing a line of
 * app.txt) squash-merged into main. With `conflict`, release-1.0 changed the same line.
 */
export async function pickFixture(gh: GitHubServer, options: { conflict?: boolean } = {}): Promise<PickFixture> {
  const scene = remoteScene(gh, {
    name: `acme/rel-${process.pid}-${++counter}`,
    branches: {
      'release-1.0': options.conflict ? [{ files: { 'app.txt': 'one\ntwo on 1.0\nthree\n' }, message: 'release change' }] : [],
      fix: [{ files: { 'app.txt': 'one\nTWO\nthree\n' }, message: 'Fix two' }],
    },
    access: { collaborators: ['alice'] },
    clone: false,
  })
  const pr = await gh.openPullRequest(scene.name, { head: 'fix', base: 'main', title: 'Fix two', user: 'alice' })
  await gh.mergePullRequest(scene.name, pr.number, 'squash')
  cloneCheckout(gh, scene)
  return { ...scene, pr: pr.number }
}

/** The env cherry-pick runs with against the stand-in: a bare CI runner, none of the outer CI's variables. */
export function pickEnv(gh: GitHubServer, f: Pick<PickFixture, 'name'>, token: string): NodeJS.ProcessEnv {
  return standInEnv(gh, f.name, token)
}

/** Everything about a checkout that a pick must leave alone. */
export function checkoutState(checkout: string) {
  const admin = path.join(checkout, '.git', 'worktrees')
  return {
    branch: git(checkout, 'symbolic-ref', '--short', 'HEAD'),
    head: git(checkout, 'rev-parse', 'HEAD'),
    status: git(checkout, 'status', '--porcelain', '--untracked-files=all'),
    cherryPickHead: fs.existsSync(path.join(checkout, '.git', 'CHERRY_PICK_HEAD')),
    worktrees: git(checkout, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree ')),
    worktreeAdmin: fs.existsSync(admin) ? fs.readdirSync(admin) : [],
    branches: git(checkout, 'branch', '--list', '--format=%(refname)'),
  }
}
