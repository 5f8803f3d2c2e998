// The full registry cache of a build image: every stage's layers (mode=max), exported by
// the job that pushes the build image to a tag of its own next to it (cacheRef), so a
// fresh runner reuses an expensive builder stage, which the image's inline cache (its
// last stage's layers only) cannot give it. Where the engine cannot export one (the
// classic image store with the `docker` driver, or the legacy builder), the log says which
// stages a fresh runner will rebuild, and how to get the export.
// Nothing here fails the build: an export that fails is a warning.
import { warn } from '../core/log.mts'
import { WorkError } from '../core/cli.mts'
import * as docker from './docker.mts'
import { earlierStages } from './dockerfile.mts'
import { checkPushAccess, RegistryAuthError, type Credentials } from './registry.mts'
import { cacheRef, type CacheExport } from './cache-image.mts'

export const FULL_CACHE_FIX = 'turn on the containerd image store ({"features": {"containerd-snapshotter": true}} in the daemon\'s config), or build with a buildx builder (docker buildx create --use --driver docker-container)'

export interface ExportArgs {
  builder: docker.Builder
  /** The Dockerfile's name and text, for the stages the inline cache lacks. */
  dockerfile: string
  text: string
  ref: string
  credentials?: Credentials
  retry: { retries: number; baseDelayMs: number }
}

/**
 * Where the build that is about to run exports its full registry cache (`to`), when the
 * engine can and the registry lets us push; else undefined, with (for a multi-stage
 * Dockerfile on an engine that cannot) the report saying which stages a fresh runner
 * rebuilds, warned once here.
 */
export async function planFullCache(args: ExportArgs): Promise<{ to?: string; report?: CacheExport }> {
  if (!(await docker.canExportCache(args.builder))) {
    const stages = earlierStages(args.text)
    if (!stages.length) return {}
    const engine = args.builder.kind === 'legacy' ? 'the legacy builder' : 'the classic image store with the docker driver'
    const note = `${args.dockerfile}'s inline cache holds its last stage's layers only: a fresh runner rebuilds stage${stages.length === 1 ? '' : 's'} ${stages.join(', ')}; ${engine} cannot export a full registry cache: ${FULL_CACHE_FIX}`
    warn(`cache: ${note}`)
    return { report: { outcome: 'unsupported', stages, note } }
  }
  try {
    await checkPushAccess(args.ref, { credentials: args.credentials, ...args.retry })
  } catch (error) {
    // Refused: the image's push says why. Unreachable: the push will say so too.
    if (error instanceof RegistryAuthError || error instanceof WorkError) return {}
    throw error
  }
  return { to: cacheRef(args.ref) }
}

/**
 * Build with the full cache export, and when only the export fails (` > exporting cache
 * to registry:`), warn and build again without it: the image is what the job needs.
 */
export async function buildWithFullCache<T extends { output: string }>(to: string | undefined, build: (cacheTo?: string) => Promise<T>): Promise<{ built: T; report?: CacheExport }> {
  if (!to) return { built: await build() }
  try {
    const built = await build(to)
    return { built, report: { outcome: 'exported', ref: to } }
  } catch (error) {
    if (!(error instanceof docker.DockerBuildError) || !/^ > exporting cache to registry:$/m.test(error.output)) throw error
    const why = /^ERROR: failed to solve: (.*)$/m.exec(error.output)?.[1] ?? error.message.split('\n')[0]
    const note = `could not export ${to} (${why}): built without it; the image's inline cache still serves`
    warn(`cache: ${note}`)
    return { built: await build(), report: { outcome: 'failed', ref: to, note } }
  }
}
