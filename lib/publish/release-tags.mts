// The final image's tag policy: which tags a commit is published under. Pure functions
// (no git, no network), one rule set for CircleCI, GitHub Actions and a laptop:
//
//   release tag vX.Y.Z     -> X.Y.Z, and `latest` unless a pre-release (-rc.1, -beta) or
//                             older than the highest release already tagged
//   the default branch     -> sha-<12 hex>, <branch>
//   other branches, PRs    -> nothing, unless forced: sha-<12 hex>, <branch> (pr-<N> for a PR)
//   detached, nothing else -> nothing, unless forced: sha-<12 hex>
//
// Which ref is being built comes from the CI's env when it names one (the event decides
// on CI), else from git (see resolveGitState in lib/publish/git-state.mts).
import { LABELS } from '../image/labels.mts'

/** What is being built: a tag, a branch, a pull request, or a bare commit. */
export interface BuildRef {
  kind: 'tag' | 'branch' | 'pull-request' | 'detached'
  /** The tag (`v1.2.3`) or branch name; a PR's head branch when known; '' when detached. */
  name: string
  /** The pull request number, when known. */
  pullRequest?: string
  /** Where the ref was read: `git`, or the env var (`GITHUB_REF`, `CIRCLE_TAG`, ...). */
  source: string
}

/** `version` tags are releases (never overwritten); the others move with each build. */
export type TagKind = 'version' | 'latest' | 'sha' | 'branch'

export interface PlannedTag {
  tag: string
  kind: TagKind
}

export interface TagDecision {
  tags: PlannedTag[]
  /** The `VERSION` build arg and the `org.opencontainers.image.version` label. */
  version: string
  /** One line saying why these tags (or why none). */
  reason: string
}

export interface TagPolicyInput {
  ref: BuildRef
  /** The commit's full object id. */
  sha: string
  defaultBranch: string
  /** Every tag of the repository that starts with `v` (non-release ones are ignored). */
  existingTags: string[]
  /** Publish other branches, pull requests and detached commits too. */
  forceBranch?: boolean
}

// --- versions: semver's precedence rules, for the tags we care about ---

export interface Version {
  major: number
  minor: number
  patch: number
  /** Dot-separated pre-release identifiers (`rc.1` -> ['rc', '1']); empty for a release. */
  prerelease: string[]
  /** `1.2.3-rc.1`, without the leading `v`. */
  text: string
}

// vX.Y.Z with an optional pre-release; no leading zeros, as semver requires. Build
// metadata (`+build.5`) is left out on purpose: `+` is not allowed in a Docker tag.
const VERSION_TAG = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?$/

/** `v1.2.3-rc.1` -> its version; anything else (`1.2.3`, `v1.2`, `release-1`) -> null. */
export function parseVersionTag(tag: string): Version | null {
  const m = VERSION_TAG.exec(tag)
  if (!m) return null
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    prerelease: m[4] ? m[4].split('.') : [],
    text: tag.slice(1),
  }
}

function compareIdentifiers(a: string, b: string): number {
  const an = /^\d+$/.test(a)
  const bn = /^\d+$/.test(b)
  if (an && bn) return Number(a) - Number(b)
  if (an !== bn) return an ? -1 : 1 // numeric identifiers sort before alphanumeric ones
  return a < b ? -1 : a > b ? 1 : 0
}

/** Semver precedence: negative when a < b, 0 when equal, positive when a > b. */
export function compareVersions(a: Version, b: Version): number {
  const core = a.major - b.major || a.minor - b.minor || a.patch - b.patch
  if (core !== 0) return core
  // A pre-release sorts before its release: 1.0.0-rc.1 < 1.0.0.
  if (!a.prerelease.length || !b.prerelease.length) return b.prerelease.length - a.prerelease.length
  for (let i = 0; i < Math.min(a.prerelease.length, b.prerelease.length); i++) {
    const c = compareIdentifiers(a.prerelease[i], b.prerelease[i])
    if (c !== 0) return c
  }
  return a.prerelease.length - b.prerelease.length
}

/** The highest version among these tags, pre-releases included only when asked. */
export function highestVersion(tags: string[], { prereleases = false } = {}): Version | null {
  let best: Version | null = null
  for (const tag of tags) {
    const v = parseVersionTag(tag)
    if (!v || (v.prerelease.length && !prereleases)) continue
    // Stryker disable next-line EqualityOperator: two tags of equal precedence are one version (no build metadata), so either may win
    if (!best || compareVersions(v, best) > 0) best = v
  }
  return best
}

// --- Docker tag names ---

/** `sha-` and the first 12 hex digits of the commit. */
export function shaTag(sha: string): string {
  return `sha-${sha.slice(0, 12)}`
}

/**
 * A branch name as a Docker tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`): other characters
 * become `-` (`feature/x` -> `feature-x`). Names that would pass for another kind of
 * tag (`latest`, `1.2.3`, `sha-…`, `pr-12`) get a `branch-` prefix, so a branch can
 * never overwrite a release or `latest`.
 */
export function branchTag(branch: string): string {
  let tag = branch.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[.-]+/, '')
  if (tag === '') tag = 'unnamed'
  const reserved = tag === 'latest' || /^v?\d+\.\d/.test(tag) || /^sha-[0-9a-f]+$/.test(tag) || /^pr-\d+$/.test(tag)
  if (reserved) tag = `branch-${tag}`
  return tag.slice(0, 128).replace(/[.-]+$/, '')
}

// --- the policy ---

/** The tags for this build. Returns no tags (and says why) when nothing is to be pushed. */
export function decideTags({ ref, sha, defaultBranch, existingTags, forceBranch = false }: TagPolicyInput): TagDecision {
  const commitTag: PlannedTag = { tag: shaTag(sha), kind: 'sha' }
  const from = ref.source === 'git' ? '' : ` (from ${ref.source})`

  if (ref.kind === 'tag') {
    const version = parseVersionTag(ref.name)
    if (!version) {
      return { tags: [], version: shaTag(sha), reason: `tag ${ref.name}${from} is not a release tag (vX.Y.Z[-pre]): nothing to push` }
    }
    const tags: PlannedTag[] = [{ tag: version.text, kind: 'version' }]
    const highest = highestVersion(existingTags)
    let why: string
    if (version.prerelease.length) why = 'not latest: a pre-release'
    else if (highest && compareVersions(version, highest) < 0) why = `not latest: v${highest.text} is higher`
    else {
      tags.push({ tag: 'latest', kind: 'latest' })
      why = 'the highest release, so also latest'
    }
    return { tags, version: version.text, reason: `release ${ref.name}${from}: ${why}` }
  }

  if (ref.kind === 'branch' && ref.name === defaultBranch) {
    return {
      tags: [commitTag, { tag: branchTag(ref.name), kind: 'branch' }],
      version: shaTag(sha),
      reason: `the default branch ${ref.name}${from}`,
    }
  }

  const what =
    ref.kind === 'branch'
      ? `branch ${ref.name}${from} is not the default branch (${defaultBranch})`
      : ref.kind === 'pull-request'
        ? `pull request ${ref.pullRequest ? `#${ref.pullRequest}` : ref.name}${from}`
        : 'a detached HEAD with no branch or release tag'
  if (!forceBranch) return { tags: [], version: shaTag(sha), reason: `${what}: nothing to push (--force-branch pushes it anyway)` }

  const tags = [commitTag]
  // A PR's head branch may be named `main` in a fork: its tag is pr-<N>, never the branch.
  if (ref.kind === 'pull-request' && ref.pullRequest) tags.push({ tag: `pr-${ref.pullRequest}`, kind: 'branch' })
  else if (ref.kind === 'branch') tags.push({ tag: branchTag(ref.name), kind: 'branch' })
  return { tags, version: shaTag(sha), reason: `${what}, pushed because of --force-branch` }
}

/** Whether this ref may earn `latest` (a release tag, not a pre-release): only then do older releases matter. */
export function mayBeLatest(ref: BuildRef): boolean {
  const version = ref.kind === 'tag' ? parseVersionTag(ref.name) : null
  return version !== null && version.prerelease.length === 0
}

// --- which ref CI says it is building ---

/**
 * The ref named by the CI's env, or undefined when no CI variable names one (a laptop).
 *   CircleCI: CIRCLE_TAG, CIRCLE_PULL_REQUEST (+ CIRCLE_BRANCH), CIRCLE_BRANCH.
 *   GitHub Actions: GITHUB_REF = refs/tags/X, refs/heads/X, refs/pull/N/merge; a
 *   pull_request(_target) event is a PR whatever GITHUB_REF says.
 */
export function ciRefFromEnv(env: NodeJS.ProcessEnv): BuildRef | undefined {
  const set = (name: string) => (env[name] ?? '').trim() !== ''
  if (set('CIRCLE_TAG')) return { kind: 'tag', name: env.CIRCLE_TAG!.trim(), source: 'CIRCLE_TAG' }
  if (set('CIRCLE_PULL_REQUEST')) {
    const number = /\/pull\/(\d+)\/?$/.exec(env.CIRCLE_PULL_REQUEST!.trim())?.[1]
    return { kind: 'pull-request', name: env.CIRCLE_BRANCH?.trim() ?? '', pullRequest: number, source: 'CIRCLE_PULL_REQUEST' }
  }
  if (set('CIRCLE_BRANCH')) {
    const branch = env.CIRCLE_BRANCH!.trim()
    // A PR from a fork is built as branch `pull/<N>`.
    const fork = /^pull\/(\d+)$/.exec(branch)
    if (fork) return { kind: 'pull-request', name: branch, pullRequest: fork[1], source: 'CIRCLE_BRANCH' }
    return { kind: 'branch', name: branch, source: 'CIRCLE_BRANCH' }
  }
  if (set('GITHUB_REF')) {
    const ref = env.GITHUB_REF!.trim()
    const pull = /^refs\/pull\/(\d+)\//.exec(ref)
    // Stryker disable next-line StringLiteral: any fallback that does not start with pull_request reads the same
    if (pull || /^pull_request/.test(env.GITHUB_EVENT_NAME ?? '')) {
      return { kind: 'pull-request', name: env.GITHUB_HEAD_REF ?? '', pullRequest: pull?.[1], source: 'GITHUB_REF' }
    }
    if (ref.startsWith('refs/tags/')) return { kind: 'tag', name: ref.slice('refs/tags/'.length), source: 'GITHUB_REF' }
    if (ref.startsWith('refs/heads/')) return { kind: 'branch', name: ref.slice('refs/heads/'.length), source: 'GITHUB_REF' }
  }
  return undefined
}

/**
 * What is being built, from CI's env when it names a ref, else from git: the checked-out
 * branch, else the highest release tag at HEAD, else a detached commit.
 */
export function chooseRef(ci: BuildRef | undefined, git: { branch?: string; tagsAtHead: string[] }): BuildRef {
  if (ci) return ci
  if (git.branch) return { kind: 'branch', name: git.branch, source: 'git' }
  const release = highestVersion(git.tagsAtHead, { prereleases: true })
  if (release) return { kind: 'tag', name: `v${release.text}`, source: 'git' }
  return { kind: 'detached', name: '', source: 'git' }
}

// --- labels ---

export interface LabelInput {
  sha: string
  version: string
  /** The commit's committer date, ISO 8601: the same for every rebuild of the commit. */
  commitTime: string
  sourceUrl?: string
}

/** The OCI annotations the final image carries, from the commit (never from `now`). */
export function ociLabels({ sha, version, commitTime, sourceUrl }: LabelInput): Record<string, string> {
  const labels: Record<string, string> = {
    [LABELS.revision]: sha,
    [LABELS.version]: version,
    // Stryker disable next-line Regex: toISOString has .000Z only at its end, anchored or not
    [LABELS.created]: new Date(commitTime).toISOString().replace(/\.000Z$/, 'Z'),
  }
  if (sourceUrl) labels[LABELS.source] = sourceUrl
  return labels
}

/**
 * A remote URL as a public source link: credentials dropped, scp-style and ssh URLs as
 * https (`git@github.com:acme/app.git` -> `https://github.com/acme/app`). Local paths -> undefined.
 */
export function sourceUrlFromRemote(remote: string): string | undefined {
  const url = remote.trim()
  const scp = /^(?:[^@/\s]+@)?([^:/\s]+):(?!\/)(.+)$/.exec(url)
  let host: string
  let pathname: string
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return undefined
    }
    if (!['http:', 'https:', 'ssh:', 'git:'].includes(parsed.protocol) || !parsed.hostname) return undefined
    host = parsed.protocol === 'http:' ? `http://${parsed.host}` : `https://${parsed.hostname}`
    pathname = parsed.pathname
  } else if (scp) {
    host = `https://${scp[1]}`
    pathname = '/' + scp[2]
  } else return undefined
  return host + pathname.replace(/\/+$/, '').replace(/\.git$/, '')
}
