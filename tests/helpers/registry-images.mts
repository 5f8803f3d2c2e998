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

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'

/** An OCI image manifest of one config and one layer, both blobs pushed first. */
async function ociManifest(registry: TestRegistry, repository: string, config: Buffer, layer: Buffer, layerType: string) {
  const layerDigest = await putBlob(registry, repository, layer)
  const configDigest = await putBlob(registry, repository, config)
  return {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: [{ mediaType: layerType, digest: layerDigest, size: layer.length }],
  }
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
  const mediaType = OCI_MANIFEST
  const manifest = await ociManifest(registry, repository, config, layer, 'application/vnd.oci.image.layer.v1.tar')
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

const sizeOf = async (registry: TestRegistry, repository: string, digest: string) => (await (await registry.api(`/v2/${repository}/manifests/${digest}`)).arrayBuffer()).byteLength

/** A small OCI manifest of one blob of `artifact` bytes (`mediaType` its layer's type), maybe with a `subject`; pushed under `reference`. */
async function pushArtifact(registry: TestRegistry, repository: string, reference: string | undefined, layerType: string, artifact: Buffer, subject?: string): Promise<string> {
  const manifest = {
    ...(await ociManifest(registry, repository, Buffer.from('{}'), artifact, layerType)),
    ...(subject ? { subject: { mediaType: OCI_MANIFEST, digest: subject, size: await sizeOf(registry, repository, subject) } } : {}),
  }
  return putManifest(registry, repository, reference ?? sha256(Buffer.from(JSON.stringify(manifest))), manifest, OCI_MANIFEST)
}

/**
 * A multi-platform image as BuildKit pushes one with provenance: an OCI index of two
 * platform images and, for each, an attestation manifest (platform unknown/unknown,
 * annotated `vnd.docker.reference.type: attestation-manifest`), all untagged but the index.
 */
export async function pushAttestedIndex(registry: TestRegistry, repository: string, tag: string, options: { created?: Date } = {}): Promise<{ index: string; children: string[] }> {
  const images = [await pushImage(registry, repository, [], { ...options, platform: 'amd64' }), await pushImage(registry, repository, [], { ...options, platform: 'arm64' })]
  const manifests: object[] = []
  const children: string[] = []
  for (const [i, image] of images.entries()) {
    manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: image.digest, size: await sizeOf(registry, repository, image.digest), platform: { architecture: i ? 'arm64' : 'amd64', os: 'linux' } })
    children.push(image.digest)
  }
  for (const image of images) {
    const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://slsa.dev/provenance/v0.2', subject: [{ digest: { sha256: image.digest.slice(7) } }], nonce: randomBytes(8).toString('hex') }))
    const attestation = await pushArtifact(registry, repository, undefined, 'application/vnd.in-toto+json', statement)
    manifests.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: attestation,
      size: await sizeOf(registry, repository, attestation),
      platform: { architecture: 'unknown', os: 'unknown' },
      annotations: { 'vnd.docker.reference.digest': image.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
    })
    children.push(attestation)
  }
  const mediaType = 'application/vnd.oci.image.index.v1+json'
  return { index: await putManifest(registry, repository, tag, { schemaVersion: 2, mediaType, manifests }, mediaType), children }
}

/**
 * A signature where cosign stores one: a manifest of a simple-signing payload under the
 * tag `sha256-<hex of subject>.sig` (`.att` for an attestation) in the same repository.
 */
export async function pushCosignTag(registry: TestRegistry, repository: string, subject: string, suffix: 'sig' | 'att' = 'sig'): Promise<string> {
  const payload = Buffer.from(JSON.stringify({ critical: { identity: { 'docker-reference': repository }, image: { 'docker-manifest-digest': subject }, type: 'cosign container image signature' }, optional: null }))
  const layerType = suffix === 'sig' ? 'application/vnd.dev.cosign.simplesigning.v1+json' : 'application/vnd.dsse.envelope.v1+json'
  return pushArtifact(registry, repository, `sha256-${subject.slice(7)}.${suffix}`, layerType, payload)
}

/** An OCI referrer of `subject` (an SBOM, say), pushed by digest only: found through its `subject` field. */
export async function pushReferrer(registry: TestRegistry, repository: string, subject: string): Promise<string> {
  return pushArtifact(registry, repository, undefined, 'application/spdx+json', Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', name: randomBytes(4).toString('hex') })), subject)
}
