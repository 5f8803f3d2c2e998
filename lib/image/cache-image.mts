// The nearest earlier build image, offered to `docker build` as --cache-from when the
// build image must be built (its tag is neither local nor in the registry):
//   1. a local build of this build image under another tag (the newest): it wins;
//   2. else the registry's image for the nearest earlier commit: the first-parent
//      ancestors of HEAD (HEAD itself too: a dirty working tree's tag differs from its
//      commit's), up to a bound, then the merge-base with the default branch. Each
//      commit's tag is computed from git objects alone (its own config and inputs), a few
//      commits at a time, and the registry is asked with manifest HEADs (no pull), nearest
//      first, stopping at the first batch that has one.
// A shallow clone has only the history it fetched: the lookup uses that and says so.
// Nothing here fails the build: a lookup the registry cannot answer is a warning, and
// the build goes on without a registry cache.
import path from 'node:path'
import { CONFIG_FILE, type Config } from '../core/config.mts'
import { git, type RepoInfo } from '../core/git.mts'
import { info, warn } from '../core/log.mts'
import { buildImageRepository, buildImageTagAt } from './content-tag.mts'
import { LABELS } from './labels.mts'
import * as docker from './docker.mts'
import { isAnonymousReadRefusal, manifestDigest, RegistryAuthError, RegistryUnavailableError, type Credentials } from './registry.mts'

/** How many first-parent ancestors of HEAD are looked at, by default. */
export const CACHE_DEPTH = 20
/** How many tags are asked of the registry at once. */
const BATCH = 4

/** The image a build was offered as --cache-from, and where it came from. */
export interface CacheImage {
  ref: string
  /** `local`: an earlier build in the daemon; `registry`: an earlier commit's image in the registry. */
  source: 'local' | 'registry'
  /** The commit whose build image it is (registry only). */
  commit?: string
  /** First-parent commits between HEAD and that commit: 1 is the parent; 0 is HEAD (the working tree's inputs differ). */
  distance?: number
  /** How the commit was found: on HEAD's first-parent line, or as the merge-base with the default branch. */
  via?: 'first-parent' | 'merge-base'
}

/** What the cache lookup found, for the log, `--json` and the timing report. */
export interface CacheLookup {
  /** The image offered as --cache-from, or null (with `note` saying why). */
  image: CacheImage | null
  /** Why there is none, or what limited the search (a shallow clone). */
  note?: string
  /** Earlier commits whose tags were computed, and distinct tags asked of the registry. */
  commits: number
  asked: number
  /** The clone is shallow: the search saw only the history it has. */
  shallow: boolean
  /** How long the lookup took (git and the registry), in ms. */
  durationMs: number
}

/** An earlier commit worth asking about. */
export interface CacheCandidate {
  commit: string
  distance: number
  via: 'first-parent' | 'merge-base'
}

export interface CandidateOptions {
  /** First-parent ancestors of HEAD to look at (HEAD included). Default CACHE_DEPTH. */
  depth?: number
  /** `defaultBranch` from build.config.json, when set. */
  defaultBranch?: string
  /** GITHUB_BASE_REF (a pull request's target branch) is read from here. */
  env?: NodeJS.ProcessEnv
}

/**
 * The commits to ask about, nearest first: HEAD and its first-parent ancestors (up to
 * `depth`), then the merge-base with the default branch when it is not among them.
 * `shallow`: the clone is shallow (the list ends where its history does).
 */
export async function cacheCandidates(repo: RepoInfo, options: CandidateOptions = {}): Promise<{ candidates: CacheCandidate[]; shallow: boolean; history: number }> {
  const $git = git(repo.root)
  const depth = options.depth ?? CACHE_DEPTH
  const [listed, shallowOut] = await Promise.all([
    $git({ nothrow: true })`git rev-list --first-parent --max-count=${String(depth + 1)} HEAD --`,
    $git({ nothrow: true })`git rev-parse --is-shallow-repository`,
  ])
  const shallow = shallowOut.stdout.trim() === 'true'
  if (listed.exitCode !== 0) return { candidates: [], shallow, history: 0 } // no commit yet
  const commits = listed.stdout.split('\n').filter(Boolean)
  const candidates: CacheCandidate[] = commits.map((commit, distance) => ({ commit, distance, via: 'first-parent' }))

  // The merge-base with the default branch: a branch that merged the default branch in,
  // or one whose own history is longer than the bound, still finds the default branch's image.
  const base = await defaultBranchRef(repo, options)
  if (base) {
    const mb = await $git({ nothrow: true })`git merge-base HEAD ${base}`
    const commit = mb.stdout.trim()
    if (mb.exitCode === 0 && commit && !commits.includes(commit)) {
      const count = await $git({ nothrow: true })`git rev-list --count ${`${commit}..HEAD`}`
      candidates.push({ commit, distance: Number(count.stdout.trim()) || depth + 1, via: 'merge-base' })
    }
  }
  return { candidates, shallow, history: commits.length }
}

/** The default branch as a local ref: `defaultBranch` from the config, else a pull request's target (GITHUB_BASE_REF), else origin/HEAD. */
async function defaultBranchRef(repo: RepoInfo, options: CandidateOptions): Promise<string | undefined> {
  const names = [options.defaultBranch, options.env?.GITHUB_BASE_REF].filter((b): b is string => Boolean(b))
  const refs = [...names.flatMap((b) => [`refs/remotes/origin/${b}`, `refs/heads/${b}`]), 'refs/remotes/origin/HEAD']
  for (const ref of refs) {
    const out = await git(repo.root)({ nothrow: true })`git rev-parse --verify --quiet --end-of-options ${`${ref}^{commit}`}`
    if (out.exitCode === 0) return ref
  }
  return undefined
}

/** The newest local build of this build image under another tag: layers worth reusing. */
export async function localCacheImage(name: string, current: string): Promise<string | undefined> {
  const refs = await docker.listImages(`${LABELS.buildImage}=${name}`)
  return refs.find((r) => r !== current)
}

export interface RegistryLookupOptions {
  repo: RepoInfo
  config: Config
  /** The tag being built: an earlier commit with the same tag has no image either. */
  tag: string
  /** The config's path inside the repository (default build.config.json). */
  configFile?: string
  credentials?: Credentials
  retries: number
  baseDelayMs: number
  depth?: number
  env?: NodeJS.ProcessEnv
}

/**
 * The registry's image for the nearest earlier commit, or null with why. Never throws
 * for the registry: a lookup it cannot answer is a warning.
 */
export async function registryCacheImage(options: RegistryLookupOptions): Promise<CacheLookup> {
  const started = performance.now()
  const { repo, config, tag } = options
  const configFile = options.configFile ?? CONFIG_FILE
  const repository = buildImageRepository(config)
  const { candidates, shallow, history } = await cacheCandidates(repo, { depth: options.depth, defaultBranch: config.defaultBranch, env: options.env })
  let commits = 0
  let asked = 0
  const done = (image: CacheImage | null, note?: string): CacheLookup => ({ image, note, commits, asked, shallow, durationMs: Math.round(performance.now() - started) })

  const seen = new Set<string>([tag])
  for (let i = 0; i < candidates.length; i += BATCH) {
    const batch = candidates.slice(i, i + BATCH)
    commits += batch.length
    // Tags from git objects: a commit without a config (or with an invalid one) has none.
    const tagged = await Promise.all(batch.map(async (c) => ({ ...c, at: await buildImageTagAt(repo, c.commit, configFile) })))
    const fresh = tagged.filter((c): c is typeof c & { at: { tag: string } } => {
      if (c.at.tag === null || seen.has(c.at.tag)) return false
      seen.add(c.at.tag)
      return true
    })
    asked += fresh.length
    let found: Array<string | null>
    try {
      found = await Promise.all(fresh.map((c) => manifestDigest(`${repository}:${c.at.tag}`, { credentials: options.credentials, retries: options.retries, baseDelayMs: options.baseDelayMs })))
    } catch (error) {
      const why =
        error instanceof RegistryUnavailableError
          ? error.message
          : error instanceof RegistryAuthError
            ? `${isAnonymousReadRefusal(error) ? 'anonymous read refused' : 'credentials refused'} (HTTP ${error.status})`
            : (error as Error).message
      warn(`cache lookup: could not ask ${repository} for earlier commits' images (${why}): building without a registry cache`)
      return done(null, `the registry could not be asked: ${why}`)
    }
    const hit = fresh.findIndex((_, k) => found[k] !== null)
    if (hit >= 0) {
      const c = fresh[hit]
      return done({ ref: `${repository}:${c.at.tag}`, source: 'registry', commit: c.commit, distance: c.distance, via: c.via }, shallow ? shallowNote(history) : undefined)
    }
  }
  const searched = `${commits} earlier commit${commits === 1 ? '' : 's'} (${asked} distinct tag${asked === 1 ? '' : 's'})`
  const note = shallow ? `${shallowNote(history)}; none of its ${searched} has an image in the registry` : `none of ${searched} has an image in the registry`
  return done(null, note)
}

function shallowNote(commits: number): string {
  return `shallow clone: searched the ${commits} commit${commits === 1 ? '' : 's'} of history it has (fetch more to find earlier images: actions/checkout fetch-depth: ${CACHE_DEPTH + 1}, or git fetch --deepen=${CACHE_DEPTH})`
}

/** `127.0.0.1:5000/acme-build:4f2a…, the image of commit 1a2b3c4d5e6f, 2 commits back`. */
export function describeCache(image: CacheImage): string {
  if (image.source === 'local') return `${image.ref} (an earlier build in the local daemon)`
  const back = image.distance === 0 ? 'HEAD itself: the working tree changed an input' : `${image.distance} commit${image.distance === 1 ? '' : 's'} back`
  const how = image.via === 'merge-base' ? ', the merge-base with the default branch' : ''
  return `${image.ref} (the image of commit ${image.commit!.slice(0, 12)}, ${back}${how})`
}

/** The config's path inside the repository, or undefined when it lies outside (earlier commits cannot be read then). */
export function configInRepo(root: string, file: string | undefined): string | undefined {
  if (!file) return CONFIG_FILE
  const rel = path.relative(root, path.resolve(file))
  return rel.startsWith('..') || path.isAbsolute(rel) ? undefined : rel.split(path.sep).join('/')
}

/** Say where the cache came from (or why there is none) in one line. */
export function logCache(lookup: CacheLookup): void {
  if (!lookup.image) {
    info(`cache: none (${lookup.note ?? 'nothing to reuse'})`)
    return
  }
  const asked = lookup.image.source === 'registry' ? `; found in ${lookup.durationMs} ms (${lookup.asked} tag${lookup.asked === 1 ? '' : 's'} asked)` : ''
  info(`cache: ${describeCache(lookup.image)}${asked}`)
  if (lookup.note) info(`cache: ${lookup.note}`)
}
