// A small cherry-pick scene for the reliability tests: a remote served by the GitHub
// stand-in (git over HTTP needs the token), a checkout of it, a merged pull request.
import fs from 'node:fs'
import path from 'node:path'
import type { GitHubServer } from './github-server.mts'
import { git, tempDir, writeFiles } from './repo.mts'

export interface PickFixture {
  /** `acme/<unique>` */
  name: string
  /** The remote, a bare repository. */
  bare: string
  /** The checkout the script runs in, on main, `origin` pointing at the stand-in. */
  checkout: string
  /** The merged pull request. */
  pr: number
}

let counter = 0

/**
 * main and release-1.0 on the remote, and PR "Fix two" (one commit, changing a line of
 * app.txt) squash-merged into main. With `conflict`, release-1.0 changed the same line.
 */
export async function pickFixture(gh: GitHubServer, options: { conflict?: boolean } = {}): Promise<PickFixture> {
  const name = `acme/rel-${process.pid}-${++counter}`
  const dir = tempDir('cbs-rel-cherry-')
  const bare = path.join(dir, 'remote.git')
  const dev = path.join(dir, 'dev')
  git(dir, 'init', '-q', '--bare', '-b', 'main', bare)
  git(dir, 'init', '-q', '-b', 'main', dev)
  writeFiles(dev, { 'app.txt': 'one\ntwo\nthree\n' })
  git(dev, 'add', '-A')
  git(dev, 'commit', '-q', '-m', 'initial')
  git(dev, 'remote', 'add', 'origin', bare)
  git(dev, 'push', '-q', 'origin', 'main')
  git(dev, 'switch', '-q', '-c', 'release-1.0')
  if (options.conflict) {
    writeFiles(dev, { 'app.txt': 'one\ntwo on 1.0\nthree\n' })
    git(dev, 'commit', '-q', '-am', 'release change')
  }
  git(dev, 'push', '-q', 'origin', 'release-1.0')
  git(dev, 'switch', '-q', '-c', 'fix', 'main')
  writeFiles(dev, { 'app.txt': 'one\nTWO\nthree\n' })
  git(dev, 'commit', '-q', '-am', 'Fix two')
  git(dev, 'push', '-q', 'origin', 'fix')
  const [owner, repo] = name.split('/')
  gh.addRepo({ owner, name: repo, dir: bare, collaborators: ['alice'] })
  const pr = await gh.openPullRequest(name, { head: 'fix', base: 'main', title: 'Fix two', user: 'alice' })
  await gh.mergePullRequest(name, pr.number, 'squash')
  const checkout = path.join(dir, 'checkout')
  git(dir, 'clone', '-q', bare, checkout)
  git(checkout, 'remote', 'set-url', 'origin', gh.gitUrl(name))
  return { name, bare, checkout, pr: pr.number }
}

/** The env cherry-pick runs with against the stand-in: a bare CI runner, none of the outer CI's variables. */
export function pickEnv(gh: GitHubServer, f: PickFixture, token: string): NodeJS.ProcessEnv {
  return {
    LC_ALL: 'C',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GITHUB_TOKEN: token,
    GH_TOKEN: '',
    GITHUB_API_URL: gh.apiUrl,
    GITHUB_REPOSITORY: f.name,
    GITHUB_ACTIONS: '',
    GITHUB_EVENT_PATH: '',
    GITHUB_OUTPUT: '',
    NO_PROXY: '127.0.0.1',
    no_proxy: '127.0.0.1',
  }
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
