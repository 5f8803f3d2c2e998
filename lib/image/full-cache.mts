// The full registry cache of a build image: every stage's layers (mode=max), exported by
// the job that pushes the build image to a tag of its own next to it (cacheRef), so a
// fresh runner reuses an expensive builder stage, which the image's inline cache (its
// last stage's layers only) cannot give it. Where the engine cannot export one (the
// classic image store with the `docker` driver, or the legacy builder), the log says which
// stages a fresh runner will rebuild, and how to get the export.
// Nothing here fails the build: an export that fails is a warning.
import { warn, step } from '../core/log.mts'
import { WorkError } from '../core/cli.mts'
import * as docker from './docker.mts'
import { earlierStages } from './dockerfile.mts'
import { checkPushAccess, envCredentials, RegistryAuthError, type Credentials } from './registry.mts'
import { cacheRef, type CacheExport } from './cache-image.mts'

export const FULL_CACHE_FIX = 'turn on the containerd image store ({"features": {"containerd-snapshotter": true}} in the daemon\'s config), or build with a buildx builder (docker buildx create --use --driver docker-container)'

export interface ExportArgs {
  /** The build's options, as the image was built (same context, Dockerfile, args, labels). */
  build: docker.BuildOptions & { builder: docker.Builder }
  /** The Dockerfile's name and text, for the stages the inline cache lacks. */
  dockerfile: string
  text: string
  ref: string
  registry: string
  credentials?: Credentials
  env: NodeJS.ProcessEnv
  retry: { retries: number; baseDelayMs: number }
}

/**
 * Export the full registry cache of the image just built, when the engine can; else say,
 * once, which stages a fresh runner rebuilds (none for a one-stage Dockerfile: nothing
 * said, undefined). A registry that refuses our push gets no export: the image's push
 * says why.
 */
export async function exportFullCache(args: ExportArgs): Promise<CacheExport | undefined> {
  const { build, ref } = args
  if (!(await docker.canExportCache(build.builder))) {
    const stages = earlierStages(args.text)
    if (!stages.length) return undefined
    const engine = build.builder.kind === 'legacy' ? 'the legacy builder' : 'the classic image store with the docker driver'
    const note = `${args.dockerfile}'s inline cache holds its last stage's layers only: a fresh runner rebuilds stage${stages.length === 1 ? '' : 's'} ${stages.join(', ')}; ${engine} cannot export a full registry cache: ${FULL_CACHE_FIX}`
    warn(`cache: ${note}`)
    return { outcome: 'unsupported', stages, note }
  }
  const to = cacheRef(ref)
  try {
    await checkPushAccess(ref, { credentials: args.credentials, ...args.retry })
  } catch (error) {
    if (error instanceof RegistryAuthError) return undefined
    throw error
  }
  try {
    await step(`export the full registry cache ${to} (every stage's layers)`, () =>
      docker.withLogin(args.registry, envCredentials(args.env), (opts) => {
        if (opts.configDir) docker.keepBuildxBuilders(opts.configDir, args.env)
        return docker.build({ ...build, quiet: true, cacheOnlyTo: to, cacheFrom: [], configDir: opts.configDir })
      }),
    )
    return { outcome: 'exported', ref: to }
  } catch (error) {
    if (!(error instanceof WorkError)) throw error
    const note = `could not export ${to} (${error.message.split('\n')[0]}): the image's inline cache still serves`
    warn(`cache: ${note}`)
    return { outcome: 'failed', ref: to, note }
  }
}
