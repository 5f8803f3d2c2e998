import { describe, expect, it } from 'vitest'
import {
  branchTag,
  chooseRef,
  ciRefFromEnv,
  compareVersions,
  decideTags,
  highestVersion,
  mayBeLatest,
  ociLabels,
  parseVersionTag,
  sourceUrlFromRemote,
  type BuildRef,
} from '../../lib/publish/release-tags.mts'

const SHA = '0123456789abcdef0123456789abcdef01234567'
const tagsOf = (ref: BuildRef, existingTags: string[] = [], forceBranch = false) =>
  decideTags({ ref, sha: SHA, defaultBranch: 'main', existingTags, forceBranch }).tags.map((t) => t.tag)
const tag = (name: string): BuildRef => ({ kind: 'tag', name, source: 'git' })
const branch = (name: string): BuildRef => ({ kind: 'branch', name, source: 'git' })

describe('versions', () => {
  it('parses vX.Y.Z with an optional pre-release, nothing else', () => {
    expect(parseVersionTag('v1.2.3')).toMatchObject({ major: 1, minor: 2, patch: 3, prerelease: [], text: '1.2.3' })
    expect(parseVersionTag('v1.2.3-rc.1')).toMatchObject({ prerelease: ['rc', '1'], text: '1.2.3-rc.1' })
    expect(parseVersionTag('v10.0.0-beta')).toMatchObject({ major: 10, prerelease: ['beta'] })
    for (const bad of ['1.2.3', 'v1.2', 'v1.2.3.4', 'v01.2.3', 'v1.2.3-', 'v1.2.3+build', 'v1.2.3-rc..1', 'release-1.2.3', 'v1.2.3-01']) {
      expect(parseVersionTag(bad), bad).toBeNull()
    }
  })

  it('orders versions by semver precedence', () => {
    const ordered = ['v1.0.0-alpha', 'v1.0.0-alpha.1', 'v1.0.0-alpha.beta', 'v1.0.0-beta', 'v1.0.0-beta.2', 'v1.0.0-beta.11', 'v1.0.0-rc.1', 'v1.0.0', 'v1.0.1', 'v1.2.0', 'v1.10.0', 'v2.0.0']
    const versions = ordered.map((t) => parseVersionTag(t)!)
    for (let i = 0; i < versions.length - 1; i++) {
      expect(compareVersions(versions[i], versions[i + 1]), `${ordered[i]} < ${ordered[i + 1]}`).toBeLessThan(0)
      expect(compareVersions(versions[i + 1], versions[i])).toBeGreaterThan(0)
      expect(compareVersions(versions[i], versions[i])).toBe(0)
    }
  })

  it('finds the highest release, ignoring pre-releases and other tags unless asked', () => {
    expect(highestVersion(['v1.9.0', 'v1.10.0', 'v2.0.0-rc.1', 'vnext', 'v3'])?.text).toBe('1.10.0')
    expect(highestVersion(['v1.9.0', 'v2.0.0-rc.1'], { prereleases: true })?.text).toBe('2.0.0-rc.1')
    expect(highestVersion(['v2.0.0-rc.1', 'latest'])).toBeNull()
  })
})

describe('decideTags', () => {
  it('a release tag gives X.Y.Z and latest', () => {
    const d = decideTags({ ref: tag('v1.2.3'), sha: SHA, defaultBranch: 'main', existingTags: ['v1.2.2', 'v1.2.3'] })
    expect(d.tags).toEqual([
      { tag: '1.2.3', kind: 'version' },
      { tag: 'latest', kind: 'latest' },
    ])
    expect(d.version).toBe('1.2.3')
    expect(d.reason).toContain('latest')
  })

  it('the first release ever is latest, even when the tag list does not contain it yet', () => {
    expect(tagsOf(tag('v0.1.0'))).toEqual(['0.1.0', 'latest'])
  })

  it('a pre-release is never latest', () => {
    for (const pre of ['v1.2.3-rc.1', 'v2.0.0-beta']) {
      const d = decideTags({ ref: tag(pre), sha: SHA, defaultBranch: 'main', existingTags: ['v1.0.0', pre] })
      expect(d.tags.map((t) => t.tag)).toEqual([pre.slice(1)])
      expect(d.version).toBe(pre.slice(1))
      expect(d.reason).toContain('pre-release')
    }
  })

  it('an older release than the highest one already tagged is not latest', () => {
    const d = decideTags({ ref: tag('v1.2.4'), sha: SHA, defaultBranch: 'main', existingTags: ['v1.2.3', 'v1.2.4', 'v2.0.0'] })
    expect(d.tags.map((t) => t.tag)).toEqual(['1.2.4'])
    expect(d.reason).toContain('v2.0.0 is higher')
  })

  it('a higher pre-release does not keep a release from being latest', () => {
    expect(tagsOf(tag('v1.2.4'), ['v1.2.3', 'v2.0.0-rc.1'])).toEqual(['1.2.4', 'latest'])
  })

  it('re-tagging the highest release (a re-run) keeps it latest', () => {
    expect(tagsOf(tag('v2.0.0'), ['v1.0.0', 'v2.0.0'])).toEqual(['2.0.0', 'latest'])
  })

  it('a tag that is not a release tag pushes nothing', () => {
    for (const name of ['nightly', '1.2.3', 'v1.2']) {
      const d = decideTags({ ref: tag(name), sha: SHA, defaultBranch: 'main', existingTags: [], forceBranch: true })
      expect(d.tags).toEqual([])
      expect(d.reason).toContain('not a release tag')
    }
  })

  it('the default branch gives sha-<12 hex> and the branch name', () => {
    const d = decideTags({ ref: branch('main'), sha: SHA, defaultBranch: 'main', existingTags: ['v9.9.9'] })
    expect(d.tags).toEqual([
      { tag: 'sha-0123456789ab', kind: 'sha' },
      { tag: 'main', kind: 'branch' },
    ])
    expect(d.version).toBe('sha-0123456789ab')
  })

  it('honours another default branch name', () => {
    const d = decideTags({ ref: branch('trunk'), sha: SHA, defaultBranch: 'trunk', existingTags: [] })
    expect(d.tags.map((t) => t.tag)).toEqual(['sha-0123456789ab', 'trunk'])
    expect(tagsOf(branch('main'))).toEqual(['sha-0123456789ab', 'main'])
  })

  it('other branches push nothing unless forced', () => {
    const d = decideTags({ ref: branch('feature/x'), sha: SHA, defaultBranch: 'main', existingTags: [] })
    expect(d.tags).toEqual([])
    expect(d.reason).toMatch(/not the default branch \(main\).*--force-branch/)
    expect(tagsOf(branch('feature/x'), [], true)).toEqual(['sha-0123456789ab', 'feature-x'])
  })

  it('pull requests push nothing unless forced, and then as pr-<N>, never as their branch', () => {
    const pr: BuildRef = { kind: 'pull-request', name: 'main', pullRequest: '42', source: 'GITHUB_REF' }
    const d = decideTags({ ref: pr, sha: SHA, defaultBranch: 'main', existingTags: [] })
    expect(d.tags).toEqual([])
    expect(d.reason).toContain('pull request #42 (from GITHUB_REF)')
    expect(tagsOf(pr, [], true)).toEqual(['sha-0123456789ab', 'pr-42'])
    expect(tagsOf({ ...pr, pullRequest: undefined }, [], true)).toEqual(['sha-0123456789ab'])
  })

  it('a detached HEAD with nothing else pushes nothing unless forced, then only sha-', () => {
    const detached: BuildRef = { kind: 'detached', name: '', source: 'git' }
    expect(tagsOf(detached)).toEqual([])
    expect(tagsOf(detached, [], true)).toEqual(['sha-0123456789ab'])
  })
})

describe('branchTag', () => {
  it('makes a valid Docker tag of any branch name', () => {
    expect(branchTag('main')).toBe('main')
    expect(branchTag('feature/Add thing!')).toBe('feature-Add-thing')
    expect(branchTag('.hidden')).toBe('hidden')
    expect(branchTag('x'.repeat(300))).toHaveLength(128)
    for (const name of ['feature/x', 'a b', 'ünïcode', '-x', "it's"]) {
      expect(branchTag(name), name).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/)
    }
  })

  it('never lets a branch pass for a release, latest, a sha- or a pr- tag', () => {
    expect(branchTag('latest')).toBe('branch-latest')
    expect(branchTag('1.2.3')).toBe('branch-1.2.3')
    expect(branchTag('v1.2.3')).toBe('branch-v1.2.3')
    expect(branchTag('sha-0123456789ab')).toBe('branch-sha-0123456789ab')
    expect(branchTag('pr-7')).toBe('branch-pr-7')
    expect(branchTag('release-1.2')).toBe('release-1.2')
  })
})

describe('ciRefFromEnv', () => {
  it('reads GitHub Actions refs', () => {
    expect(ciRefFromEnv({ GITHUB_REF: 'refs/heads/main' })).toEqual({ kind: 'branch', name: 'main', source: 'GITHUB_REF' })
    expect(ciRefFromEnv({ GITHUB_REF: 'refs/heads/feature/x' })).toMatchObject({ kind: 'branch', name: 'feature/x' })
    expect(ciRefFromEnv({ GITHUB_REF: 'refs/tags/v1.2.3' })).toEqual({ kind: 'tag', name: 'v1.2.3', source: 'GITHUB_REF' })
    expect(ciRefFromEnv({ GITHUB_REF: 'refs/pull/12/merge', GITHUB_HEAD_REF: 'fix' })).toEqual({
      kind: 'pull-request',
      name: 'fix',
      pullRequest: '12',
      source: 'GITHUB_REF',
    })
  })

  it('treats a pull_request_target event as a PR even though GITHUB_REF is the base branch', () => {
    expect(ciRefFromEnv({ GITHUB_REF: 'refs/heads/main', GITHUB_EVENT_NAME: 'pull_request_target' })).toMatchObject({ kind: 'pull-request' })
  })

  it('reads CircleCI tags, branches and pull requests', () => {
    expect(ciRefFromEnv({ CIRCLE_TAG: 'v1.2.3', CIRCLE_BRANCH: '' })).toEqual({ kind: 'tag', name: 'v1.2.3', source: 'CIRCLE_TAG' })
    expect(ciRefFromEnv({ CIRCLE_BRANCH: 'main' })).toEqual({ kind: 'branch', name: 'main', source: 'CIRCLE_BRANCH' })
    expect(ciRefFromEnv({ CIRCLE_BRANCH: 'fix', CIRCLE_PULL_REQUEST: 'https://github.com/acme/app/pull/7' })).toEqual({
      kind: 'pull-request',
      name: 'fix',
      pullRequest: '7',
      source: 'CIRCLE_PULL_REQUEST',
    })
    expect(ciRefFromEnv({ CIRCLE_BRANCH: 'pull/9' })).toMatchObject({ kind: 'pull-request', pullRequest: '9' })
  })

  it('names nothing on a laptop', () => {
    expect(ciRefFromEnv({ HOME: '/root', CIRCLE_BRANCH: '', GITHUB_REF: '' })).toBeUndefined()
    expect(ciRefFromEnv({ GITHUB_REF: 'refs/remotes/origin/main' })).toBeUndefined()
  })
})

describe('mayBeLatest', () => {
  it('is true only for a release tag that is not a pre-release', () => {
    expect(mayBeLatest(tag('v1.2.3'))).toBe(true)
    expect(mayBeLatest(tag('v1.2.3-rc.1'))).toBe(false)
    expect(mayBeLatest(tag('nightly'))).toBe(false)
    expect(mayBeLatest(branch('v1.2.3'))).toBe(false)
  })
})

describe('chooseRef', () => {
  it('prefers what CI says, then the branch, then the highest release tag at HEAD', () => {
    const ci: BuildRef = { kind: 'tag', name: 'v1.0.0', source: 'CIRCLE_TAG' }
    expect(chooseRef(ci, { branch: 'main', tagsAtHead: [] })).toBe(ci)
    expect(chooseRef(undefined, { branch: 'main', tagsAtHead: ['v1.0.0'] })).toEqual(branch('main'))
    expect(chooseRef(undefined, { tagsAtHead: ['v1.0.0-rc.2', 'v1.0.0', 'other'] })).toEqual(tag('v1.0.0'))
    expect(chooseRef(undefined, { tagsAtHead: ['v1.0.0-rc.2', 'v1.0.0-rc.10'] })).toEqual(tag('v1.0.0-rc.10'))
    expect(chooseRef(undefined, { tagsAtHead: ['other'] })).toEqual({ kind: 'detached', name: '', source: 'git' })
  })
})

describe('labels', () => {
  it('are the OCI annotations, created from the commit time in UTC', () => {
    expect(ociLabels({ sha: SHA, version: '1.2.3', commitTime: '2024-05-01T12:00:00+02:00', sourceUrl: 'https://github.com/acme/app' })).toEqual({
      'org.opencontainers.image.revision': SHA,
      'org.opencontainers.image.version': '1.2.3',
      'org.opencontainers.image.created': '2024-05-01T10:00:00Z',
      'org.opencontainers.image.source': 'https://github.com/acme/app',
    })
    expect(ociLabels({ sha: SHA, version: 'x', commitTime: '2024-05-01T10:00:00Z' })).not.toHaveProperty('org.opencontainers.image.source')
  })

  it('turn remotes into public source URLs without credentials', () => {
    expect(sourceUrlFromRemote('git@github.com:acme/app.git')).toBe('https://github.com/acme/app')
    expect(sourceUrlFromRemote('https://x-access-token:ghs_secret@github.com/acme/app.git')).toBe('https://github.com/acme/app')
    expect(sourceUrlFromRemote('ssh://git@gitlab.example.com:2222/acme/app.git')).toBe('https://gitlab.example.com/acme/app')
    expect(sourceUrlFromRemote('https://github.com/acme/app/')).toBe('https://github.com/acme/app')
    expect(sourceUrlFromRemote('/srv/git/app.git')).toBeUndefined()
    expect(sourceUrlFromRemote('../app')).toBeUndefined()
    expect(sourceUrlFromRemote('file:///srv/git/app.git')).toBeUndefined()
  })
})

describe('the tag policy at its edges', () => {
  const v = (t: string) => parseVersionTag(t)!

  it('pre-release identifiers: digits with letters are alphanumeric, sorted after numbers; numbers of any length', () => {
    for (const [lower, higher] of [['v1.0.0-2', 'v1.0.0-a1'], ['v1.0.0-2', 'v1.0.0-1a'], ['v1.0.0-9', 'v1.0.0-10a'], ['v1.0.0-rc.9', 'v1.0.0-rc.10a']]) {
      expect(compareVersions(v(lower), v(higher)), `${lower} < ${higher}`).toBeLessThan(0)
      expect(compareVersions(v(higher), v(lower)), `${higher} > ${lower}`).toBeGreaterThan(0)
    }
    expect(parseVersionTag('v1.0.0-123.45')?.prerelease).toEqual(['123', '45'])
    expect(parseVersionTag('v1.0.0-1a.2b')?.prerelease).toEqual(['1a', '2b'])
    expect(parseVersionTag('v1.0.0-rc.1a')?.prerelease).toEqual(['rc', '1a'])
    expect(parseVersionTag('xv1.2.3')).toBeNull()
  })

  it('the highest release wins whatever the order of the tags', () => {
    expect(highestVersion(['v2.0.0', 'v1.0.0', 'v1.5.0'])?.text).toBe('2.0.0')
  })

  it('branch names: runs of odd characters become one -, leading and trailing dots and dashes go, nothing left is "unnamed"', () => {
    expect(branchTag('a//b')).toBe('a-b')
    expect(branchTag('..x')).toBe('x')
    expect(branchTag('x..')).toBe('x')
    expect(branchTag('///')).toBe('unnamed')
    expect(branchTag('10.1')).toBe('branch-10.1')
    for (const free of ['xsha-abc', 'sha-abcx', 'xpr-1', 'pr-1x', 'vv1.2']) expect(branchTag(free), free).toBe(free)
    expect(branchTag('pr-12')).toBe('branch-pr-12')
  })

  it('reasons say where the ref came from, unless git; forced pushes say so; kinds are kept', () => {
    const fromEnv: BuildRef = { kind: 'branch', name: 'main', source: 'CIRCLE_BRANCH' }
    expect(decideTags({ ref: fromEnv, sha: SHA, defaultBranch: 'main', existingTags: [] }).reason).toBe('the default branch main (from CIRCLE_BRANCH)')
    expect(decideTags({ ref: branch('main'), sha: SHA, defaultBranch: 'main', existingTags: [] }).reason).toBe('the default branch main')
    const forced = decideTags({ ref: branch('feature/x'), sha: SHA, defaultBranch: 'main', existingTags: [], forceBranch: true })
    expect(forced.tags).toEqual([
      { tag: 'sha-0123456789ab', kind: 'sha' },
      { tag: 'feature-x', kind: 'branch' },
    ])
    expect(forced.reason).toBe('branch feature/x is not the default branch (main), pushed because of --force-branch')
    const pr: BuildRef = { kind: 'pull-request', name: 'fix', pullRequest: '4', source: 'git' }
    expect(decideTags({ ref: pr, sha: SHA, defaultBranch: 'main', existingTags: [], forceBranch: true }).tags[1]).toEqual({ tag: 'pr-4', kind: 'branch' })
    expect(decideTags({ ref: { kind: 'pull-request', name: 'fix', source: 'git' }, sha: SHA, defaultBranch: 'main', existingTags: [] }).reason).toBe(
      'pull request fix: nothing to push (--force-branch pushes it anyway)',
    )
    const detached: BuildRef = { kind: 'detached', name: '', source: 'git' }
    expect(decideTags({ ref: detached, sha: SHA, defaultBranch: 'main', existingTags: [] }).reason).toBe(
      'a detached HEAD with no branch or release tag: nothing to push (--force-branch pushes it anyway)',
    )
  })

  it('CI variables: blank ones unset, values trimmed, pull request numbers only from the end of the URL', () => {
    expect(ciRefFromEnv({ CIRCLE_TAG: '  ', CIRCLE_BRANCH: ' main ' })).toEqual({ kind: 'branch', name: 'main', source: 'CIRCLE_BRANCH' })
    expect(ciRefFromEnv({ CIRCLE_TAG: ' v1.2.3 ' })).toEqual({ kind: 'tag', name: 'v1.2.3', source: 'CIRCLE_TAG' })
    const pr = (url: string, branchName?: string) => ciRefFromEnv({ CIRCLE_PULL_REQUEST: url, ...(branchName === undefined ? {} : { CIRCLE_BRANCH: branchName }) })
    expect(pr(' https://github.com/acme/app/pull/12/ ', ' fix ')).toEqual({ kind: 'pull-request', name: 'fix', pullRequest: '12', source: 'CIRCLE_PULL_REQUEST' })
    expect(pr('https://github.com/acme/app/pull/12/files')).toEqual({ kind: 'pull-request', name: '', pullRequest: undefined, source: 'CIRCLE_PULL_REQUEST' })
    expect(pr('https://example.com/other')?.pullRequest).toBeUndefined()
    expect(ciRefFromEnv({ CIRCLE_BRANCH: 'pull/12' })).toEqual({ kind: 'pull-request', name: 'pull/12', pullRequest: '12', source: 'CIRCLE_BRANCH' })
    expect(ciRefFromEnv({ CIRCLE_BRANCH: 'xpull/9' })).toEqual({ kind: 'branch', name: 'xpull/9', source: 'CIRCLE_BRANCH' })
    expect(ciRefFromEnv({ CIRCLE_BRANCH: 'pull/9x' })).toEqual({ kind: 'branch', name: 'pull/9x', source: 'CIRCLE_BRANCH' })
  })

  it('GitHub variables: GITHUB_REF trimmed, a pull ref only at its start, the event only by its prefix, no event without a ref', () => {
    expect(ciRefFromEnv({ GITHUB_REF: ' refs/heads/main ' })).toEqual({ kind: 'branch', name: 'main', source: 'GITHUB_REF' })
    expect(ciRefFromEnv({ GITHUB_REF: 'refs/heads/refs/pull/1/x' })).toEqual({ kind: 'branch', name: 'refs/pull/1/x', source: 'GITHUB_REF' })
    expect(ciRefFromEnv({ GITHUB_REF: 'refs/heads/main', GITHUB_EVENT_NAME: 'not_pull_request' })).toMatchObject({ kind: 'branch' })
    expect(ciRefFromEnv({ GITHUB_REF: 'refs/pull/3/merge' })).toEqual({ kind: 'pull-request', name: '', pullRequest: '3', source: 'GITHUB_REF' })
    expect(ciRefFromEnv({ GITHUB_EVENT_NAME: 'pull_request' })).toBeUndefined()
  })

  it('source URLs: trimmed, http kept with its port, git: and ssh: as https, odd ones refused', () => {
    expect(sourceUrlFromRemote(' git@github.com:acme/app.git\n')).toBe('https://github.com/acme/app')
    expect(sourceUrlFromRemote('github.com:acme/app')).toBe('https://github.com/acme/app')
    expect(sourceUrlFromRemote('http://10.0.0.1:8080/acme/app.git')).toBe('http://10.0.0.1:8080/acme/app')
    expect(sourceUrlFromRemote('git://example.com/acme/app.git')).toBe('https://example.com/acme/app')
    expect(sourceUrlFromRemote('https://example.com/acme/app//')).toBe('https://example.com/acme/app')
    expect(sourceUrlFromRemote('https://example.com/acme/app.github/x')).toBe('https://example.com/acme/app.github/x')
    expect(sourceUrlFromRemote('host:path/a://b')).toBe('https://host/path/a://b')
    expect(sourceUrlFromRemote('/srv/a:b')).toBeUndefined()
    expect(sourceUrlFromRemote('host:a\nb')).toBeUndefined()
    expect(sourceUrlFromRemote('ssh:///srv/app.git')).toBeUndefined()
    expect(sourceUrlFromRemote('https://[bad/x')).toBeUndefined()
  })
})
