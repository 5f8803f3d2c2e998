// Make the build image available locally, the cheapest way (pull-or-build and
// test-and-build both call ensureBuildImage):
//   1. present in the local daemon (asked once it answers at all): done, no network;
//   2. registry configured: HEAD its manifest (no pull);
//   3. found: pull (with retries);
//   4. otherwise build from a temporary context holding exactly the declared inputs: not in
//      the registry, the registry unreachable, or (without credentials) not readable to us;
//      --cache-from the nearest earlier build image: a local one, else the registry's
//      image of the nearest earlier commit (lib/image/cache-image.mts);
//   5. --push: push what was built (a refusal for credentials only warns, unless
//      --require-push), and sign it with `signing` configured (lib/image/push-build-image.mts).
// The result says why the image was built (`reason`).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { WorkError } from '../core/cli.mts'
import { onInterrupt } from '../core/interrupts.mts'
import { retrySettings } from '../core/retries.mts'
import type { Config } from '../core/config.mts'
import * as docker from './docker.mts'
import { checkContextSources, copiesWholeContext, missingFromOutput, notInInputs } from './dockerfile.mts'
import { git, listWorktreeFiles, type RepoInfo } from '../core/git.mts'
import { info, listFew, seconds, step, success, surfaceFailure, warn } from '../core/log.mts'
import { describeReuse, type BuildFailure } from './build-output.mts'
import {
  envCredentials,
  isAnonymousReadRefusal,
  manifestDigest,
  parseImageRef,
  RegistryAuthError,
  RegistryUnavailableError,
  registryCredentials,
  type Credentials,
} from './registry.mts'
import { computeBuildImageTag, type InputFile } from './content-tag.mts'
import { cacheDepthFromEnv, configInRepo, localCacheImage, logCache, registryCacheImage, withoutFullCache, type CacheLookup } from './cache-image.mts'
import { buildWithFullCache, planFullCache } from './full-cache.mts'
import { LABELS } from './labels.mts'
import { signatureVerifier, warnUnsigned, type Verifier } from './signature.mts'
import { pushBuildImage } from './push-build-image.mts'

export type Outcome = 'present' | 'pulled' | 'built' | 'pushed'

/** Why this run built the build image instead of finding or pulling it. */
export type BuildReason = 'local-only' | 'not-in-registry' | 'not-signed' | 'registry-unavailable' | 'not-readable-without-credentials' | 'pull-failed'

/** Each reason in words, for logs and the timing table. */
export const BUILD_REASONS: Record<BuildReason, string> = {
  'local-only': 'no registry configured: local-only mode',
  'not-in-registry': 'not in the registry yet',
  'not-signed': "the registry's image has no valid signature (signing in build.config.json)",
  'registry-unavailable': 'the registry could not be asked',
  'not-readable-without-credentials': 'the registry refused to let us read it without credentials',
  'pull-failed': 'the pull failed',
}

export interface Durations {
  /** Computing the tag. */
  tag: number
  /** The local lookup and the registry HEAD. */
  check: number
  pull?: number
  build?: number
  push?: number
  /** Everything, start to end. */
  total: number
}

export interface EnsureResult {
  /** The image ref, `<registry>/<name>:<tag>` or `<name>:<tag>` in local-only mode. */
  ref: string
  tag: string
  outcome: Outcome
  /** Why the image was built, when this run built it (outcome `built`, or `pushed` after a build). */
  reason?: BuildReason
  durations: Durations
  /** The pushed manifest digest, when pushed. */
  digest?: string
  /** Why a requested push did not happen (the job stays green). */
  pushSkipped?: string
  /** When this run built the image: the --cache-from it was offered (or why none). */
  cache?: CacheLookup
}

export interface EnsureOptions {
  repo: RepoInfo
  config: Config
  /** Push the image when this run built it (or when it is local but not in the registry). */
  push?: boolean
  /** A push that cannot happen (no credentials, registry down) fails the run. */
  requirePush?: boolean
  /** Where REGISTRY_USERNAME / REGISTRY_PASSWORD, DOCKER_CONFIG, REGISTRY_RETRIES come from. */
  env?: NodeJS.ProcessEnv
  /** Registry and pull/push retries (default: REGISTRY_RETRIES or 3) and the first delay (REGISTRY_RETRY_DELAY_MS or 1000). */
  retries?: number
  baseDelayMs?: number
  /** Offer the nearest earlier build image as --cache-from (default true; `--no-cache-from` turns it off). */
  cacheFrom?: boolean
  /** The config file given with --config (default <repo>/build.config.json): earlier commits' tags are computed from their copy of it. */
  configFile?: string
  /** First-parent ancestors of HEAD searched for a registry cache (default: CBS_CACHE_DEPTH, else 20). */
  cacheDepth?: number
}

const since = (start: number) => performance.now() - start

/** Why the image is to be built, and what the registry's state allows meanwhile. */
interface Missing {
  reason: BuildReason
  /** The registry could not be asked: not searched for a cache, not pushed to. */
  registryDown?: RegistryUnavailableError
  /** The registry refused to let us read without credentials: likewise. */
  unreadable?: RegistryAuthError
}

/** What the registry answered for the image's tag (step 2). */
interface RegistryAnswer {
  registry: string
  repository: string
  credentials?: Credentials
  /** With `signing` configured: whether an image's signature verifies. */
  verify?: Verifier
  /** The usable image's manifest digest; null when there is none to pull (then `missing` says why). */
  digest: string | null
  missing: Missing
}

export async function ensureBuildImage(options: EnsureOptions): Promise<EnsureResult> {
  // 1. The tag, then the local daemon: no network when the image is here.
  const run = await startRun(options)
  const checkStarted = performance.now()
  const present = await docker.imageExists(run.ref)
  if (present && !(options.push && run.config.registry)) {
    run.durations.check = since(checkStarted)
    return finish(run, { outcome: 'present' })
  }
  if (!run.config.registry) return buildLocalOnly(run, since(checkStarted))

  // 2. The registry's manifest (HEAD, no pull), verified with `signing` configured.
  const answer = await askRegistry(run, present)
  run.durations.check = since(checkStarted)
  // --push with the image already local: push only what the registry lacks.
  if (present) return answer.digest ? finish(run, { outcome: 'present' }) : pushPresent(run, answer)

  // 3. Found: pull it (a pull that fails may fall back to a build).
  const pulled = answer.digest ? await pullFound(run, answer, answer.digest) : answer.missing
  if (pulled === 'pulled') return finish(run, { outcome: 'pulled' })
  const missing: Missing = pulled

  // 4. Not in the registry (or not reachable, or not readable to us): build.
  const cache = await buildMissing(run, answer, missing)
  if (!options.push) return finish(run, { outcome: 'built', reason: missing.reason, cache })

  // 5. Push what was built.
  const pushed = await pushBuildImage(pushArgs(run, answer, missing))
  return finish(run, { outcome: pushed.digest ? 'pushed' : 'built', reason: missing.reason, ...pushed, cache })
}

/** One call's givens: its options, the image's ref and inputs, and the timings, which each phase adds to. */
type Run = Awaited<ReturnType<typeof startRun>>

/** The tag (git) while the daemon is asked whether it answers: a config error wins over a missing daemon. */
async function startRun(options: EnsureOptions) {
  const { repo, config, env = process.env } = options
  const fromEnv = retrySettings(env)
  const retry = { retries: options.retries ?? fromEnv.retries, baseDelayMs: options.baseDelayMs ?? fromEnv.baseDelayMs }
  const started = performance.now()
  const [tagged, daemon] = await Promise.allSettled([computeBuildImageTag(repo, config), docker.assertDockerAvailable()])
  if (tagged.status === 'rejected') throw tagged.reason
  if (daemon.status === 'rejected') throw daemon.reason
  const { tag, image: ref, inputs } = tagged.value
  const durations: Durations = { tag: since(started), check: 0, total: 0 }
  return { options, repo, config, env, retry, started, ref, tag, inputs, durations }
}

/** The result, its timings rounded, and the ✓ line that says how the image came to be here. */
function finish(run: Run, result: Omit<EnsureResult, 'ref' | 'tag' | 'durations'>): EnsureResult {
  const { ref, tag, durations } = run
  durations.total = since(run.started)
  for (const key of Object.keys(durations) as Array<keyof Durations>) durations[key] = Math.round(durations[key]!)
  const out = { ref, tag, durations, ...result }
  const why = out.reason ? `, because ${BUILD_REASONS[out.reason]}` : ''
  success(`build image ${out.outcome}: ${ref} (${describeDurations(durations)}${why})`)
  return out
}

/** Local-only mode: the local daemon is the cache, so the only way on is to build. */
async function buildLocalOnly(run: Run, checkMs: number): Promise<EnsureResult> {
  const { options } = run
  run.durations.check = checkMs
  const cache = await buildImage({ ...buildGivens(run), why: 'not local, and no registry is configured (local-only mode)', cacheFrom: options.cacheFrom !== false })
  if (options.push) warn('--push: no registry is configured (local-only mode), so there is nothing to push to')
  return finish(run, { outcome: 'built', reason: 'local-only', pushSkipped: options.push ? 'no registry configured' : undefined, cache })
}

/**
 * Ask the registry for the manifest (HEAD, no pull). Without credentials, a refused read
 * (401/403, at the token endpoint or on the manifest: how registries answer for a
 * private or nonexistent repository) means "not readable to me": a newcomer, a fork's
 * pull request, a contributor of a project whose image is private. Build, as for an
 * unreachable registry. With credentials it is an error: misconfigured credentials must
 * not silently cost a rebuild on every run. With `signing` configured, an image under
 * the tag without a valid signature is absent.
 */
async function askRegistry(run: Run, present: boolean): Promise<RegistryAnswer> {
  const { ref, env, config, repo, retry } = run
  const { registry, repository } = parseImageRef(ref)
  const credentials = registryCredentials(registry, env, config.registry)
  const verify = signatureVerifier(config.signing, { root: repo.root, env, registry: config.registry })
  const given = { registry, repository, credentials, verify }
  const read = await manifestDigest(ref, { credentials, ...retry }).then(
    (digest) => ({ digest }),
    (error: unknown) => {
      if (error instanceof RegistryUnavailableError) {
        warn(`${error.message}`)
        if (!present) warn(`BUILDING ${ref} LOCALLY because the registry could not be asked; this is slow, and the image will not be shared`)
        return { digest: null, missing: { reason: 'registry-unavailable', registryDown: error } satisfies Missing }
      }
      if (!credentials && isAnonymousReadRefusal(error)) {
        warnUnreadable(run, given, present, `HTTP ${error.status}`)
        return { digest: null, missing: { reason: 'not-readable-without-credentials', unreadable: error } satisfies Missing }
      }
      throw error
    },
  )
  if ('missing' in read) return { ...given, ...read }
  if (read.digest && verify && !(await verify(`${registry}/${repository}`, read.digest))) {
    warnUnsigned(ref, read.digest, config.signing!, present ? 'the local image is kept' : `BUILDING ${ref} LOCALLY`)
    return { ...given, digest: null, missing: { reason: 'not-signed' } }
  }
  return { ...given, digest: read.digest, missing: { reason: 'not-in-registry' } }
}

function warnUnreadable(run: Run, { registry, repository }: Pick<RegistryAnswer, 'registry' | 'repository'>, present: boolean, status: string): void {
  warn(`registry ${registry} refused an anonymous read of ${repository} (${status})`)
  if (!present) warn(`cannot read ${registry}/${repository} without credentials: BUILDING ${run.ref} LOCALLY; set REGISTRY_USERNAME and REGISTRY_PASSWORD to use the shared image`)
}

/** The image is local and --push asked for it: push it where the registry lacks it. */
async function pushPresent(run: Run, answer: RegistryAnswer): Promise<EnsureResult> {
  const pushed = await pushBuildImage(pushArgs(run, answer, answer.missing))
  return finish(run, { outcome: pushed.digest ? 'pushed' : 'present', ...pushed })
}

/**
 * Pull the image the registry has. A pull that keeps failing falls back to a build; one
 * refused for credentials does only when we have none (the manifest was readable, the
 * layers not). Returns `pulled`, or why the image is to be built.
 */
async function pullFound(run: Run, answer: RegistryAnswer, digest: string): Promise<'pulled' | Missing> {
  const { ref, env, retry, durations } = run
  const { registry, repository, credentials, verify } = answer
  const pullStarted = performance.now()
  info(`not local; ${registry} has it (${digest.slice(0, 19)}…): pulling`)
  try {
    // A verified image is pulled by the digest that was verified, then tagged: the tag could move in between.
    const pinned = verify ? `${registry}/${repository}@${digest}` : ref
    await step('pull', () => docker.withLogin(registry, envCredentials(env, registry), (opts) => docker.pull(pinned, { ...opts, ...retry })))
    if (verify) await docker.tagImage(pinned, ref)
    durations.pull = since(pullStarted)
    return 'pulled'
  } catch (error) {
    durations.pull = since(pullStarted)
    if (error instanceof docker.DockerAuthError && !credentials) {
      warnUnreadable(run, answer, false, 'the pull was refused')
      return { ...answer.missing, reason: 'not-readable-without-credentials', unreadable: new RegistryAuthError(registry, 401, false) }
    }
    if (error instanceof docker.DockerAuthError || !(error instanceof WorkError)) throw error
    warn(`${error.message}`)
    warn(`BUILDING ${ref} LOCALLY because the pull failed`)
    return { ...answer.missing, reason: 'pull-failed' }
  }
}

/** Build the image the registry could not give, saying why first. */
async function buildMissing(run: Run, answer: RegistryAnswer, missing: Missing): Promise<CacheLookup> {
  const { options, config, tag, env, retry } = run
  const { registry, credentials, verify } = answer
  const { reason } = missing
  const short = `${config.buildImage.name}:${tag.slice(0, 12)}…`
  const why = {
    'pull-failed': `the pull of ${short} failed`,
    'registry-unavailable': `not local; ${registry} could not be asked`,
    'not-readable-without-credentials': `not local; ${registry} does not let us read ${short} without credentials`,
    'not-in-registry': `not local; ${registry} has no ${short} (404)`,
    'not-signed': `not local; ${registry}'s ${short} has no valid signature`,
    'local-only': `not local; no registry configured`,
  }[reason]
  // The registry is searched for an earlier commit's image only when it answered us:
  // down or refusing anonymous reads, it would only fail again, slowly.
  const searchRegistry = reason === 'not-in-registry' || reason === 'not-signed' || reason === 'pull-failed'
  return buildImage({
    ...buildGivens(run),
    why,
    cacheFrom: options.cacheFrom !== false,
    registryCache: searchRegistry
      ? { registry, credentials, env, retry, configFile: options.configFile, depth: options.cacheDepth ?? cacheDepthFromEnv(env), verify }
      : undefined,
    registrySkipped: searchRegistry ? undefined : `${registry} ${reason === 'registry-unavailable' ? 'could not be asked' : 'does not let us read without credentials'}`,
    exportCache: options.push && !missing.registryDown && !missing.unreadable ? { registry, credentials, env, retry } : undefined,
  })
}

const buildGivens = ({ repo, config, ref, tag, inputs, durations }: Run) => ({ repo, config, ref, tag, inputs, durations })

function pushArgs({ ref, env, retry, durations, options, config, repo }: Run, { registry, credentials, verify }: RegistryAnswer, { registryDown, unreadable }: Missing) {
  return { ref, registry, credentials, env, retry, durations, requirePush: options.requirePush, registryDown, unreadable, verify, signing: config.signing, ecr: config.ecr, root: repo.root }
}

/** `pull 3.1s, total 3.4s`: the phases that happened. */
export function describeDurations(d: Durations): string {
  const parts = (['pull', 'build', 'push'] as const).filter((k) => d[k] !== undefined).map((k) => `${k} ${seconds(d[k]!)}`)
  return [...parts, `total ${seconds(d.total)}`].join(', ')
}

// --- building ---

interface BuildArgs {
  repo: RepoInfo
  config: Config
  ref: string
  tag: string
  inputs: InputFile[]
  durations: Durations
  /** Why this build is needed: said before the slow work starts. */
  why: string
  /** Offer an earlier build image as --cache-from (false: `--no-cache-from`). */
  cacheFrom: boolean
  /** Where to look for an earlier commit's image when no local one exists. */
  registryCache?: {
    registry: string
    credentials?: Credentials
    env: NodeJS.ProcessEnv
    retry: { retries: number; baseDelayMs: number }
    configFile?: string
    depth?: number
    /** With `signing` configured: an earlier image without a valid signature is no cache. */
    verify?: Verifier
  }
  /** Why the registry is not searched (it did not answer, or refused us). */
  registrySkipped?: string
  /** This build is pushed: export its full registry cache too (where the engine can). */
  exportCache?: { registry: string; credentials?: Credentials; env: NodeJS.ProcessEnv; retry: { retries: number; baseDelayMs: number } }
}

async function buildImage({ repo, config, ref, tag, inputs, durations, why, cacheFrom, registryCache, registrySkipped, exportCache }: BuildArgs): Promise<CacheLookup> {
  const started = performance.now()
  const context = await createBuildContext(repo.root, inputs)
  const removeContext = onInterrupt(() => fs.rmSync(context, { recursive: true, force: true }))
  try {
    const dockerfile = config.buildImage.dockerfile
    const text = fs.readFileSync(path.join(context, dockerfile), 'utf8')
    await checkContextSources(dockerfile, text, inputs, config, () => listWorktreeFiles(repo.root))
    info(`${why}: building from ${listFew(inputs.map((f) => f.path), 6)}`)
    const whole = copiesWholeContext(text, config)
    if (whole) {
      info(`${dockerfile} line ${whole.line} copies the whole build context: it holds only buildImage.inputs (${inputs.length} files), not the repository`)
    }
    // The cache lookup (the daemon, git, the registry), the builder (`docker buildx
    // inspect`, up to a quarter of a second) and the revision, at once.
    const [found, builder, revision] = await Promise.all([
      findCache({ repo, config, ref, tag, cacheFrom, registryCache, registrySkipped }),
      docker.currentBuilder(),
      sourceRevision(repo.root),
    ])
    // The legacy builder reads images only: an earlier commit's full registry cache is no use to it.
    const cache = builder.kind === 'legacy' ? await pullForLegacyBuilder(withoutFullCache(found), registryCache) : found
    logCache(cache)
    const labels = {
      [LABELS.version]: tag,
      [LABELS.revision]: revision,
      [LABELS.buildImage]: config.buildImage.name,
      [LABELS.inputs]: inputs.map((f) => f.path).join('\n'),
    }
    // The ✓ line says what the builder actually reused (its CACHED steps), not what it was offered.
    // An earlier commit's full registry cache first (BuildKit only: every stage's layers), then its image's inline cache.
    const fullCache = builder.kind !== 'legacy' && cache.image?.cacheRef ? [cache.image.cacheRef] : []
    const options = { context, dockerfile, tags: [ref], buildArgs: config.buildImage.buildArgs, labels, cacheFrom: cache.image ? [...fullCache, cache.image.ref] : [], builder }
    // The job that pushes the image exports its full registry cache in the same build (or says which stages a fresh runner rebuilds).
    const full = exportCache ? await planFullCache({ builder, dockerfile, text, ref, credentials: exportCache.credentials, retry: exportCache.retry }) : {}
    const { built, report } = await step(
      `build ${ref}${full.to ? `, exporting the full registry cache ${full.to}` : ''}`,
      async () => {
        try {
          // BuildKit reads and writes a registry cache itself: with REGISTRY_USERNAME/_PASSWORD it needs them too.
          const reads = cache.image?.source === 'registry' && builder.kind === 'buildkit'
          const remote = registryCache ?? exportCache
          const login = remote && (reads || full.to) ? envCredentials(remote.env, remote.registry) : undefined
          return await buildWithFullCache(full.to, (cacheTo) => {
            if (!login || !remote) return docker.build({ ...options, cacheTo })
            return docker.withLogin(remote.registry, login, (opts) => {
              docker.keepBuildxBuilders(opts.configDir!, remote.env)
              return docker.build({ ...options, cacheTo, configDir: opts.configDir })
            })
          })
        } catch (error) {
          const missing = error instanceof docker.DockerBuildError ? missingFromOutput(error.output) : undefined
          if (missing) throw notInInputs(dockerfile, missing)
          throw error
        }
      },
      (done) => describeReuse(done.built.output),
    ).catch((error) => {
      if (error instanceof docker.DockerBuildError && error.failure) surfaceBuildFailure(dockerfile, error.failure)
      throw error
    })
    const exported = report ?? full.report
    const result: CacheLookup = exported ? { ...cache, export: exported } : cache
    // BuildKit goes on when it cannot read a cache (` > importing cache manifest from <ref>:` and the error).
    const unread = (r: string) => builder.kind !== 'legacy' && built.output.includes(` > importing cache manifest from ${r}:`)
    if (cache.image && unread(cache.image.ref)) {
      warn(`cache: BuildKit could not read ${cache.image.ref} (see its error above): built without it`)
      return { ...result, image: null, note: `BuildKit could not read ${cache.image.ref}: built without it` }
    }
    if (cache.image?.cacheRef && unread(cache.image.cacheRef)) {
      warn(`cache: BuildKit could not read the full registry cache ${cache.image.cacheRef} (see its error above): built with the image's inline cache alone`)
      return { ...withoutFullCache(result), note: `BuildKit could not read ${cache.image.cacheRef}: built with the image's inline cache alone` }
    }
    return result
  } finally {
    await removeContext()
    durations.build = since(started)
  }
}

/**
 * The --cache-from of this build: a local earlier build wins (no network); else the
 * registry's image of the nearest earlier commit. A cache image that cannot be found is
 * a warning: the build goes on without it.
 */
async function findCache(args: Pick<BuildArgs, 'repo' | 'config' | 'ref' | 'tag' | 'cacheFrom' | 'registryCache' | 'registrySkipped'>): Promise<CacheLookup> {
  const { repo, config, ref, tag, cacheFrom, registryCache, registrySkipped } = args
  const none = (note: string): CacheLookup => ({ image: null, note, commits: 0, asked: 0, shallow: false, durationMs: 0 })
  if (!cacheFrom) return none('--no-cache-from')
  const local = await localCacheImage(config.buildImage.name, ref)
  if (local) return { ...none(''), note: undefined, image: { ref: local, source: 'local' } }
  if (!registryCache) return none(registrySkipped ? `no earlier build in the local daemon, and ${registrySkipped}` : 'no earlier build in the local daemon, and no registry configured')
  const configFile = configInRepo(repo.root, registryCache.configFile)
  if (!configFile) return none(`no earlier build in the local daemon; the config (${registryCache.configFile}) is outside the repository, so earlier commits' tags cannot be computed`)
  return registryCacheImage({ repo, config, tag, configFile, credentials: registryCache.credentials, ...registryCache.retry, depth: registryCache.depth, env: registryCache.env, verify: registryCache.verify })
}

/**
 * The legacy builder reads --cache-from from local images only: a registry cache image
 * is pulled first (BuildKit fetches only the layers it reuses, guided by the inline cache
 * metadata the scripts embed). One that cannot be pulled is a warning: built without it.
 */
async function pullForLegacyBuilder(found: CacheLookup, registryCache: BuildArgs['registryCache']): Promise<CacheLookup> {
  if (found.image?.source !== 'registry' || !registryCache) return found
  const image = found.image
  const pullStarted = performance.now()
  try {
    await step(`pull ${image.ref} (cache for the legacy builder)`, () =>
      docker.withLogin(registryCache.registry, envCredentials(registryCache.env, registryCache.registry), (opts) => docker.pull(image.ref, { ...opts, ...registryCache.retry })),
    )
    return { ...found, durationMs: found.durationMs + Math.round(since(pullStarted)) }
  } catch (error) {
    if (!(error instanceof WorkError)) throw error
    warn(`cache: ${image.ref} could not be pulled (${error.message}): building without it`)
    return { ...found, image: null, note: `${image.ref} could not be pulled: ${error.message}` }
  }
}

/** On GitHub Actions, where the build's output is folded: annotate the failing step and show its lines. */
export function surfaceBuildFailure(dockerfile: string, failure: BuildFailure): void {
  surfaceFailure(`${dockerfile} failed`, `${dockerfile} step ${failure.step ?? '?'}: ${failure.reason}`, failure.lines)
}

/**
 * A temporary build context holding exactly the inputs: regular files with the mode git
 * records (0644 or 0755, whatever the umask), symlinks as symlinks. The image can then
 * depend on nothing the tag does not cover.
 */
export async function createBuildContext(root: string, inputs: InputFile[]): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cbs-context-'))
  try {
    for (const file of inputs) {
      const to = path.join(dir, file.path)
      fs.mkdirSync(path.dirname(to), { recursive: true, mode: 0o755 })
      const from = path.join(root, file.path)
      if (file.mode === '120000') fs.symlinkSync(fs.readlinkSync(from), to)
      else {
        fs.copyFileSync(from, to)
        fs.chmodSync(to, file.mode === '100755' ? 0o755 : 0o644)
      }
    }
    return dir
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true })
    throw error
  }
}

async function sourceRevision(root: string): Promise<string> {
  const out = await git(root)`git rev-parse --verify --quiet HEAD`.nothrow()
  return out.exitCode === 0 ? out.stdout.trim() : 'none'
}
