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
import { buildImageRepository, buildImageTagAt, buildImageTagsAlongFirstParent } from './content-tag.mts'
import { LABELS } from './labels.mts'
import * as docker from './docker.mts'
import { isAnonymousReadRefusal, manifestDigest, RegistryAuthError, RegistryUnavailableError, type Credentials } from './registry.mts'
import { describeSigner, type Verifier } from './signature.mts'

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
  /** That commit's full registry cache (every stage's layers, cacheRef()), when its job exported one: preferred over the image's inline cache. */
  cacheRef?: string
}

/** What the job that pushed the build image did about a full (mode=max) registry cache. */
export interface CacheExport {
  /** `exported`: to `ref`; `failed`: tried, a warning; `unsupported`: this engine cannot export one. */
  outcome: 'exported' | 'failed' | 'unsupported'
  ref?: string
  /** The stages whose layers the inline cache lacks (unsupported: a fresh runner rebuilds them). */
  stages?: string[]
  note?: string
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
  /** When this build pushes: the full registry cache it exported (or why not). */
  export?: CacheExport
}

/** The full registry cache of a build image ref: a tag of its own next to the image (`<tag>-cache`), in the same repository, so a registry that wants repositories made first (ECR) needs none more. */
export function cacheRef(imageRef: string): string {
  return `${imageRef}${CACHE_TAG_SUFFIX}`
}
export const CACHE_TAG_SUFFIX = '-cache'

/** An earlier commit worth asking about, with its tag (null: it has none, e.g. no config there). */
export interface CacheCandidate {
  commit: string
  tag: string | null
  distance: number
  via: 'first-parent' | 'merge-base'
}

export interface CandidateOptions {
  /** First-parent ancestors of HEAD to look at (HEAD is looked at too). Default CACHE_DEPTH. */
  depth?: number
  /** The config's path inside the repository (default build.config.json). */
  configFile?: string
  /** `defaultBranch` from build.config.json, when set. */
  defaultBranch?: string
  /** GITHUB_BASE_REF (a pull request's target branch) is read from here. */
  env?: NodeJS.ProcessEnv
}

/**
 * The commits to ask about with their tags, nearest first: HEAD and its first-parent
 * ancestors (up to `depth`; tags from a handful of git processes, whatever the depth),
 * then the merge-base with the default branch when it is not among them. `history`: how
 * many first-parent commits there were (fewer than asked in a short or shallow history).
 */
export async function cacheCandidates(repo: RepoInfo, options: CandidateOptions = {}): Promise<{ candidates: CacheCandidate[]; shallow: boolean; history: number }> {
  const $git = git(repo.root)
  const depth = options.depth ?? CACHE_DEPTH
  const configFile = options.configFile ?? CONFIG_FILE
  const [line, shallowOut, base] = await Promise.all([
    buildImageTagsAlongFirstParent(repo, depth + 1, configFile),
    $git({ nothrow: true })`git rev-parse --is-shallow-repository`,
    mergeBase(repo, options),
  ])
  const shallow = shallowOut.stdout.trim() === 'true'
  const candidates: CacheCandidate[] = line.map((at, distance) => ({ commit: at.commit, tag: at.tag, distance, via: 'first-parent' }))
  // The merge-base with the default branch: a branch that merged the default branch in,
  // or one whose own history is longer than the bound, still finds the default branch's image.
  if (base && !line.some((at) => at.commit === base)) {
    const [at, count] = await Promise.all([buildImageTagAt(repo, base, configFile), $git({ nothrow: true })`git rev-list --count ${`${base}..HEAD`}`])
    candidates.push({ commit: base, tag: at.tag, distance: Number(count.stdout.trim()) || depth + 1, via: 'merge-base' })
  }
  return { candidates, shallow, history: line.length }
}

/** The merge-base of HEAD and the default branch, when the default branch is known here. */
async function mergeBase(repo: RepoInfo, options: CandidateOptions): Promise<string | undefined> {
  const ref = await defaultBranchRef(repo, options)
  if (!ref) return undefined
  const out = await git(repo.root)({ nothrow: true })`git merge-base HEAD ${ref}`
  return out.exitCode === 0 ? out.stdout.trim() || undefined : undefined
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
  /**
   * With `signing` configured: an earlier image counts only when its signature verifies
   * (one that does not is skipped, with a warning), and is offered by its verified digest.
   */
  verify?: Verifier
}

/**
 * The registry's image for the nearest earlier commit, or null with why. Never throws
 * for the registry: a lookup it cannot answer is a warning.
 */
export async function registryCacheImage(options: RegistryLookupOptions): Promise<CacheLookup> {
  const started = performance.now()
  const { repo, config, tag } = options
  const repository = buildImageRepository(config)
  const { candidates, shallow, history } = await cacheCandidates(repo, { depth: options.depth, configFile: options.configFile, defaultBranch: config.defaultBranch, env: options.env })
  const commits = candidates.length
  // A shallow clone whose history ends before the bound: say what was searched, and how to search more.
  const cutShort = shallow && history < (options.depth ?? CACHE_DEPTH) + 1
  let asked = 0
  const done = (image: CacheImage | null, note?: string): CacheLookup => ({ image, note, commits, asked, shallow, durationMs: Math.round(performance.now() - started) })

  // One question per distinct tag (commits that left the inputs alone share one), nearest
  // first; the current tag is not in the registry, or nothing would be built.
  const seen = new Set<string>([tag])
  const questions = candidates.filter((c): c is CacheCandidate & { tag: string } => {
    if (c.tag === null || seen.has(c.tag)) return false
    seen.add(c.tag)
    return true
  })
  for (let i = 0; i < questions.length; i += BATCH) {
    const batch = questions.slice(i, i + BATCH)
    asked += batch.length
    let found: Array<string | null>
    try {
      found = await Promise.all(batch.map((c) => manifestDigest(`${repository}:${c.tag}`, { credentials: options.credentials, retries: options.retries, baseDelayMs: options.baseDelayMs })))
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
    for (const [k, c] of batch.entries()) {
      const digest = found[k]
      if (digest === null) continue
      let ref = `${repository}:${c.tag}`
      if (options.verify) {
        if (!(await options.verify(repository, digest))) {
          warn(`cache: ${ref} (${digest}) has no valid signature from ${describeSigner(config.signing!)}: NOT TRUSTED, not used as cache`)
          continue
        }
        ref = `${ref}@${digest}`
      }
      // A signed image's cache ref carries no signature: with signing configured only the verified image serves.
      const full = options.verify ? undefined : await fullCacheOf(`${repository}:${c.tag}`, options)
      return done({ ref, source: 'registry', commit: c.commit, distance: c.distance, via: c.via, ...(full ? { cacheRef: full } : {}) }, cutShort ? shallowNote(history) : undefined)
    }
  }
  const searched = `${commits} earlier commit${commits === 1 ? '' : 's'} (${asked} distinct tag${asked === 1 ? '' : 's'})`
  const note = cutShort ? `${shallowNote(history)}; none of its ${searched} has an image in the registry` : `none of ${searched} has an image in the registry`
  return done(null, note)
}

/** The image's full registry cache ref when the registry has it; one that cannot be asked about is a warning (the image's inline cache still serves). */
async function fullCacheOf(ref: string, options: RegistryLookupOptions): Promise<string | undefined> {
  const full = cacheRef(ref)
  try {
    return (await manifestDigest(full, { credentials: options.credentials, retries: options.retries, baseDelayMs: options.baseDelayMs })) ? full : undefined
  } catch (error) {
    warn(`cache lookup: could not ask for ${full} (${(error as Error).message}): using the image's inline cache alone`)
    return undefined
  }
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
  if (lookup.image.cacheRef) info(`cache: with that commit's full registry cache ${lookup.image.cacheRef} (every stage's layers)`)
  if (lookup.note) info(`cache: ${lookup.note}`)
}

/** The lookup without an earlier commit's full registry cache: its image alone. */
export function withoutFullCache(lookup: CacheLookup): CacheLookup {
  if (!lookup.image?.cacheRef) return lookup
  const { cacheRef: _, ...image } = lookup.image
  return { ...lookup, image }
}

/** CBS_CACHE_DEPTH: how many first-parent ancestors the registry cache lookup searches (default 20). */
export function cacheDepthFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const n = Number(env.CBS_CACHE_DEPTH)
  return env.CBS_CACHE_DEPTH?.trim() && Number.isInteger(n) && n >= 0 ? n : undefined
}
