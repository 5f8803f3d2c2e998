// The scene the bots' tests share: a remote (a bare repository) with main and release
// branches, served by the GitHub stand-in (git over HTTP, so pushes need the token), a
// developer's clone that pushes to it by path, and the checkout a script runs in, its
// `origin` pointing at the stand-in. Also the env such a script runs with.
import path from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { startGitHubServer, type AddRepoOptions, type GitHubServer } from './github-server.mts'
import { git, tempDir, writeFiles, type FileSpec } from './repo.mts'

/** One commit: files to write (then `git add -A`), and its message. */
export interface Commit {
  files: Record<string, FileSpec>
  message: string
}

export interface RemoteScene {
  /** `acme/<unique>`: the stand-in's name for the repository. */
  name: string
  owner: string
  repo: string
  /** The temp directory holding the rest (and free for a test's own files). */
  dir: string
  /** The remote, a bare repository. */
  bare: string
  /** A developer's clone: makes branches and pushes them (by path, not HTTP). */
  dev: string
  /** Where the script runs (CI's checkout or a laptop's), `origin` over HTTP. */
  checkout: string
}

export interface RemoteSceneOptions {
  /** The exact `owner/name`; default `acme/<prefix><n>`, unique in this file. */
  name?: string
  prefix?: string
  /** main's first commit ("initial") in a new developer repository... */
  files?: Record<string, FileSpec>
  /** ...or an existing repository on main to be the developer's clone. */
  dev?: string
  /** Branches made from main and pushed before the checkout is cloned, with their commits. */
  branches?: Record<string, Commit[]>
  /** Who has access (addRepo's collaborators, members, roles). */
  access?: Omit<AddRepoOptions, 'owner' | 'name' | 'dir'>
  /** false: the checkout is not cloned yet; call cloneCheckout() (after making PRs, say). */
  clone?: boolean
}

let counter = 0

/**
 * Start the stand-in before the tests where this is called (a file or a describe block),
 * `tokens` mapping each token to the login it authenticates, and close it after them.
 * `started` receives it: `let gh: GitHubServer; useGitHubServer({ [TOKEN]: 'bot' }, (s) => (gh = s))`.
 */
export function useGitHubServer(tokens: Record<string, string>, started: (gh: GitHubServer) => void): void {
  let gh: GitHubServer | undefined
  beforeAll(async () => {
    gh = await startGitHubServer({ tokens })
    started(gh)
  })
  afterAll(async () => {
    await gh?.close()
  })
}

/**
 * A remote served by `gh`: main (from `files` or the repository `dev`), then `branches`
 * from main, each pushed; then the checkout, cloned from the remote with `origin` set to
 * the stand-in's URL.
 */
export function remoteScene(gh: GitHubServer, options: RemoteSceneOptions = {}): RemoteScene {
  const name = options.name ?? `acme/${options.prefix ?? 'app'}${++counter}`
  const [owner, repo] = name.split('/')
  const dir = tempDir('cbs-remote-')
  const bare = path.join(dir, 'remote.git')
  git(dir, 'init', '-q', '--bare', '-b', 'main', bare)
  let dev = options.dev
  if (!dev) {
    dev = path.join(dir, 'dev')
    git(dir, 'init', '-q', '-b', 'main', dev)
    commitFiles(dev, options.files ?? { 'app.txt': 'one\ntwo\nthree\n' }, 'initial')
  }
  git(dev, 'remote', 'add', 'origin', bare)
  git(dev, 'push', '-q', 'origin', 'main')
  const scene = { name, owner, repo, dir, bare, dev, checkout: path.join(dir, 'checkout') }
  for (const [branch, commits] of Object.entries(options.branches ?? {})) pushBranch(scene, branch, commits)
  gh.addRepo({ owner, name: repo, dir: bare, ...options.access })
  if (options.clone !== false) cloneCheckout(gh, scene)
  return scene
}

/** Clone the scene's checkout from the remote, `origin` then set to the stand-in's URL. */
export function cloneCheckout(gh: GitHubServer, scene: RemoteScene): void {
  git(scene.dir, 'clone', '-q', scene.bare, scene.checkout)
  git(scene.checkout, 'remote', 'set-url', 'origin', gh.gitUrl(scene.name))
}

/** Write `files`, stage everything and commit in `repo`; the new commit's sha. */
export function commitFiles(repo: string, files: Record<string, FileSpec>, message: string): string {
  writeFiles(repo, files)
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', message)
  return git(repo, 'rev-parse', 'HEAD')
}

/**
 * In the developer's clone: a new `branch` from `from` with `commits`, pushed to the
 * remote; the clone is back on main afterwards. The branch's head sha.
 */
export function pushBranch(scene: Pick<RemoteScene, 'dev'>, branch: string, commits: Commit[], from = 'main'): string {
  git(scene.dev, 'switch', '-q', '-c', branch, from)
  for (const c of commits) commitFiles(scene.dev, c.files, c.message)
  git(scene.dev, 'push', '-q', 'origin', branch)
  git(scene.dev, 'switch', '-q', 'main')
  return git(scene.dev, 'rev-parse', branch)
}

/**
 * The env a bot script runs with against the stand-in: a bare CI runner (no git config,
 * no identity, so the script falls back to its bot), none of the outer CI's variables
 * (these tests may themselves run on GitHub Actions), the token, `repository` as
 * GITHUB_REPOSITORY; `extra` last.
 */
export function standInEnv(gh: GitHubServer, repository: string, token: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    LC_ALL: 'C',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    REGISTRY: '',
    GITHUB_TOKEN: token,
    GH_TOKEN: '',
    GITHUB_API_URL: gh.apiUrl,
    GITHUB_REPOSITORY: repository,
    GITHUB_ACTIONS: '',
    GITHUB_EVENT_PATH: '',
    GITHUB_EVENT_NAME: '',
    GITHUB_OUTPUT: '',
    GITHUB_STEP_SUMMARY: '',
    GITHUB_SERVER_URL: '',
    GITHUB_RUN_ID: '',
    CIRCLE_BUILD_URL: '',
    NO_PROXY: '127.0.0.1',
    no_proxy: '127.0.0.1',
    ...extra,
  }
}
