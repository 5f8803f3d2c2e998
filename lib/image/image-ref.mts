// Image references as the registry API needs them: `ghcr.io/acme/build:tag@sha256:...`
// split into registry host, repository, tag and digest (Docker Hub's defaults applied),
// and the base URL of a registry (plain HTTP only on loopback or REGISTRY_INSECURE).
import { WorkError } from '../core/cli.mts'

export interface ImageRef {
  /** `127.0.0.1:5000`, `ghcr.io`, `docker.io` for bare names. */
  registry: string
  /** `acme/acme-build`; `library/busybox` for official Docker Hub images. */
  repository: string
  /** `latest` when the ref names none. */
  tag: string
  /** `sha256:...` when the ref is pinned with `@digest`. */
  digest?: string
}

export const DOCKER_HUB = 'docker.io'

/**
 * Split an image reference the way Docker does: the first path component is a registry
 * host when it contains `.` or `:` or is `localhost`; otherwise the image is on Docker Hub
 * (and a one-component name gets the `library/` prefix).
 */
export function parseImageRef(ref: string): ImageRef {
  let rest = ref.trim()
  if (!rest) throw new WorkError('empty image reference')
  let digest: string | undefined
  const at = rest.indexOf('@')
  // Stryker disable next-line EqualityOperator: a reference that starts with `@` has no name, and is refused either way
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
  }
  let tag = 'latest'
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
  }
  const parts = rest.split('/')
  let registry = DOCKER_HUB
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) {
    registry = parts.shift()!
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DOCKER_HUB
  let repository = parts.join('/')
  if (registry === DOCKER_HUB && parts.length === 1) repository = `library/${repository}`
  if (!repository || !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(repository)) {
    throw new WorkError(`not a valid image reference: ${JSON.stringify(ref)}`)
  }
  if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw new WorkError(`not a valid tag in image reference ${JSON.stringify(ref)}`)
  return digest ? { registry, repository, tag, digest } : { registry, repository, tag }
}

/** True for 127.0.0.0/8, localhost and ::1 (with or without a port): plain HTTP is used there. */
export function isLoopback(host: string): boolean {
  // Stryker disable next-line Regex: a port is the only `:digits` a host name can hold, and it ends the name
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '')
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)
}

/**
 * The base URL of a registry's API: `http://` for loopback hosts and hosts listed in
 * `REGISTRY_INSECURE` (comma-separated), `https://` otherwise. Docker Hub's API lives
 * on registry-1.docker.io.
 */
export function registryBaseUrl(registry: string, env: NodeJS.ProcessEnv = process.env): string {
  if (registry === DOCKER_HUB) return 'https://registry-1.docker.io'
  // Stryker disable next-line MethodExpression,StringLiteral: no registry is named '', so empty entries and the default never match
  const insecure = (env.REGISTRY_INSECURE ?? '').split(',').map((h) => h.trim()).filter(Boolean)
  return `${isLoopback(registry) || insecure.includes(registry) ? 'http' : 'https'}://${registry}`
}

