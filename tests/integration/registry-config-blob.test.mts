// An image's config blob, read from a registry (a local HTTP server speaking the API):
// push-images reads it for a published image's content and labels, prune-images for its
// build time. A body cut short by a reset connection is another attempt, as is one that
// is not JSON; a blob deleted meanwhile is no image.
import { describe, expect, it } from 'vitest'
import { imageCreated } from '../../lib/image/registry-cleanup.mts'
import { publishedImage } from '../../lib/image/registry.mts'
import { startHttpServer } from '../helpers/http.mts'

const CONFIG_DIGEST = `sha256:${'c'.repeat(64)}`
const MANIFEST_DIGEST = `sha256:${'d'.repeat(64)}`
const CONFIG = JSON.stringify({
  created: '2026-12-03T08:39:41.7523Z',
  config: { Labels: { 'org.opencontainers.image.revision': 'abc' }, Cmd: ['sh'] },
  rootfs: { type: 'layers', diff_ids: [`sha256:${'1'.repeat(64)}`] },
})

/**
 * A registry with `app:1.0.0`, whose config blob's first `badAnswers` GETs are cut short
 * (half the body, then the connection destroyed) or, with `notJson`, whole but not JSON.
 * `blob: false`: the blob is gone.
 */
function registry(badAnswers: number, options: { notJson?: boolean; blob?: boolean } = {}) {
  let blobGets = 0
  return startHttpServer((req, res) => {
    if (req.url === '/v2/app/manifests/1.0.0') {
      const body = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { digest: CONFIG_DIGEST }, layers: [] })
      return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': MANIFEST_DIGEST }).end(req.method === 'HEAD' ? undefined : body)
    }
    if (req.url === `/v2/app/blobs/${CONFIG_DIGEST}` && options.blob !== false) {
      if (++blobGets <= badAnswers) {
        if (options.notJson) return void res.writeHead(200, { 'content-type': 'application/json' }).end(CONFIG.slice(0, 40))
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(CONFIG.length) })
        res.write(CONFIG.slice(0, 40))
        return void setTimeout(() => res.socket?.destroy(), 20)
      }
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(CONFIG)
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}')
  })
}

const blobGets = (server: { requests: Array<{ url: string }> }) => server.requests.filter((r) => r.url === `/v2/app/blobs/${CONFIG_DIGEST}`).length
const FAST = { retries: 2, baseDelayMs: 1, onRetry: () => {} }

describe("an image's config blob from a registry", () => {
  for (const notJson of [false, true]) {
    const what = notJson ? 'not JSON' : 'cut short'
    it(`a blob ${what} once is read again: push-images gets the content and labels, prune-images the build time`, async () => {
      const server = await registry(1, { notJson })
      const image = await publishedImage(`${server.host}/app:1.0.0`, FAST)
      expect(image?.labels).toEqual({ 'org.opencontainers.image.revision': 'abc' })
      expect(image?.content.created).toBe('2026-12-03T08:39:41.752300000Z')
      expect(image?.content.diffIds).toEqual([`sha256:${'1'.repeat(64)}`])
      expect(blobGets(server)).toBe(2)

      const again = await registry(1, { notJson })
      expect(await imageCreated(`${again.host}/app`, CONFIG_DIGEST, FAST)).toEqual(new Date('2026-12-03T08:39:41.752Z'))
      expect(blobGets(again)).toBe(2)
    })

    it(`a blob ${what} on every attempt: the error says which blob, after the retries`, async () => {
      const server = await registry(99, { notJson })
      await expect(publishedImage(`${server.host}/app:1.0.0`, FAST)).rejects.toThrow(`GET ${server.host}/v2/app/blobs/${CONFIG_DIGEST}`)
      expect(blobGets(server)).toBe(3)
    })
  }

  it('a blob deleted meanwhile: no published image, no build time', async () => {
    const server = await registry(0, { blob: false })
    expect(await publishedImage(`${server.host}/app:1.0.0`, FAST)).toBeNull()
    expect(await imageCreated(`${server.host}/app`, CONFIG_DIGEST, FAST)).toBeNull()
  })
})
