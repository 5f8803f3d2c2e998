// Step 5 of ensureBuildImage (lib/image/build-image.mts), `--push`: push the build image
// this run built (or a local one the registry lacks) unless the registry got it
// meanwhile, and, with `signing` configured, sign what was pushed by digest.
import { WorkError } from '../core/cli.mts'
import type { Config } from '../core/config.mts'
import { info, step, success, warn } from '../core/log.mts'
import type { Durations } from './build-image.mts'
import * as docker from './docker.mts'
import { EcrAccessError, ecrSettings, explainImmutablePush, prepareRepositories } from './ecr.mts'
import { parseImageRef } from './image-ref.mts'
import { checkPushAccess, envCredentials, manifestDigest, RegistryAuthError, type Credentials, type RegistryUnavailableError } from './registry.mts'
import { signImage, type Verifier } from './signature.mts'

export interface PushArgs {
  ref: string
  registry: string
  credentials?: Credentials
  env: NodeJS.ProcessEnv
  retry: { retries: number; baseDelayMs: number }
  durations: Durations
  requirePush?: boolean
  registryDown?: RegistryUnavailableError
  /** The registry refused us an anonymous read: asking whether it has the image would be refused again. */
  unreadable?: RegistryAuthError
  /** With `signing` configured: an image the registry has under the tag counts only when its signature verifies. */
  verify?: Verifier
  signing?: Config['signing']
  /** The config's `ecr` section: on ECR, a missing repository is created first (when it says so). */
  ecr?: Config['ecr']
  root: string
}

/**
 * Push the image unless the registry got it meanwhile (a concurrent run). A refusal for
 * credentials (a pull request from a fork has none) and a registry that is down only
 * warn, unless `requirePush`.
 */
export async function pushBuildImage(args: PushArgs): Promise<{ digest?: string; pushSkipped?: string }> {
  const { ref, registry, credentials, env, retry, durations, requirePush, registryDown, unreadable, verify, signing, ecr, root } = args
  const repositoryRef = ref.slice(0, ref.lastIndexOf(':'))
  const started = performance.now()
  try {
    if (registryDown && !requirePush) {
      warn(`not pushing ${ref}: ${registryDown.message}`)
      return { pushSkipped: registryDown.message }
    }
    if (!registryDown && !unreadable) {
      const existing = await manifestDigest(ref, { credentials, ...retry })
      if (existing && (!verify || (await verify(repositoryRef, existing)))) {
        success(`not pushing ${ref}: the registry already has it (${existing}), pushed by a concurrent run`)
        return { pushSkipped: 'already in the registry' }
      }
      if (existing) info(`pushing ${ref} over ${existing}, which has no valid signature`)
    }
    // On ECR a push to a missing repository fails: create it first, when configured to.
    const ecrRepository = ecrSettings(parseImageRef(ref).registry, { ecr })
    const repositories = ecrRepository
      ? await prepareRepositories({ registry: parseImageRef(ref).registry, repositories: [parseImageRef(ref).repository], settings: ecrRepository, create: true, env })
      : new Map()
    await checkPushAccess(ref, { credentials, ...retry })
    return await docker.withLogin(registry, envCredentials(env, registry), async (opts) => {
      const digest = await step(`push ${ref}`, () =>
        docker.push(ref, { ...opts, ...retry }).catch((error: unknown) => {
          throw explainImmutablePush(error, repositories)
        }),
      )
      if (signing) await signPushed(signing, repositoryRef, digest, { root, env, configDir: opts.configDir }, requirePush)
      return { digest }
    })
  } catch (error) {
    if ((error instanceof docker.DockerAuthError || error instanceof RegistryAuthError || error instanceof EcrAccessError) && !requirePush) {
      warn(`not pushing ${ref}: ${error.message}`)
      warn(`not pushed: without push credentials (a pull request from a fork, say) the job stays green; pass --require-push to make this fail`)
      return { pushSkipped: 'refused for credentials' }
    }
    throw error
  } finally {
    durations.push = performance.now() - started
  }
}

/**
 * Sign what `--push` pushed (signing configured). Without the signer's material (no
 * COSIGN_PRIVATE_KEY, no OIDC token) it is a warning: readers treat the image as absent
 * until the publishing job (push-images) signs it. With --require-push, an error.
 */
async function signPushed(signing: NonNullable<Config['signing']>, repositoryRef: string, digest: string, options: Parameters<typeof signImage>[3], requirePush?: boolean): Promise<void> {
  try {
    await step(`sign ${repositoryRef}@${digest}`, () => signImage(signing, repositoryRef, digest, options))
  } catch (error) {
    if (requirePush || !(error instanceof WorkError)) throw error
    warn(`${error.message}: pushed unsigned, so readers that verify signatures treat it as absent until push-images signs it`)
  }
}
