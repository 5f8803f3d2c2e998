// Amazon ECR where it differs from other registries: a repository must exist before the
// first push (CreateRepository, when the config asks), and its tag mutability decides
// whether a tag may move (DescribeRepositories). Through the AWS SDK for JavaScript v3:
// credentials and region from the usual chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
// AWS_PROFILE, web identity, instance roles; AWS_REGION), never from argv; the region
// of an ECR host comes from its name. The endpoint is the SDK's own (AWS_ENDPOINT_URL_ECR
// or AWS_ENDPOINT_URL, or endpoint_url in the AWS config file: the tests' stand-in).
import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  RepositoryAlreadyExistsException,
  RepositoryNotFoundException,
  type Repository,
} from '@aws-sdk/client-ecr'
import { WorkError } from '../core/cli.mts'
import { defaultEcr, type Config, type EcrConfig } from '../core/config.mts'
import { info, registerSecret, success } from '../core/log.mts'

/** What an ECR host name tells: `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`, or ECR Public. */
export interface EcrHost {
  registryId?: string
  region?: string
  public: boolean
}

export function ecrHost(registry: string): EcrHost | undefined {
  const host = registry.toLowerCase()
  if (host === 'public.ecr.aws') return { public: true }
  const m = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(host)
  return m ? { registryId: m[1], region: m[2], public: false } : undefined
}

/** The ECR settings for `registry`: the config's `ecr` section, or the defaults on an ECR host; undefined elsewhere. */
export function ecrSettings(registry: string, config: Pick<Config, 'ecr'>): EcrConfig | undefined {
  if (config.ecr) return config.ecr
  return ecrHost(registry) ? defaultEcr() : undefined
}

/**
 * A repository's tag mutability as DescribeRepositories answers it; with the
 * `*_WITH_EXCLUSION` settings, `exclusions` are the WILDCARD filters of the tags that
 * behave the other way.
 */
export interface RepositoryMutability {
  mutability: string
  exclusions: string[]
}

/** `*` matches any run of characters (ECR's WILDCARD filter); the rest is literal. */
export function tagMatches(filters: string[], tag: string): boolean {
  return filters.some((f) => new RegExp(`^${f.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(tag))
}

/** Whether ECR lets `tag` move to another image in a repository of this mutability. */
export function tagMayMove(repository: RepositoryMutability, tag: string): boolean {
  switch (repository.mutability) {
    case 'IMMUTABLE':
      return false
    case 'IMMUTABLE_WITH_EXCLUSION':
      return tagMatches(repository.exclusions, tag)
    case 'MUTABLE_WITH_EXCLUSION':
      return !tagMatches(repository.exclusions, tag)
    default:
      return true
  }
}

/**
 * ECR's answer to a manifest PUT that would move a tag it holds immutable, as `docker
 * push` prints it: `tag invalid: The image tag 'latest' already exists in the 'acme'
 * repository and cannot be overwritten because the repository is immutable.` (newer
 * answers end "because the tag is immutable").
 */
export const IMMUTABLE_REFUSAL = /tag invalid|TAG_INVALID|cannot be overwritten because the (?:repository|tag) is immutable/i

export interface PrepareOptions {
  registry: string
  /** Repository names as the registry API spells them (`acme/app`), without the host. */
  repositories: string[]
  settings: EcrConfig
  /** False (a dry run): report what would be created, create nothing. */
  create: boolean
  env?: NodeJS.ProcessEnv
}

/**
 * Make sure each repository exists (created with settings.tagMutability when
 * settings.createRepositories, else a missing one is an error naming the fix) and learn
 * its mutability. Absent from the map: a repository a dry run would create.
 */
export async function prepareRepositories({ registry, repositories, settings, create, env = process.env }: PrepareOptions): Promise<Map<string, RepositoryMutability>> {
  const host = ecrHost(registry)
  const found = new Map<string, RepositoryMutability>()
  if (host?.public) {
    // ECR Public has its own API (ecr-public) and no tag immutability: repositories are
    // created beforehand (aws ecr-public create-repository), every tag may move.
    if (settings.createRepositories) info(`${registry}: ECR Public repositories are not created by these scripts (aws ecr-public create-repository); every tag there may move`)
    return found
  }
  for (const name of ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) registerSecret(env[name])
  const client = new ECRClient({ ...(host?.region ? { region: host.region } : {}) })
  const registryId = host?.registryId ? { registryId: host.registryId } : {}
  try {
    for (const repositoryName of [...new Set(repositories)]) {
      let repository = await describe(client, registryId, repositoryName)
      if (!repository) {
        if (!settings.createRepositories) {
          throw new WorkError(
            `the repository ${repositoryName} does not exist on ${registry}, and ECR refuses a push to a missing repository: ` +
              `create it (aws ecr create-repository --repository-name ${repositoryName} --image-tag-mutability ${settings.tagMutability}), ` +
              'or set "ecr": {"createRepositories": true} in build.config.json',
          )
        }
        if (!create) {
          info(`${registry}/${repositoryName}: missing; a push would create it (${settings.tagMutability})`)
          continue
        }
        repository = await createRepository(client, registryId, repositoryName, settings)
      }
      const state = { mutability: repository.imageTagMutability ?? 'MUTABLE', exclusions: (repository.imageTagMutabilityExclusionFilters ?? []).map((f) => f.filter ?? '').filter(Boolean) }
      found.set(repositoryName, state)
    }
  } finally {
    client.destroy()
  }
  return found
}

async function describe(client: ECRClient, registryId: { registryId?: string }, repositoryName: string): Promise<Repository | undefined> {
  try {
    const out = await client.send(new DescribeRepositoriesCommand({ ...registryId, repositoryNames: [repositoryName] }))
    return out.repositories?.[0]
  } catch (error) {
    if (error instanceof RepositoryNotFoundException) return undefined
    throw apiError('DescribeRepositories', repositoryName, error, 'ecr:DescribeRepositories')
  }
}

async function createRepository(client: ECRClient, registryId: { registryId?: string }, repositoryName: string, settings: EcrConfig): Promise<Repository> {
  try {
    const out = await client.send(new CreateRepositoryCommand({ ...registryId, repositoryName, imageTagMutability: settings.tagMutability }))
    success(`created the ECR repository ${repositoryName} (${settings.tagMutability})`)
    return out.repository ?? { repositoryName, imageTagMutability: settings.tagMutability }
  } catch (error) {
    // A concurrent run created it first: theirs is the one to use, with its mutability.
    if (error instanceof RepositoryAlreadyExistsException) {
      const repository = await describe(client, registryId, repositoryName)
      if (repository) return repository
    }
    throw apiError('CreateRepository', repositoryName, error, 'ecr:CreateRepository')
  }
}

/** The ECR API refused us, or we had no credentials or region to ask it: like a registry's 401, a pull-or-build --push only warns. */
export class EcrAccessError extends WorkError {}

/** An SDK failure as one line that says what the job needs (the SDK's messages never hold the secret key). */
function apiError(operation: string, repositoryName: string, error: unknown, permission: string): WorkError {
  const e = error as Error & { $metadata?: { httpStatusCode?: number } }
  const status = e.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : ''
  const message = `ECR ${operation} for ${repositoryName} failed${status}: ${e.name}: ${e.message}`
  if (/credential|region|AccessDenied|not authorized|security token|signature/i.test(`${e.name} ${e.message}`)) {
    return new EcrAccessError(`${message}: the job needs AWS credentials and a region (AWS_REGION, or the registry's host name) allowing ${permission}`)
  }
  return new WorkError(message)
}

/**
 * A failed push explained, when it is an immutable tag's refusal that the Docker daemon
 * reported only as `unexpected status from PUT request to .../v2/<name>/manifests/<tag>:
 * 400 Bad Request`: the containerd image store pushes an image index by writing each of
 * its manifests (platform images, attestations) to the tag in turn, so ECR takes the
 * first and refuses the rest, even for a new tag. Any other error is returned as it is.
 */
export function explainImmutablePush(error: unknown, repositories: Map<string, RepositoryMutability>): unknown {
  const m = error instanceof Error ? TAG_PUT_400.exec(error.message) : null
  const state = m ? repositories.get(m[1]) : undefined
  if (!m || !state || tagMayMove(state, m[2])) return error
  return new WorkError(
    `ECR refused to write the tag ${m[2]} of ${m[1]} (HTTP 400 to the manifest PUT): the repository holds it immutable (${state.mutability}), and this Docker daemon pushes an image index ` +
      'by writing each of its manifests to the tag in turn (the containerd image store does), which ECR refuses after the first, even for a new tag. ' +
      'Push from the classic image store, or make the repository MUTABLE (or allow the tag with an exclusion filter)',
  )
}

/** A manifest PUT to a tag answered 400: how the containerd image store reports any refusal, ECR's included. */
const TAG_PUT_400 = /PUT request to \S*?\/v2\/(\S+)\/manifests\/([^\s:@/]+): 400 Bad Request/

/**
 * A push of a tag the repository holds immutable, refused: ECR's text, or (the containerd
 * image store prints no more) a 400 to the tag's manifest PUT.
 */
export const isImmutableRefusal = (error: unknown) => error instanceof Error && (IMMUTABLE_REFUSAL.test(error.message) || TAG_PUT_400.test(error.message))

/** The warning for a moving tag left where it is because the repository holds it immutable. */
export function skippedMoveWarning(ref: string, repository: RepositoryMutability): string {
  return `${ref}: not moved: the ECR repository is ${repository.mutability}, so this tag keeps its earlier image (content tags and releases never move; to move this one, name it in ecr.moveTags and allow it with an exclusion filter, or make the repository MUTABLE)`
}

/** Why a configured move was refused, and what to do. */
export function refusedMoveMessage(refs: string[]): string {
  return `ECR refused to move ${refs.join(', ')}: the repository holds ${refs.length > 1 ? 'these tags' : 'this tag'} immutable (ecr.moveTags asked to move ${refs.length > 1 ? 'them' : 'it'}). Allow it with an exclusion filter (IMMUTABLE_WITH_EXCLUSION), make the repository MUTABLE, or remove ${refs.length > 1 ? 'them' : 'it'} from ecr.moveTags`
}
