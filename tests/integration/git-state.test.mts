// resolveGitState against real git repositories: branches, tags (annotated and
// lightweight), detached HEADs with CI env vars, the default branch, the source URL.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveGitState } from '../../lib/publish/git-state.mts'
import { decideTags } from '../../lib/publish/release-tags.mts'
import { git, makeRepo, tempDir } from '../helpers/repo.mts'

function commit(repo: string, message: string): string {
  fs.writeFileSync(path.join(repo, 'file'), `${message}\n`, { flag: 'a' })
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', message)
  return git(repo, 'rev-parse', 'HEAD')
}

/** What the tag policy makes of the repository's state with this env. */
async function tagsFor(repo: string, env: NodeJS.ProcessEnv = {}, forceBranch = false): Promise<string[]> {
  const state = await resolveGitState({ repo, env })
  return decideTags({ ref: state.ref, sha: state.sha, defaultBranch: state.defaultBranch, existingTags: state.versionTags, forceBranch }).tags.map((t) => t.tag)
}

describe('resolveGitState', () => {
  it('reads the commit, its committer date and the checked-out branch', async () => {
    const repo = makeRepo({ a: 'a' })
    const state = await resolveGitState({ repo, env: {} })
    expect(state.sha).toBe(git(repo, 'rev-parse', 'HEAD'))
    expect(state.commitTime).toBe(git(repo, 'show', '-s', '--format=%cI'))
    expect(state.ref).toEqual({ kind: 'branch', name: 'main', source: 'git' })
    expect(state.dirty).toBe(false)
    expect(state.shallow).toBe(false)
    fs.writeFileSync(path.join(repo, 'new'), 'x')
    expect((await resolveGitState({ repo, env: {} })).dirty).toBe(true)
  })

  it('a detached HEAD at release tags (annotated or lightweight) is the highest of them', async () => {
    const repo = makeRepo({ a: 'a' })
    git(repo, 'tag', '-a', 'v1.0.0-rc.1', '-m', 'rc')
    git(repo, 'tag', 'v1.0.0')
    git(repo, 'tag', 'unrelated')
    git(repo, 'checkout', '-q', '--detach')
    const state = await resolveGitState({ repo, env: {} })
    expect(state.ref).toEqual({ kind: 'tag', name: 'v1.0.0', source: 'git' })
    expect(state.versionTags.sort()).toEqual(['v1.0.0', 'v1.0.0-rc.1'])
    expect(await tagsFor(repo)).toEqual(['1.0.0', 'latest'])
  })

  it('a detached HEAD at an annotated tag on an older commit than the highest release', async () => {
    const repo = makeRepo({ a: 'a' })
    commit(repo, 'two')
    git(repo, 'tag', '-a', 'v2.0.0', '-m', 'two')
    git(repo, 'checkout', '-q', 'HEAD~1')
    git(repo, 'tag', '-a', 'v1.5.0', '-m', 'backport')
    expect(await tagsFor(repo)).toEqual(['1.5.0'])
  })

  it('a detached HEAD with nothing else is detached: nothing unless forced', async () => {
    const repo = makeRepo({ a: 'a' })
    const sha = commit(repo, 'two')
    git(repo, 'checkout', '-q', '--detach')
    expect((await resolveGitState({ repo, env: {} })).ref).toEqual({ kind: 'detached', name: '', source: 'git' })
    expect(await tagsFor(repo)).toEqual([])
    expect(await tagsFor(repo, {}, true)).toEqual([`sha-${sha.slice(0, 12)}`])
  })

  it('on CI, a detached HEAD is what GITHUB_REF, CIRCLE_BRANCH or CIRCLE_TAG says', async () => {
    const repo = makeRepo({ a: 'a' })
    const sha = commit(repo, 'two')
    git(repo, 'tag', 'v1.1.0')
    git(repo, 'checkout', '-q', '--detach')
    const short = `sha-${sha.slice(0, 12)}`
    expect(await tagsFor(repo, { GITHUB_REF: 'refs/heads/main' })).toEqual([short, 'main'])
    expect(await tagsFor(repo, { CIRCLE_BRANCH: 'main' })).toEqual([short, 'main'])
    expect(await tagsFor(repo, { GITHUB_REF: 'refs/tags/v1.1.0' })).toEqual(['1.1.0', 'latest'])
    expect(await tagsFor(repo, { CIRCLE_TAG: 'v1.1.0' })).toEqual(['1.1.0', 'latest'])
    expect(await tagsFor(repo, { GITHUB_REF: 'refs/pull/3/merge' })).toEqual([])
    expect(await tagsFor(repo, { CIRCLE_BRANCH: 'feature', CIRCLE_PULL_REQUEST: 'https://github.com/a/b/pull/3' })).toEqual([])
    expect(await tagsFor(repo, { CIRCLE_BRANCH: 'feature' })).toEqual([])
    // A CI tag this clone does not have (fetched without tags): trusted as named.
    expect(await tagsFor(repo, { CIRCLE_TAG: 'v9.0.0' })).toEqual(['9.0.0', 'latest'])
  })

  it('refuses a CI tag that names another commit than HEAD', async () => {
    const repo = makeRepo({ a: 'a' })
    git(repo, 'tag', '-a', 'v1.0.0', '-m', 'one')
    commit(repo, 'two')
    await expect(resolveGitState({ repo, env: { GITHUB_REF: 'refs/tags/v1.0.0' } })).rejects.toThrow(
      /GITHUB_REF names tag v1\.0\.0, which is commit [0-9a-f]{12}, but HEAD is [0-9a-f]{12}: check out the tag/,
    )
  })

  it('the default branch: config, else the Actions event, else origin/HEAD, else main', async () => {
    const upstream = makeRepo({ a: 'a' })
    git(upstream, 'branch', '-m', 'main', 'trunk')
    const clone = path.join(tempDir(), 'clone')
    git(path.dirname(clone), 'clone', '-q', upstream, clone)
    let state = await resolveGitState({ repo: clone, env: {} })
    expect([state.defaultBranch, state.defaultBranchSource]).toEqual(['trunk', 'origin/HEAD'])
    expect(await tagsFor(clone)).toEqual([`sha-${state.sha.slice(0, 12)}`, 'trunk'])
    state = await resolveGitState({ repo: clone, env: {}, defaultBranch: 'develop' })
    expect([state.defaultBranch, state.defaultBranchSource]).toEqual(['develop', 'config'])
    state = await resolveGitState({ repo: upstream, env: {} })
    expect([state.defaultBranch, state.defaultBranchSource]).toEqual(['main', 'fallback'])
    // On GitHub Actions (no origin/HEAD after actions/checkout): the event payload's.
    const event = path.join(tempDir(), 'event.json')
    fs.writeFileSync(event, JSON.stringify({ repository: { default_branch: 'master' } }))
    state = await resolveGitState({ repo: upstream, env: { GITHUB_EVENT_PATH: event } })
    expect([state.defaultBranch, state.defaultBranchSource]).toEqual(['master', 'GITHUB_EVENT_PATH'])
    state = await resolveGitState({ repo: upstream, env: { GITHUB_EVENT_PATH: path.join(tempDir(), 'missing.json') } })
    expect(state.defaultBranch).toBe('main')
    expect(await tagsFor(upstream)).toEqual([])
  })

  it('a shallow clone says so', async () => {
    const upstream = makeRepo({ a: 'a' })
    commit(upstream, 'two')
    const clone = path.join(tempDir(), 'shallow')
    git(path.dirname(clone), 'clone', '-q', '--depth', '1', `file://${upstream}`, clone)
    expect((await resolveGitState({ repo: clone, env: {} })).shallow).toBe(true)
  })

  it('the source URL comes from CI, else from origin without credentials, else none', async () => {
    const repo = makeRepo({ a: 'a' })
    expect((await resolveGitState({ repo, env: {} })).sourceUrl).toBeUndefined()
    git(repo, 'remote', 'add', 'origin', 'https://x-access-token:ghs_secret@github.com/acme/app.git')
    expect((await resolveGitState({ repo, env: {} })).sourceUrl).toBe('https://github.com/acme/app')
    expect((await resolveGitState({ repo, env: { GITHUB_REPOSITORY: 'acme/other', GITHUB_SERVER_URL: 'https://ghe.example.com' } })).sourceUrl).toBe(
      'https://ghe.example.com/acme/other',
    )
    expect((await resolveGitState({ repo, env: { CIRCLE_REPOSITORY_URL: 'git@github.com:acme/circle.git' } })).sourceUrl).toBe('https://github.com/acme/circle')
  })
})
