// Digests a registry answers (a Docker-Content-Digest header, a manifest's config digest,
// an index's children) are checked where they are read: they go on into request paths,
// image references and CI files. A hostile registry (a local HTTP server speaking the
// API) answers `sha256:x/../../final/manifests/1.0.0`; nothing may follow it.
import { describe, expect, it } from 'vitest'
import { manifestDigest, publishedImage } from '../../lib/image/registry.mts'
import { readManifest } from '../../lib/image/registry-cleanup.mts'
import { startHttpServer } from '../helpers/http.mts'

const TRAVERSAL = 'sha256:x/../../final/manifests/1.0.0'
const GOOD = `sha256:${'a'.repeat(64)}`

/** A registry whose manifest for `app:1.0.0` says what `manifest` and `digestHeader` say; everything else 404. */
function hostile(manifest: Record<string, unknown>, digestHeader = GOOD) {
  return startHttpServer((req, res) => {
    if (req.url === '/v2/app/manifests/1.0.0') {
      const body = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest })
      return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': digestHeader }).end(req.method === 'HEAD' ? undefined : body)
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
  })
}

/** Requests that went anywhere but the manifest asked for. */
const strayed = (requests: Array<{ url: string }>) => requests.filter((r) => r.url !== '/v2/app/manifests/1.0.0').map((r) => r.url)

describe('digests from a registry are checked where they are read', () => {
  it('a config digest that walks out of /blobs/: refused, nothing else is asked', async () => {
    const server = await hostile({ config: { digest: TRAVERSAL } })
    await expect(publishedImage(`${server.host}/app:1.0.0`, { retries: 0 })).rejects.toThrow(
      `registry ${server.host} answered a config digest in /v2/app/manifests/1.0.0 that is not a digest: "${TRAVERSAL}"`,
    )
    expect(strayed(server.requests)).toEqual([])
  })

  it('an index child that is not a digest: refused', async () => {
    const server = await hostile({ mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ digest: GOOD }, { digest: TRAVERSAL }] })
    await expect(readManifest(`${server.host}/app:1.0.0`, { retries: 0 })).rejects.toThrow(`answered a child manifest in /v2/app/manifests/1.0.0 that is not a digest: "${TRAVERSAL}"`)
  })

  it('a Docker-Content-Digest header that is not a digest: refused (it would be pinned into CI files)', async () => {
    const server = await hostile({ config: { digest: GOOD } }, 'sha256:0 # not a digest, yet pinned into a CI file')
    await expect(manifestDigest(`${server.host}/app:1.0.0`, { retries: 0 })).rejects.toThrow(`registry ${server.host} answered a Docker-Content-Digest that is not a digest`)
  })

  it('good digests pass', async () => {
    const server = await hostile({ mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ digest: GOOD }] })
    expect(await readManifest(`${server.host}/app:1.0.0`, { retries: 0 })).toMatchObject({ digest: GOOD, children: [GOOD] })
  })
})
