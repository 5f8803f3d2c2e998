// A release tag is published only from a commit on the default branch or a release
// branch. The attack: a writer who cannot merge pushes a branch with an unreviewed
// commit and the tag `v99.0.0` on it; CI checks the tag out as it does for a release and
// runs push-images. Real git remotes (a bare origin, a writer's clone, CI's clone), the
// real registry, the script as a process.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkReleaseSource } from '../../lib/publish/release-branches.mts'
import { useRegistryScene } from '../helpers/registry-scene.mts'
import { git, makeRepo, tempDir } from '../helpers/repo.mts'
import { runScript } from '../helpers/run.mts'

const CI_VARS = ['CI', 'GITHUB_ACTIONS', 'GITHUB_REF', 'GITHUB_HEAD_REF', 'GITHUB_EVENT_NAME', 'GITHUB_EVENT_PATH', 'CIRCLE_TAG', 'CIRCLE_BRANCH', 'CIRCLE_PULL_REQUEST', 'REGISTRY_USERNAME', 'REGISTRY_PASSWORD']

const scene = useRegistryScene()

/** origin (bare, default branch main, a release-1.0 branch), and a clone to push from. */
function remotes(config: Record<string, unknown> = {}) {
  const app = scene.name('rs-app')
  const build = scene.name('rs-build')
  const seed = makeRepo(
    { 'Dockerfile.build': 'FROM busybox:latest\nRUN echo toolchain > /toolchain.txt\n', Dockerfile: 'ARG BUILD_IMAGE\nFROM ${BUILD_IMAGE}\n', '.dockerignore': '.git\n' },
    { buildImage: { name: build, inputs: ['Dockerfile.build'] }, image: { name: app }, ...config },
  )
  const origin = tempDir('cbs-origin-')
  git(origin, 'init', '-q', '--bare', '-b', 'main')
  git(seed, 'remote', 'add', 'origin', origin)
  git(seed, 'push', '-q', 'origin', 'main')
  git(seed, 'push', '-q', 'origin', 'main:release-1.0')
  const writer = tempDir('cbs-writer-')
  git(writer, 'clone', '-q', origin, '.')
  return { app, origin, writer }
}

/** A commit on a new branch of the writer's clone, tagged, both pushed. */
function pushTagged(writer: string, branch: string, tag: string, from = 'origin/main'): string {
  git(writer, 'checkout', '-q', '-b', branch, from)
  fs.writeFileSync(path.join(writer, 'CHANGES'), `${branch}\n`, { flag: 'a' })
  git(writer, 'add', '-A')
  git(writer, 'commit', '-q', '-m', `on ${branch}`)
  git(writer, 'tag', tag)
  git(writer, 'push', '-q', 'origin', branch, tag)
  return git(writer, 'rev-parse', 'HEAD')
}

/** CI's checkout of a tag: a full clone (fetch-depth: 0), the tag checked out detached. */
function ciCheckout(origin: string, tag: string, { depth }: { depth?: number } = {}): string {
  const dir = tempDir('cbs-ci-')
  git(dir, 'clone', '-q', ...(depth ? ['--depth', String(depth), '--no-single-branch'] : []), `file://${origin}`, '.')
  git(dir, 'fetch', '-q', ...(depth ? ['--depth', String(depth)] : []), 'origin', `+refs/tags/${tag}:refs/tags/${tag}`)
  git(dir, 'checkout', '-q', '--detach', tag)
  return dir
}

function pushImages(checkout: string, tag: string) {
  const clean = Object.fromEntries(CI_VARS.map((name) => [name, '']))
  return runScript('push-images', ['--dry-run', '--json'], {
    cwd: checkout,
    env: { ...clean, REGISTRY: scene.registry.host, GITHUB_REF: `refs/tags/${tag}`, REGISTRY_RETRY_DELAY_MS: '100' },
  })
}

describe('a release tag', () => {
  it('on a branch no one merged: push-images refuses it (exit 1, one line saying which commit and how to fix it), before any build', async () => {
    const { app, origin, writer } = remotes()
    const sha = pushTagged(writer, 'unreviewed', 'v99.0.0')
    const result = await pushImages(ciCheckout(origin, 'v99.0.0'), 'v99.0.0')
    expect(result.exitCode).toBe(1)
    const errors = result.stderr.split('\n').filter((l) => l.includes('Error:'))
    expect(errors).toEqual([
      `  ✘   Error: release tag v99.0.0 is commit ${sha.slice(0, 12)}, which is on neither the default branch (main) nor a release branch (release-*): ` +
        'tag a commit that was merged there (git push origin :refs/tags/v99.0.0 removes this tag), or name its branch in "releaseBranches" in build.config.json',
    ])
    expect(result.stdout).toBe('')
    expect(result.stderr).not.toMatch(/build /)
    expect(await scene.registry.tags(app)).toEqual([])
  })

  it('on the default branch: planned as X.Y.Z and latest', async () => {
    const { app, origin, writer } = remotes()
    git(writer, 'tag', 'v1.0.0', 'origin/main')
    git(writer, 'push', '-q', 'origin', 'v1.0.0')
    const result = await pushImages(ciCheckout(origin, 'v1.0.0'), 'v1.0.0')
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stderr).toContain('v1.0.0 is on main')
    const plan = JSON.parse(result.stdout) as { images: Array<{ ref: string; action: string }> }
    expect(plan.images.filter((i) => i.ref.includes(app)).map((i) => [i.ref.split(':').pop(), i.action])).toEqual([
      ['1.0.0', 'create'],
      ['latest', 'create'],
    ])
  })

  it('on a release branch (cherry-pick\'s targets by default, or releaseBranches), and not on other branches', async () => {
    const { origin, writer } = remotes()
    const patch = pushTagged(writer, 'release-1.0', 'v1.0.1', 'origin/release-1.0')
    const stable = pushTagged(writer, 'stable/2', 'v2.0.1')
    const ci = ciCheckout(origin, 'v1.0.1')
    const check = (tag: string, sha: string, releaseBranches: string[]) =>
      checkReleaseSource({ repo: ci, tag, sha, defaultBranch: 'main', releaseBranches, shallow: false })
    expect(await check('v1.0.1', patch, ['release-*'])).toBe('release-1.0')
    await expect(check('v2.0.1', stable, ['release-*'])).rejects.toThrow(/release tag v2\.0\.1 is commit [0-9a-f]{12}, which is on neither the default branch \(main\) nor a release branch \(release-\*\)/)
    expect(await check('v2.0.1', stable, ['stable/*'])).toBe('stable/2')
    await expect(check('v1.0.1', patch, ['stable/*'])).rejects.toThrow(/release branch \(stable\/\*\)/)
  })

  it('releaseBranches in build.config.json replaces cherry-pick\'s targets (the script reads it)', async () => {
    const { origin, writer } = remotes({ releaseBranches: 'stable/*' })
    pushTagged(writer, 'release-1.0', 'v1.0.1', 'origin/release-1.0')
    const result = await pushImages(ciCheckout(origin, 'v1.0.1'), 'v1.0.1')
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toMatch(/Error: release tag v1\.0\.1 is commit [0-9a-f]{12}, which is on neither the default branch \(main\) nor a release branch \(stable\/\*\)/m)
  })

  it('in a shallow clone that cannot see it on main: refused, saying to fetch the history', async () => {
    const { origin, writer } = remotes()
    git(writer, 'checkout', '-q', 'main')
    for (const change of ['released', 'later']) {
      fs.writeFileSync(path.join(writer, 'CHANGES'), `${change}\n`)
      git(writer, 'add', '-A')
      git(writer, 'commit', '-q', '-m', change)
      if (change === 'released') git(writer, 'tag', 'v1.1.0', 'HEAD')
    }
    git(writer, 'push', '-q', 'origin', 'main', 'v1.1.0')
    const ci = ciCheckout(origin, 'v1.1.0', { depth: 1 })
    const sha = git(ci, 'rev-parse', 'HEAD')
    await expect(checkReleaseSource({ repo: ci, tag: 'v1.1.0', sha, defaultBranch: 'main', releaseBranches: ['release-*'], shallow: true })).rejects.toThrow(
      /this clone is shallow, so fetch the history too \(fetch-depth: 0\)$/,
    )
    git(ci, 'fetch', '-q', '--unshallow')
    expect(await checkReleaseSource({ repo: ci, tag: 'v1.1.0', sha, defaultBranch: 'main', releaseBranches: ['release-*'], shallow: false })).toBe('main')
  })
})
