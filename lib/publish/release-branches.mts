// Where a release may come from: a release tag is published only when its commit is on
// the default branch or on a release branch. Anyone who may push a tag but not merge
// could otherwise tag an unreviewed commit `v99.0.0` and have the normal pipeline publish
// it as `99.0.0` and `latest`.
//
// The branches are origin's (as the CI checkout fetched them) and the local ones: the
// default branch, and those matching `releaseBranches` in build.config.json (by default
// cherry-pick's target branches, where patch releases are tagged). One git process.
import picomatch from 'picomatch'
import { WorkError } from '../core/cli.mts'
import type { Config } from '../core/config.mts'
import { git } from '../core/git.mts'

/** The release branch globs: `releaseBranches`, else cherry-pick's target branches. */
export function releaseBranchGlobs(config: Pick<Config, 'releaseBranches' | 'cherryPick'>): string[] {
  return config.releaseBranches ?? config.cherryPick.targetBranches
}

export interface ReleaseSourceOptions {
  /** The repository root. */
  repo: string
  /** The release tag being published (`v1.2.3`) and its commit. */
  tag: string
  sha: string
  defaultBranch: string
  /** Globs of release branch names (`release-*`). */
  releaseBranches: string[]
  /** A shallow clone may not reach the commit from a branch that does contain it. */
  shallow: boolean
}

/** The branch names (origin's or local) matching the default branch or a release glob whose history contains `sha`. */
export async function releaseBranchesContaining({ repo, sha, defaultBranch, releaseBranches }: Omit<ReleaseSourceOptions, 'tag' | 'shallow'>): Promise<string[]> {
  const isRelease = picomatch(releaseBranches)
  const out = await git(repo)`git for-each-ref --contains ${sha} --format=${'%(refname)'} refs/heads/ refs/remotes/origin/`
  const names = out.stdout
    .split('\n')
    .filter(Boolean)
    .map((ref) => ref.replace(/^refs\/(heads|remotes\/origin)\//, ''))
    .filter((name) => name !== 'HEAD' && (name === defaultBranch || isRelease(name)))
  return [...new Set(names)]
}

/**
 * The branch that vouches for this release, or a WorkError (exit 1) saying which
 * commit is not on which branches and how to fix it.
 */
export async function checkReleaseSource(options: ReleaseSourceOptions): Promise<string> {
  const found = await releaseBranchesContaining(options)
  if (found.length) return found.includes(options.defaultBranch) ? options.defaultBranch : found[0]
  const { tag, sha, defaultBranch, releaseBranches, shallow } = options
  throw new WorkError(
    `release tag ${tag} is commit ${sha.slice(0, 12)}, which is on neither the default branch (${defaultBranch}) nor a release branch (${releaseBranches.join(', ')}): ` +
      `tag a commit that was merged there (git push origin :refs/tags/${tag} removes this tag), or name its branch in "releaseBranches" in build.config.json` +
      (shallow ? '; this clone is shallow, so fetch the history too (fetch-depth: 0)' : ''),
  )
}
