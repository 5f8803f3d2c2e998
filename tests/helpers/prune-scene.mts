// The scene prune-images' tests share: a remote whose branches and tags need some build
// image tags and not others, a fresh clone to run the script in, and the script run as
// a process with its JSON plan parsed.
import { randomBytes } from 'node:crypto'
import { expect } from 'vitest'
import { repoInfo } from '../../lib/core/git.mts'
import { buildImageTagAt } from '../../lib/image/content-tag.mts'
import { git, makeRepo, tempDir, writeFiles } from './repo.mts'
import { runScript, type RunOptions, type RunResult } from './run.mts'

export const REPO = 'acme/acme-build'
export const OLD = new Date('2020-01-01T00:00:00Z')
export const randomTag = () => randomBytes(20).toString('hex')

export interface Scene {
  /** c0 .. c4. */
  commits: string[]
  /** The clone prune-images runs in. */
  clone: string
  origin: string
  /** Build image tag of each commit: c0 (release-1), c1 (tag v1.0.0), c2, c3, c4 (main). */
  tags: string[]
}

/**
 * Five commits on main, each changing the build image's input; a branch release-1 at
 * the first, an annotated tag v1.0.0 at the second; keepRecent 2 (main and main~1).
 * The registry host is `host` (a proxy, maybe). Run in a fresh clone of the bare origin.
 */
export async function scene(host: string, prune: object = { keepRecent: 2 }, cloneArgs: string[] = [], extra: object = {}): Promise<Scene> {
  const work = makeRepo({ 'Dockerfile.build': 'FROM scratch\n', 'tool.txt': 'v0\n' }, { registry: host, buildImage: { name: 'acme/acme-build', inputs: ['tool.txt'] }, prune, ...extra })
  const commits = [git(work, 'rev-parse', 'HEAD')]
  git(work, 'branch', 'release-1')
  for (let i = 1; i <= 4; i++) {
    writeFiles(work, { 'tool.txt': `v${i}\n` })
    git(work, 'commit', '-q', '-am', `tool v${i}`)
    commits.push(git(work, 'rev-parse', 'HEAD'))
    if (i === 1) git(work, 'tag', '-a', '-m', 'release', 'v1.0.0')
  }
  const origin = tempDir('cbs-origin-')
  git(origin, 'init', '-q', '--bare', '-b', 'main')
  git(work, 'push', '-q', origin, 'main', 'release-1', 'v1.0.0')
  const clone = tempDir('cbs-clone-')
  git(clone, 'clone', '-q', ...cloneArgs, `file://${origin}`, '.')
  const repo = await repoInfo(work)
  const tags: string[] = []
  for (const c of commits) tags.push((await buildImageTagAt(repo, c)).tag!)
  expect(new Set(tags).size).toBe(5)
  return { clone, origin, tags, commits }
}

export const prune = (dir: string, args: string[] = [], options: { env?: NodeJS.ProcessEnv; onStderr?: RunOptions['onStderr'] } = {}) =>
  runScript('prune-images', ['--repo', dir, ...args], { env: { REGISTRY_PASSWORD: '', REGISTRY_RETRY_DELAY_MS: '50', ...options.env }, onStderr: options.onStderr })

export type Plan = { repositories: Array<{ repository: string; tags: Array<{ tag: string; action: string; reasons: string[] }>; deletions: Array<{ digest: string; tags: string[]; kind: string }> }>; deleted: Array<{ digest: string; outcome: string }>; dryRun: boolean }
export const parse = (r: RunResult): Plan => {
  expect(r.exitCode, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as Plan
}
export const verdicts = (plan: Plan) => Object.fromEntries(plan.repositories[0].tags.map((t) => [t.tag, `${t.action}: ${t.reasons.join('; ')}`]))

