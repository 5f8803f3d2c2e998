// GitHub's Packages API for container images (ghcr.io), where prune-images deletes:
// ghcr.io refuses the registry API's DELETE, and removes an image only as a "package
// version" (GET/DELETE /{orgs|users}/{owner}/packages/container/{name}/versions, by id).
// Every manifest is one version, its `name` the manifest digest: an index's per-platform
// children and attestation manifests are versions of their own, without tags.
//
// Through Octokit at GITHUB_API_URL (api.github.com, a GitHub Enterprise
// `https://host/api/v3`, or the tests' stand-in). 5xx and network errors are retried;
// GitHub's rate limits (about 1,000 deletions per 30 minutes, besides the hourly request
// budget) are waited out when the wait is short, else they stop the run with
// PackagesRateLimitError, which says when to carry on.
import { Octokit } from '@octokit/rest'
import { WorkError } from '../core/cli.mts'
import { registerSecret, warn } from '../core/log.mts'
import { parseRetryAfter, sleep, withRetries, type RetryOptions } from '../core/retries.mts'
import { parseImageRef } from '../image/registry.mts'
import type { DeleteManifest } from './prune.mts'

/** The longest rate-limit wait sat out before the run stops instead (default; PRUNE_RATE_LIMIT_WAIT_SECONDS). */
export const RATE_LIMIT_WAIT_MS = 60_000

export type PruneBackend = 'registry' | 'github-packages'

/**
 * How prune-images deletes on `registry`: the Packages API for ghcr.io (whose registry
 * API refuses DELETE), the registry API elsewhere; `setting` (prune.backend) overrides.
 */
export function pruneBackend(registry: string, setting: 'auto' | PruneBackend = 'auto'): PruneBackend {
  if (setting !== 'auto') return setting
  return registry.toLowerCase() === 'ghcr.io' ? 'github-packages' : 'registry'
}

/** A container package: `ghcr.io/acme/app/build` is owner `acme`, package `app/build`. */
export interface PackageRef {
  owner: string
  name: string
}

export function packageOf(repositoryRef: string): PackageRef {
  const { repository } = parseImageRef(repositoryRef)
  const slash = repository.indexOf('/')
  if (slash < 0) throw new WorkError(`${repositoryRef}: a GitHub package needs an owner (ghcr.io/<owner>/<name>)`)
  return { owner: repository.slice(0, slash), name: repository.slice(slash + 1) }
}

/** One package version: one manifest. */
export interface PackageVersion {
  id: number
  /** The manifest digest (the version's `name`). */
  digest: string
  tags: string[]
  created: Date | null
}

/** GitHub's rate limit stopped the run; nothing after `resetAt` is lost (a re-run carries on). */
export class PackagesRateLimitError extends WorkError {
  readonly resetAt: Date
  constructor(what: string, resetAt: Date) {
    const minutes = Math.max(1, Math.ceil((resetAt.getTime() - Date.now()) / 60_000))
    super(`GitHub's rate limit stopped ${what} until ${resetAt.toISOString().slice(11, 16)} UTC (in about ${minutes} min): run prune-images again after that to carry on`)
    this.resetAt = resetAt
  }
}

type RequestFailure = Error & { status?: number; response?: { headers?: Record<string, string | undefined> }; retryAfterMs?: number }

/**
 * When a failed request was GitHub's rate limit, how long until it lifts (ms); undefined
 * for any other failure. Primary limit: 403/429 with `x-ratelimit-remaining: 0` and
 * `x-ratelimit-reset` (epoch seconds); secondary: 403/429 with `retry-after`, or without
 * it "wait at least one minute" (GitHub's docs).
 */
export function rateLimitWait(status: number | undefined, headers: Record<string, string | undefined> = {}, message = '', now = Date.now()): number | undefined {
  if (status !== 403 && status !== 429) return undefined
  const retryAfter = parseRetryAfter(headers['retry-after'] ?? null, now)
  if (retryAfter !== undefined) return retryAfter
  if (headers['x-ratelimit-remaining'] === '0' && headers['x-ratelimit-reset']) return Math.max(0, Number(headers['x-ratelimit-reset']) * 1000 - now)
  if (status === 429 || /rate limit/i.test(message)) return 60_000
  return undefined
}

export interface PackagesClientOptions extends RetryOptions {
  /** GITHUB_API_URL; default https://api.github.com. */
  apiUrl?: string
  /** Rate-limit waits longer than this stop the run (PackagesRateLimitError). */
  maxRateLimitWaitMs?: number
}

/** An Octokit client for the Packages API: retries 5xx/network, sits out short rate limits, stops on long ones. */
export function packagesClient(token: string, options: PackagesClientOptions = {}): Octokit {
  registerSecret(token)
  const maxWait = options.maxRateLimitWaitMs ?? RATE_LIMIT_WAIT_MS
  const octokit = new Octokit({
    auth: token,
    baseUrl: (options.apiUrl || 'https://api.github.com').replace(/\/+$/, ''),
    userAgent: 'ci-build-scripts',
    log: { debug: () => {}, info: () => {}, warn: (message: string) => warn(message), error: () => {} },
  })
  octokit.hook.wrap('request', async (request, endpoint) => {
    const what = `GitHub API ${endpoint.method} ${String(endpoint.url).replace(/\{[^}]*\}/g, (m) => String(endpoint[m.slice(1, -1)] ?? m))}`
    let waited = false
    for (;;) {
      try {
        return await withRetries(async () => request(endpoint), {
          ...options,
          what,
          // Octokit reports a network error as status 500 (or none).
          isRetryable: (error) => {
            const status = (error as RequestFailure).status
            return typeof status !== 'number' || status >= 500
          },
        })
      } catch (error) {
        const { status, response, message } = error as RequestFailure
        const wait = rateLimitWait(status, response?.headers, message)
        if (wait === undefined) throw error
        if (waited || wait > maxWait) throw new PackagesRateLimitError(what, new Date(Date.now() + wait))
        warn(`${what}: GitHub's rate limit; waiting ${Math.ceil(wait / 1000)} s`)
        waited = true
        await sleep(wait)
      }
    }
  })
  return octokit
}

type Owner = 'orgs' | 'users'

/**
 * The Packages API for one container package, whether an organisation or a user owns it
 * (the first request tries the organisation's endpoint, then the user's).
 */
export class ContainerPackage {
  readonly ref: PackageRef
  private readonly client: Octokit
  private owner?: Owner

  constructor(client: Octokit, ref: PackageRef) {
    this.client = client
    this.ref = ref
  }

  /** Every version (every manifest) of the package, all pages. */
  async versions(): Promise<PackageVersion[]> {
    const list = async (owner: Owner) => {
      const common = { package_type: 'container' as const, package_name: this.ref.name, per_page: 100, state: 'active' as const }
      return owner === 'orgs'
        ? this.client.paginate(this.client.rest.packages.getAllPackageVersionsForPackageOwnedByOrg, { ...common, org: this.ref.owner })
        : this.client.paginate(this.client.rest.packages.getAllPackageVersionsForPackageOwnedByUser, { ...common, username: this.ref.owner })
    }
    const data = await this.eitherOwner(list, 'list the versions of')
    return data.map((v) => ({
      id: v.id,
      digest: v.name,
      tags: v.metadata?.container?.tags ?? [],
      created: v.created_at ? new Date(v.created_at) : null,
    }))
  }

  /** Delete one version: `absent` when it was already gone. */
  async delete(id: number): Promise<'deleted' | 'absent'> {
    const remove = async (owner: Owner) => {
      const common = { package_type: 'container' as const, package_name: this.ref.name, package_version_id: id }
      return owner === 'orgs'
        ? this.client.rest.packages.deletePackageVersionForOrg({ ...common, org: this.ref.owner })
        : this.client.rest.packages.deletePackageVersionForUser({ ...common, username: this.ref.owner })
    }
    try {
      await this.eitherOwner(remove, 'delete a version of')
      return 'deleted'
    } catch (error) {
      if (error instanceof NotFound) return 'absent'
      throw error
    }
  }

  private async eitherOwner<T>(call: (owner: Owner) => Promise<T>, what: string): Promise<T> {
    const owners: Owner[] = this.owner ? [this.owner] : ['orgs', 'users']
    for (const owner of owners) {
      try {
        const result = await call(owner)
        this.owner = owner
        return result
      } catch (error) {
        if (error instanceof PackagesRateLimitError) throw error
        const status = (error as RequestFailure).status
        if (status === 404) continue
        if (status === 401 || status === 403) {
          throw new WorkError(
            `GitHub refused to ${what} the package ${this.ref.owner}/${this.ref.name} (HTTP ${status}): ` +
              'set GITHUB_TOKEN to a token with read:packages and delete:packages that is an admin of the package (a workflow\'s own token cannot delete)',
          )
        }
        throw new WorkError(`GitHub API: could not ${what} the package ${this.ref.owner}/${this.ref.name}: ${(error as Error).message}`)
      }
    }
    throw new NotFound(`no container package ${this.ref.name} of ${this.ref.owner} on GitHub (or the token cannot see it: it needs read:packages)`)
  }
}

class NotFound extends WorkError {}

/**
 * prune-images' way to GHCR: the versions of each repository's package (listed once, so
 * the plan also sees the untagged manifests), and a DeleteManifest that deletes a digest
 * as the version whose name it is (`absent` when no version has it any more).
 */
export function packagesBackend(client: Octokit): { versionsOf(repositoryRef: string): Promise<PackageVersion[]>; deleteManifest: DeleteManifest } {
  const packages = new Map<string, { pkg: ContainerPackage; ids?: Map<string, number> }>()
  const entry = (repositoryRef: string) => {
    let found = packages.get(repositoryRef)
    if (!found) packages.set(repositoryRef, (found = { pkg: new ContainerPackage(client, packageOf(repositoryRef)) }))
    return found
  }
  const versionsOf = async (repositoryRef: string) => {
    const e = entry(repositoryRef)
    const versions = await e.pkg.versions()
    e.ids = new Map(versions.map((v) => [v.digest, v.id]))
    return versions
  }
  return {
    versionsOf,
    async deleteManifest(repositoryRef, digest) {
      const e = entry(repositoryRef)
      if (!e.ids) await versionsOf(repositoryRef)
      const id = e.ids!.get(digest)
      if (id === undefined) return 'absent'
      const outcome = await e.pkg.delete(id)
      e.ids!.delete(digest)
      return outcome
    },
  }
}
