// GitHub's Packages API for container packages, mounted on the GitHub stand-in
// (tests/helpers/github-server.mts) over a real distribution registry, as ghcr.io serves
// it: the package `owner/name` is the registry's repository `owner/name`, and every
// manifest the registry holds in it is one package version (an index's children and
// attestation manifests, signatures and referrers included), untagged unless a tag
// points at it. Read from the registry's own storage each time, so the API and the
// registry always agree.
//
//   GET    /{orgs|users}/{owner}/packages/container/{name}/versions   (paged, newest first)
//   DELETE /{orgs|users}/{owner}/packages/container/{name}/versions/{id}
//
// The bodies are GitHub's documented package version objects (typed against
// @octokit/rest); a DELETE removes the manifest from the registry (and so its tags), as
// ghcr.io does, whatever else still lists it. `limitDeletions(n)` answers GitHub's
// secondary rate limit (429 with Retry-After) once n deletions were made.
//
//   const packages = servePackages(gh, registry, { owners: { acme: 'orgs' } })
import fs from 'node:fs'
import path from 'node:path'
import type { RestEndpointMethodTypes } from '@octokit/rest'
import { HttpError, type GitHubServer, type RouteResult } from './github-server.mts'
import type { TestRegistry } from './registry.mts'

export type PackageVersionJson = RestEndpointMethodTypes['packages']['getAllPackageVersionsForPackageOwnedByOrg']['response']['data'][number]

export interface PackagesOptions {
  /** Who owns each owner's packages: an organisation (`orgs`, the default) or a user (`users`). */
  owners?: Record<string, 'orgs' | 'users'>
}

export interface PackagesStandIn {
  /** The versions of `owner/name` as the API lists them (all pages), for assertions. */
  versions(pkg: string): PackageVersionJson[]
  /** Deletions beyond `n` (counted from now) answer 429 with Retry-After; undefined lifts it. */
  limitDeletions(n: number | undefined, retryAfterSeconds?: number): void
  /** Versions deleted through the API, in order: `owner/name@digest`. */
  deleted: string[]
}

interface Version {
  id: number
  digest: string
  tags: string[]
  created: Date
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z')

export function servePackages(gh: GitHubServer, registry: TestRegistry, options: PackagesOptions = {}): PackagesStandIn {
  const ids = new Map<string, number>()
  let nextId = 45_000
  let limit: { left: number; retryAfter: number } | undefined
  const deleted: string[] = []

  /** Every manifest of the repository, from the registry's storage (revision links and tag links). */
  const read = (repository: string): Version[] | undefined => {
    const root = path.join(registry.dataDir, 'docker/registry/v2/repositories', repository, '_manifests')
    const revisions = path.join(root, 'revisions/sha256')
    if (!fs.existsSync(revisions)) return undefined
    const tags = new Map<string, string[]>()
    const tagDir = path.join(root, 'tags')
    for (const tag of fs.existsSync(tagDir) ? fs.readdirSync(tagDir) : []) {
      const link = path.join(tagDir, tag, 'current/link')
      if (!fs.existsSync(link)) continue
      const digest = fs.readFileSync(link, 'utf8').trim()
      tags.set(digest, [...(tags.get(digest) ?? []), tag].sort())
    }
    const versions: Version[] = []
    for (const hex of fs.readdirSync(revisions)) {
      const link = path.join(revisions, hex, 'link')
      if (!fs.existsSync(link)) continue // deleted: the registry removes the link
      const digest = `sha256:${hex}`
      const key = `${repository}@${digest}`
      if (!ids.has(key)) ids.set(key, nextId++)
      versions.push({ id: ids.get(key)!, digest, tags: tags.get(digest) ?? [], created: fs.statSync(link).mtime })
    }
    // GitHub lists the newest first.
    return versions.sort((a, b) => b.created.getTime() - a.created.getTime() || b.id - a.id)
  }

  const json = (owner: string, kind: 'orgs' | 'users', name: string, v: Version): PackageVersionJson => {
    const api = `${gh.apiUrl}/${kind}/${owner}/packages/container/${encodeURIComponent(name)}/versions/${v.id}`
    return {
      id: v.id,
      name: v.digest,
      url: api,
      package_html_url: `${gh.url}/${kind}/${owner}/packages/container/package/${encodeURIComponent(name)}`,
      created_at: iso(v.created),
      updated_at: iso(v.created),
      html_url: `${gh.url}/${kind}/${owner}/packages/container/${encodeURIComponent(name)}/${v.id}`,
      metadata: { package_type: 'container', container: { tags: v.tags } },
    }
  }

  gh.mount(async ({ method, pathname, query }): Promise<RouteResult | undefined> => {
    const m = /^\/(orgs|users)\/([^/]+)\/packages\/([^/]+)\/([^/]+)\/versions(?:\/(\d+))?$/.exec(pathname)
    if (!m) return undefined
    const [kind, owner, type, name] = [m[1] as 'orgs' | 'users', decodeURIComponent(m[2]), m[3], decodeURIComponent(m[4])]
    const versions = read(`${owner}/${name}`)
    // GitHub answers 404 for a package of the other kind of owner, or of another type.
    if (type !== 'container' || (options.owners?.[owner] ?? 'orgs') !== kind || !versions) throw new HttpError(404, 'Package not found.')
    if (method === 'GET' && !m[5]) {
      const state = query.get('state') ?? 'active'
      return gh.page(pathname, query, state === 'active' ? versions : [], async (v) => json(owner, kind, name, v))
    }
    if (method === 'DELETE' && m[5]) {
      const version = versions.find((v) => v.id === Number(m[5]))
      if (!version) throw new HttpError(404, 'Package version not found.')
      if (limit && limit.left <= 0) {
        return {
          status: 429,
          json: { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.', documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api' },
          headers: { 'retry-after': String(limit.retryAfter) },
        }
      }
      const res = await registry.api(`/v2/${owner}/${name}/manifests/${version.digest}`, { method: 'DELETE' })
      if (res.status !== 202) throw new Error(`the registry refused to delete ${version.digest}: HTTP ${res.status} ${await res.text()}`)
      if (limit) limit.left--
      deleted.push(`${owner}/${name}@${version.digest}`)
      return { status: 204 }
    }
    throw new HttpError(404, 'Not Found')
  })

  return {
    deleted,
    versions(pkg) {
      const [owner, ...rest] = pkg.split('/')
      const kind = options.owners?.[owner] ?? 'orgs'
      return (read(pkg) ?? []).map((v) => json(owner, kind, rest.join('/'), v))
    },
    limitDeletions(n, retryAfterSeconds = 1800) {
      limit = n === undefined ? undefined : { left: n, retryAfter: retryAfterSeconds }
    },
  }
}
