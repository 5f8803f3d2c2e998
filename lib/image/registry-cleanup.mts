// What prune-images reads from and deletes in a registry: a manifest with what it
// references (an index's images, a signature's subject), an image's build time from its
// config blob, and a deletion by digest. The requests, retries and errors are the
// registry API's (registry.mts).
import { WorkError } from '../core/cli.mts'
import {
  bodyOf,
  checkedDigest,
  DIGEST,
  manifestDigestOf,
  parseImageRef,
  readImageConfig,
  registryRequest,
  retried,
  TransientError,
  withManifest,
  type ManifestOptions,
} from './registry.mts'

export interface ManifestNode {
  /** The manifest's digest: what a tag points at, and what a deletion names. */
  digest: string
  mediaType: string
  /** An image manifest's config digest; undefined for an index. */
  configDigest?: string
  /** The manifests an index (multi-platform image) lists; [] for one image. */
  children: string[]
  /** The manifest this one refers to (OCI `subject`: a signature, an attestation, an SBOM). */
  subject?: string
}

/** The manifest under `ref` (`repo:tag` or `repo@digest`), with what it references; null when absent. */
export async function readManifest(ref: string, options: ManifestOptions = {}): Promise<ManifestNode | null> {
  return withManifest(ref, options, async ({ registry, pathname, request }) => {
    const res = await request('GET')
    if (res.status === 404) return null
    if (!res.ok) throw new WorkError(`GET ${registry}${pathname}: unexpected HTTP ${res.status}`)
    const body = await bodyOf(res, `GET ${registry}${pathname}`)
    let manifest: { mediaType?: string; config?: { digest?: unknown }; manifests?: Array<{ digest?: unknown }>; subject?: { digest?: unknown } }
    try {
      manifest = JSON.parse(body.toString('utf8'))
    } catch {
      // A body cut short by a reset connection: worth another attempt.
      throw new TransientError(`GET ${registry}${pathname}: the manifest is not valid JSON`)
    }
    return {
      digest: manifestDigestOf(registry, res, body),
      mediaType: manifest.mediaType ?? res.headers.get('content-type') ?? '',
      configDigest: manifest.config?.digest === undefined ? undefined : checkedDigest(registry, `a config digest in ${pathname}`, manifest.config.digest),
      children: (manifest.manifests ?? []).map((m) => checkedDigest(registry, `a child manifest in ${pathname}`, m.digest)),
      ...(typeof manifest.subject?.digest === 'string' && DIGEST.test(manifest.subject.digest) ? { subject: manifest.subject.digest } : {}),
    }
  })
}

/**
 * When the image was built: the `created` time of its config blob (`repositoryRef` is
 * `<registry>/<repository>`). Null when the blob is gone or has no readable time.
 */
export async function imageCreated(repositoryRef: string, configDigest: string, options: ManifestOptions = {}): Promise<Date | null> {
  const config = await readImageConfig(repositoryRef, configDigest, options)
  const created = typeof config?.created === 'string' ? new Date(config.created) : null
  return created && !Number.isNaN(created.getTime()) ? created : null
}

/** The registry does not allow deleting manifests (HTTP 405, or the error code UNSUPPORTED). */
export class DeletionDisabledError extends WorkError {
  readonly registry: string
  constructor(registry: string, detail: string) {
    super(`deletion is disabled on ${registry} (${detail}): enable it (distribution: storage.delete.enabled) or clean up with the registry's own tools`)
    this.registry = registry
  }
}

/**
 * Delete the manifest `digest` (and so every tag pointing at it) from `repositoryRef`.
 * `absent` when it was already gone (a re-run, or a retry whose first attempt got
 * through). 405/UNSUPPORTED throws DeletionDisabledError; 429/5xx/network are retried.
 */
export async function deleteManifest(repositoryRef: string, digest: string, options: ManifestOptions = {}): Promise<'deleted' | 'absent'> {
  const { registry, repository } = parseImageRef(repositoryRef)
  if (!DIGEST.test(digest)) throw new WorkError(`not a digest: ${JSON.stringify(digest)}`)
  const pathname = `/v2/${repository}/manifests/${digest}`
  return retried(registry, options, async () => {
    const res = await registryRequest(registry, repository, pathname, { credentials: options.credentials, method: 'DELETE', actions: 'pull,push,delete' })
    if (res.status === 202 || res.status === 200 || res.status === 204) return 'deleted'
    if (res.status === 404) {
      const body = await res.text()
      if (/UNSUPPORTED/.test(body)) throw new DeletionDisabledError(registry, 'HTTP 404 UNSUPPORTED')
      return 'absent'
    }
    const body = await res.text()
    if (res.status === 405 || /UNSUPPORTED/.test(body)) throw new DeletionDisabledError(registry, `HTTP ${res.status}${/UNSUPPORTED/.test(body) ? ' UNSUPPORTED' : ''}`)
    throw new WorkError(`DELETE ${registry}${pathname}: unexpected HTTP ${res.status}`)
  })
}
