// Images pushed by hand through the registry API (no Docker Hub here, and no build
// needed to test what a registry holds): a config blob with a chosen `created` time,
// one layer of unique bytes, an OCI image manifest; and OCI image indexes listing them.
import { createHash, randomBytes } from 'node:crypto'
import type { TestRegistry } from './registry.mts'

const sha256 = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex')

async function putBlob(registry: TestRegistry, repository: string, body: Buffer): Promise<string> {
  const digest = sha256(body)
  const started = await registry.api(`/v2/${repository}/blobs/uploads/`, { method: 'POST' })
  const location = started.headers.get('location')
  if (started.status !== 202 || !location) throw new Error(`blob upload to ${repository}: HTTP ${started.status} ${await started.text()}`)
  const url = new URL(location, registry.url)
  url.searchParams.set('digest', digest)
  const res = await registry.api(url.pathname + url.search, { method: 'PUT', body: new Uint8Array(body), headers: { 'content-type': 'application/octet-stream' } })
  if (res.status !== 201) throw new Error(`blob upload to ${repository}: HTTP ${res.status} ${await res.text()}`)
  return digest
}

async function putManifest(registry: TestRegistry, repository: string, reference: string, manifest: object, mediaType: string): Promise<string> {
  const body = Buffer.from(JSON.stringify(manifest))
  const res = await registry.api(`/v2/${repository}/manifests/${reference}`, { method: 'PUT', body: new Uint8Array(body), headers: { 'content-type': mediaType } })
  if (res.status !== 201) throw new Error(`manifest PUT ${repository}:${reference}: HTTP ${res.status} ${await res.text()}`)
  return sha256(body)
}

export interface PushedImage {
  digest: string
  /** The layer's size: what garbage collection frees once nothing references it. */
  layerBytes: number
}

/**
 * Push a small image (a unique layer of `layerBytes` random bytes) under each of `tags`
 * (none: only by digest, as an index's child). `created` goes into its config.
 */
export async function pushImage(
  registry: TestRegistry,
  repository: string,
  tags: string[],
  { created = new Date('2020-01-01T00:00:00Z'), layerBytes = 64 * 1024, platform = 'amd64' } = {},
): Promise<PushedImage> {
  const layer = randomBytes(layerBytes)
  const config = Buffer.from(JSON.stringify({ architecture: platform, os: 'linux', created: created.toISOString(), rootfs: { type: 'layers', diff_ids: [sha256(layer)] }, config: {} }))
  const layerDigest = await putBlob(registry, repository, layer)
  const configDigest = await putBlob(registry, repository, config)
  const mediaType = 'application/vnd.oci.image.manifest.v1+json'
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
  }
  let digest = ''
  for (const reference of tags.length ? tags : ['_']) {
    digest = await putManifest(registry, repository, tags.length ? reference : sha256(Buffer.from(JSON.stringify(manifest))), manifest, mediaType)
  }
  return { digest, layerBytes }
}

/** Push an OCI image index listing `children` (manifest digests already pushed) under `tag`. */
export async function pushIndex(registry: TestRegistry, repository: string, tag: string, children: string[]): Promise<string> {
  const mediaType = 'application/vnd.oci.image.index.v1+json'
  const manifests = []
  for (const [i, digest] of children.entries()) {
    const res = await registry.api(`/v2/${repository}/manifests/${digest}`)
    const size = (await res.arrayBuffer()).byteLength
    manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size, platform: { architecture: i === 0 ? 'amd64' : 'arm64', os: 'linux' } })
  }
  return putManifest(registry, repository, tag, { schemaVersion: 2, mediaType, manifests }, mediaType)
}
