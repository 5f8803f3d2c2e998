// What push-images is publishing, asked of git and the CI's env: the commit, which ref
// it is built as (tag, branch, pull request, detached), the default branch, the version
// tags that exist, and the facts the OCI labels need. A fixed handful of git processes.
import fs from 'node:fs'
import { WorkError } from '../core/cli.mts'
import { git } from '../core/git.mts'
import { chooseRef, ciRefFromEnv, sourceUrlFromRemote, type BuildRef } from './release-tags.mts'

export interface GitState {
  /** HEAD's full object id. */
  sha: string
  ref: BuildRef
  defaultBranch: string
  /** Where the default branch came from: `config`, the Actions event, `origin/HEAD` or `fallback`. */
  defaultBranchSource: 'config' | 'GITHUB_EVENT_PATH' | 'origin/HEAD' | 'fallback'
  /** Every tag whose name starts with `v`. */
  versionTags: string[]
  /** HEAD's committer date (ISO 8601): the `created` label, the same for every rebuild. */
  commitTime: string
  /** A public URL of the repository, when CI or the origin remote names one. */
  sourceUrl?: string
  /** Uncommitted changes (tracked or untracked): the image is not exactly the commit. */
  dirty: boolean
  /** The changed paths, as `git status --porcelain` lists them (untracked directories as `dir/`). */
  changes: string[]
  /** A shallow clone may lack older tags, which `latest` is decided from. */
  shallow: boolean
}

export interface ResolveOptions {
  /** The repository root. */
  repo: string
  env?: NodeJS.ProcessEnv
  /** `defaultBranch` from build.config.json, when set. */
  defaultBranch?: string
}

/** The repository URL from CI's env (GitHub Actions, CircleCI), or undefined. */
function ciSourceUrl(env: NodeJS.ProcessEnv): string | undefined {
  if (env.GITHUB_REPOSITORY) return `${(env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '')}/${env.GITHUB_REPOSITORY}`
  if (env.CIRCLE_REPOSITORY_URL) return sourceUrlFromRemote(env.CIRCLE_REPOSITORY_URL)
  return undefined
}

/**
 * The default branch from a GitHub Actions event payload (`repository.default_branch`):
 * actions/checkout leaves no origin/HEAD to ask.
 */
function eventDefaultBranch(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.GITHUB_EVENT_PATH) return undefined
  try {
    const event = JSON.parse(fs.readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as { repository?: { default_branch?: unknown } }
    const branch = event.repository?.default_branch
    return typeof branch === 'string' && branch !== '' ? branch : undefined
  } catch {
    return undefined
  }
}

export async function resolveGitState({ repo, env = process.env, defaultBranch }: ResolveOptions): Promise<GitState> {
  const $git = git(repo)
  const head = (await $git`git show -s --format=%H%n%cI HEAD`).stdout.trim().split('\n')
  const [sha, commitTime] = head
  // Exit 1 when detached: not an error.
  const branch = (await $git({ nothrow: true })`git symbolic-ref -q --short HEAD`).stdout.trim() || undefined
  // Each v* tag with the commit it points at (peeled, for annotated tags).
  const tagLines = (await $git`git for-each-ref --format=${'%(refname:strip=2) %(objectname) %(*objectname)'} refs/tags/v*`).stdout
  const tagCommits = new Map<string, string>()
  for (const line of tagLines.split('\n').filter(Boolean)) {
    const [name, object, peeled] = line.split(' ')
    tagCommits.set(name, peeled || object)
  }
  const tagsAtHead = [...tagCommits].filter(([, commit]) => commit === sha).map(([name]) => name)

  const ref = chooseRef(ciRefFromEnv(env), { branch, tagsAtHead })
  // CI says "tag vX": publishing vX from another commit would be wrong, so check it.
  if (ref.kind === 'tag' && tagCommits.has(ref.name) && tagCommits.get(ref.name) !== sha) {
    throw new WorkError(
      `${ref.source} names tag ${ref.name}, which is commit ${tagCommits.get(ref.name)!.slice(0, 12)}, but HEAD is ${sha.slice(0, 12)}: check out the tag (git checkout ${ref.name})`,
    )
  }

  let defaultBranchSource: GitState['defaultBranchSource'] = 'config'
  if (!defaultBranch) {
    defaultBranch = eventDefaultBranch(env)
    defaultBranchSource = 'GITHUB_EVENT_PATH'
  }
  if (!defaultBranch) {
    const originHead = (await $git({ nothrow: true })`git symbolic-ref -q --short refs/remotes/origin/HEAD`).stdout.trim()
    defaultBranch = originHead.replace(/^origin\//, '') || undefined
    defaultBranchSource = defaultBranch ? 'origin/HEAD' : 'fallback'
    defaultBranch ??= 'main'
  }

  const remote = (await $git({ nothrow: true })`git remote get-url origin`).stdout.trim()
  // -z: paths verbatim (no quoting); a rename's second entry is its source, skipped.
  const entries = (await $git`git status --porcelain -z`).stdout.split('\0')
  const changes: string[] = []
  for (let i = 0; i < entries.length; i++) {
    if (!entries[i]) continue
    changes.push(entries[i].slice(3))
    if (/^[RC]/.test(entries[i])) i++
  }
  const shallow = (await $git`git rev-parse --is-shallow-repository`).stdout.trim() === 'true'

  return {
    sha,
    ref,
    defaultBranch,
    defaultBranchSource,
    versionTags: [...tagCommits.keys()],
    commitTime,
    sourceUrl: ciSourceUrl(env) ?? (remote ? sourceUrlFromRemote(remote) : undefined),
    dirty: changes.length > 0,
    changes,
    shallow,
  }
}
